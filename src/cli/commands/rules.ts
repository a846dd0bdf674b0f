import { SEVERITIES } from '../../core/severity.js';
import { allRules } from '../../scanners/index.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';

export const rulesCommand: Command = {
  name: 'rules',
  summary: 'List every rule with its id, severity and title',
  usage: `Usage: custody rules [--format text|json]

Lists every rule Custody can report, with its default severity. Use the ids in .custody.yml
(rules: {<id>: off | <severity>}) and in inline suppressions (custody-ignore <id> -- <reason>).
`,
  run(args: string[], io: CliIo): Promise<number> {
    const { values } = parseCommandArgs('rules', args, { format: { type: 'string', default: 'text' } });
    const rules = allRules();
    if (values.format === 'json') {
      io.stdout.write(`${JSON.stringify(rules.map(({ id, title, severity, confidence, tags, docs }) => ({ id, title, severity, confidence, tags, docs })), null, 2)}\n`);
    } else {
      const width = Math.max(...rules.map((r) => r.id.length));
      for (const r of rules) io.stdout.write(`${r.id.padEnd(width)}  ${r.severity.padEnd(Math.max(...SEVERITIES.map((s) => s.length)))}  ${r.title}\n`);
    }
    return Promise.resolve(EXIT.ok);
  },
};
