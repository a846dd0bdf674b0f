import { resolve } from 'node:path';
import { describeVerification, verifyAuditExport, writeAuditExport } from '../../audit/index.js';
import { CustodyError } from '../../core/errors.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';
import { CLIENT_OPTIONS, openSession, printJson, runClientCommand } from './registry-client.js';

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

const exportSubcommand: Subcommand = {
  name: 'export',
  summary: "Write the registry's whole audit log to a file, for `custody audit verify` (server admins)",
  usage: `custody audit export --output FILE [--force] [registry options]

  Downloads the log as JSON Lines — a header, one line per entry in log order, a signed checkpoint
  every interval, and the final signed checkpoint the entries must reproduce as the LAST line (one
  file is the whole evidence; see docs/audit.md). The file is written whole or not at all (0600).
  The server's checkpoint is first checked against the one this client saw before.

  --output FILE        Where to write the export
  --force              Replace FILE if it exists
  Registry options (export, query): --url, --token, --token-file, --log-key, --format, as for \`custody push\`.
`,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('audit export', args, { ...CLIENT_OPTIONS, output: { type: 'string' }, force: { type: 'boolean', default: false } });
    if (positionals.length > 0) throw new CustodyError('USAGE', `audit export: unexpected argument ${positionals[0] ?? ''}`);
    if (values.output === undefined) throw new CustodyError('USAGE', 'audit export: --output FILE is required');
    const output = resolve(io.cwd, values.output);
    return runClientCommand('audit export', io, values.format, async () => {
      const { client, json } = await openSession('audit export', io, values);
      let lines = 0;
      let bytes = 0;
      const body = await client.stream('/v1/audit/export');
      async function* counted(): AsyncGenerator<Buffer> {
        for await (const chunk of body) {
          bytes += chunk.length;
          for (const byte of chunk) if (byte === 0x0a) lines += 1;
          yield chunk;
        }
      }
      await writeAuditExport(output, counted(), { overwrite: values.force });
      const entries = Math.max(0, lines - 2);
      if (json) printJson(io, { output, lines, bytes });
      else io.stderr.write(`wrote ${output}: ${lines} lines (${entries} entries and checkpoints), ${bytes} bytes; check it with \`custody audit verify ${values.output}\`\n`);
      return EXIT.ok;
    });
  },
};

const querySubcommand: Subcommand = {
  name: 'query',
  summary: 'Search the audit log: who accessed a version, what an account did, everything since a time',
  usage: `custody audit query [--version ID] [--account NAME] [--project P] [--action A] [--decision allow|deny] [--since TIME] [--limit N]

  Prints matching entries in log order (server admins). Filters combine: --version lists every
  request about that version (downloads of its files included), --account what one identity did,
  --since everything from a time (ISO 8601, e.g. 2026-01-31T00:00:00Z), --decision deny the refusals.

  --limit N            Stop after N entries (default 1000)
`,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('audit query', args, {
      ...CLIENT_OPTIONS,
      version: { type: 'string' },
      account: { type: 'string' },
      project: { type: 'string' },
      action: { type: 'string' },
      decision: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string', default: '1000' },
    });
    if (positionals.length > 0) throw new CustodyError('USAGE', `audit query: unexpected argument ${positionals[0] ?? ''}`);
    const limit = Number(values.limit);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new CustodyError('USAGE', 'audit query: --limit must be a positive integer');
    if (values.since !== undefined && Number.isNaN(Date.parse(values.since))) throw new CustodyError('USAGE', `audit query: --since must be an ISO 8601 time, found "${values.since}"`);
    if (values.decision !== undefined && values.decision !== 'allow' && values.decision !== 'deny') throw new CustodyError('USAGE', 'audit query: --decision must be allow or deny');
    const since = values.since === undefined ? undefined : new Date(values.since).toISOString();
    return runClientCommand('audit query', io, values.format, async () => {
      const { client, json } = await openSession('audit query', io, values);
      const found: { index: number; entry: Record<string, unknown> }[] = [];
      let cursor: number | undefined;
      do {
        const page = await client.json<{ entries: { index: number; entry: Record<string, unknown> }[]; next: number | null }>('GET', '/v1/audit/query', {
          query: { version: values.version, account: values.account, project: values.project, action: values.action, decision: values.decision, since, cursor, limit: Math.min(1000, limit - found.length) },
        });
        found.push(...page.entries);
        cursor = page.next ?? undefined;
      } while (cursor !== undefined && found.length < limit);
      if (json) printJson(io, { entries: found });
      else io.stdout.write(found.map(({ index, entry }) => `${describeEntry(index, entry)}\n`).join('') || 'no matching entries\n');
      return EXIT.ok;
    });
  },
};

/** One line per entry: index, time, who, action, decision, status and what it was about. */
function describeEntry(index: number, entry: Record<string, unknown>): string {
  const actor = entry['actor'] as { account?: string; token?: string; anonymous?: string } | undefined;
  const who = actor?.account !== undefined ? `${actor.account} (${actor.token ?? '?'})` : `anonymous (${actor?.anonymous ?? '?'})`;
  const target = (entry['target'] ?? {}) as Record<string, string>;
  const what = Object.entries(target).map(([k, v]) => `${k}=${v}`).join(' ');
  const reason = typeof entry['reason'] === 'string' ? ` — ${entry['reason']}` : '';
  return `#${index}  ${String(entry['time'])}  ${who}  ${String(entry['action'])}  ${String(entry['decision'])}  ${String(entry['status'])}  ${what}${reason}`;
}

const SUBCOMMANDS: readonly Subcommand[] = [exportSubcommand, querySubcommand, verifySubcommand];

const USAGE = `Usage: custody audit <subcommand> [options]

The registry's tamper-evident audit log (docs/audit.md).

Subcommands:
${SUBCOMMANDS.map((s) => `  ${s.name.padEnd(8)}  ${s.summary}`).join('\n')}

${SUBCOMMANDS.map((s) => s.usage).join('\n')}`;

export const auditCommand: Command = {
  name: 'audit',
  summary: 'Work with the registry audit log: export it, query it, verify an export offline',
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [name, ...rest] = args;
    const subcommand = SUBCOMMANDS.find((s) => s.name === name);
    if (!subcommand) throw new CustodyError('USAGE', `audit: ${name === undefined ? 'missing subcommand' : `unknown subcommand "${name}"`}; one of ${SUBCOMMANDS.map((s) => s.name).join(', ')} (see \`custody audit --help\`)`);
    return subcommand.run(rest, io);
  },
};
