import { resolve } from 'node:path';
import { describeVerification, verifyAuditExport } from '../../audit/index.js';
import { CustodyError } from '../../core/errors.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';

/** One `custody audit <name>` subcommand. Add a new one to SUBCOMMANDS (kept sorted by name). */
interface Subcommand {
  readonly name: string;
  readonly summary: string;
  /** Help text of this subcommand, shown under `custody audit --help`. */
  readonly usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}

const verifySubcommand: Subcommand = {
  name: 'verify',
  summary: 'Verify an exported audit log offline; name the first entry that is not the log’s',
  usage: `custody audit verify FILE [--key VERIFIER_KEY] [--format text|json]

  Reads an export written by \`custody audit export\` (JSON Lines: a header, one line per entry in log
  order, signed checkpoints every interval, and the final signed checkpoint as the last line) and checks
  that the entries reproduce the signed checkpoints and that every entry sits where it belongs.
  Exits 0 when it verifies, 1 naming the first line that does not (an edited, deleted, inserted or
  reordered entry, a foreign or altered checkpoint, a truncated file), 2 when it cannot run.

  --key VERIFIER_KEY   The log's checkpoint key, name+hex+base64 (as the registry prints it). Without
                       it the key named in the export's header is used, which proves integrity but
                       not who signed: pin the key for an audit.
  --format FORMAT      text (default) or json
`,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('audit verify', args, {
      key: { type: 'string' },
      format: { type: 'string', default: 'text' },
    });
    if (positionals.length !== 1) throw new CustodyError('USAGE', 'audit verify: give exactly one export FILE (see `custody audit --help`)');
    if (values.format !== 'text' && values.format !== 'json') throw new CustodyError('USAGE', `audit verify: --format must be text or json, found "${values.format}"`);
    const path = resolve(io.cwd, positionals[0] as string);
    const result = await verifyAuditExport(path, values.key === undefined ? {} : { verifierKey: values.key });
    io.stdout.write(values.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : `${describeVerification(result)}\n`);
    if (result.verified && !result.keyPinned) io.stderr.write('custody audit verify: warning: no --key given; the export was checked against the key it names itself\n');
    return result.verified ? EXIT.ok : EXIT.findings;
  },
};

const SUBCOMMANDS: readonly Subcommand[] = [verifySubcommand];

const USAGE = `Usage: custody audit <subcommand> [options]

The registry's tamper-evident audit log (docs/audit.md).

Subcommands:
${SUBCOMMANDS.map((s) => `  ${s.name.padEnd(8)}  ${s.summary}`).join('\n')}

${SUBCOMMANDS.map((s) => s.usage).join('\n')}`;

export const auditCommand: Command = {
  name: 'audit',
  summary: 'Work with the registry audit log (verify an export offline)',
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [name, ...rest] = args;
    const subcommand = SUBCOMMANDS.find((s) => s.name === name);
    if (!subcommand) throw new CustodyError('USAGE', `audit: ${name === undefined ? 'missing subcommand' : `unknown subcommand "${name}"`}; one of ${SUBCOMMANDS.map((s) => s.name).join(', ')} (see \`custody audit --help\`)`);
    return subcommand.run(rest, io);
  },
};
