import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RegistryClient } from '../../client/http.js';
import { checkLog } from '../../client/log-check.js';
import { configDir, StateFile } from '../../client/state.js';
import { CustodyError, isCustodyError, type ErrorCode } from '../../core/errors.js';
import { parseDuration } from '../../registry/tokens.js';
import { EXIT, type CliIo } from '../command.js';
import { VERIFICATION_FAILURES } from './hash.js';

/** Flags every registry client command takes. */
export const CLIENT_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'log-key': { type: 'string' },
  format: { type: 'string', default: 'text' },
} as const;

export const CLIENT_OPTIONS_HELP = `Registry options:
  --url URL             The registry (default: $CUSTODY_URL, else the last \`custody login\`)
  --token TOKEN         API token (default: $CUSTODY_TOKEN, else the token saved by \`custody login\`);
                        prefer the environment or --token-file: arguments show in process lists
  --token-file FILE     Read the token from FILE
  --log-key KEY         Pin this audit-log verifier key (default: pinned on first contact)
  --format FORMAT       text | json (default: text)
  -h, --help            Show this help

Before anything else the client checks the registry's audit log against the last checkpoint it saw
(kept in $CUSTODY_CONFIG_DIR, default ~/.config/custody) and refuses a log that was rolled back or
forked (AUDIT_ROLLBACK, AUDIT_FORK: exit 1).`;

/** Codes that mean "verification failed" (exit 1) rather than "could not run" (exit 2). */
export const CLIENT_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([...VERIFICATION_FAILURES, 'AUDIT_ROLLBACK', 'AUDIT_FORK', 'SUBJECT_MISMATCH', 'STORE_CORRUPT']);

export interface ClientFlags {
  url?: string | undefined;
  token?: string | undefined;
  'token-file'?: string | undefined;
  'log-key'?: string | undefined;
  format?: string | undefined;
}

export interface ClientSession {
  client: RegistryClient;
  state: StateFile;
  json: boolean;
}

export function checkFormat(command: string, format: string | undefined): boolean {
  if (format !== undefined && format !== 'text' && format !== 'json') throw new CustodyError('USAGE', `${command}: --format must be text or json, found "${format}"`);
  return format === 'json';
}

/** Where the registry is and who we are: flags, then CUSTODY_URL / CUSTODY_TOKEN, then `custody login`. */
export async function openSession(command: string, io: CliIo, flags: ClientFlags, options: { checkLog?: boolean; needToken?: boolean } = {}): Promise<ClientSession> {
  const json = checkFormat(command, flags.format);
  const state = new StateFile(configDir(io.env));
  const url = flags.url ?? io.env['CUSTODY_URL'] ?? (await state.defaultUrl());
  if (url === undefined || url === '') throw new CustodyError('USAGE', `${command}: which registry? Set CUSTODY_URL or pass --url (or run \`custody login\` first)`);
  let token = flags.token;
  if (token === undefined && flags['token-file'] !== undefined) token = (await readFile(resolve(io.cwd, flags['token-file']), 'utf8')).trim();
  const probe = new RegistryClient(url);
  token ??= io.env['CUSTODY_TOKEN'] || (await state.readToken(probe.url));
  if (options.needToken !== false && (token === undefined || token === '')) {
    throw new CustodyError('USAGE', `${command}: no token: set CUSTODY_TOKEN, pass --token-file, or run \`custody login\``);
  }
  const client = new RegistryClient(url, token);
  if (options.checkLog !== false) {
    const check = await checkLog(client, state, flags['log-key'] === undefined ? {} : { logKey: flags['log-key'] });
    if (check.pinnedNow && !json) io.stderr.write(`custody: pinned the audit-log key of ${client.url} (first contact); later answers must extend this log\n`);
  }
  return { client, state, json };
}

/** Runs a client command: verification failures print and exit 1; other errors go to main (exit 2). */
export async function runClientCommand(command: string, io: CliIo, format: string | undefined, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    if (!isCustodyError(error) || !CLIENT_FAILURES.has(error.code)) throw error;
    if (format === 'json') io.stdout.write(`${JSON.stringify({ ok: false, error: { code: error.code, message: error.message } }, null, 2)}\n`);
    else io.stderr.write(`custody ${command}: FAILED ${error.code}: ${error.message}\n`);
    return EXIT.findings;
  }
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Reads a secret from standard input (a pipe) or an environment variable; never from arguments. */
export async function readSecretInput(command: string, io: CliIo, what: string, fromStdin: boolean, envName: string): Promise<string | undefined> {
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) {
      chunks.push(chunk as Buffer);
      if (chunks.reduce((n, c) => n + c.length, 0) > 4096) throw new CustodyError('INPUT_LIMIT', `${command}: the ${what} on standard input is longer than 4096 bytes`);
    }
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  return io.env[envName] || undefined;
}

/** Parses a duration flag (`90s`, `15m`, `1h`, `30d`) into seconds. */
export function parseTtl(command: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDuration(value);
  if (seconds === undefined) throw new CustodyError('USAGE', `${command}: a duration looks like 90s, 15m, 1h or 30d, found "${value}"`);
  return seconds;
}
