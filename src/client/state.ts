import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CustodyError } from '../core/errors.js';
import { isRecord } from '../core/json.js';
import { writeFileSafely } from '../core/safe-fs.js';

/**
 * What a client remembers between runs, per registry URL: the audit-log verifier key it pinned, the
 * last checkpoint it accepted (to refuse a rolled-back or forked log), the project keys it pinned,
 * and (in a separate 0600 file) the token from `custody login`.
 */
export interface ServerState {
  /** The log's C2SP verifier key, pinned on first contact or given with --log-key. */
  logKey?: string;
  /** The last checkpoint accepted: size, base64 root and the signed note. */
  checkpoint?: { size: number; root: string; note: string };
  /** Project name → SPKI PEM keys pinned for pull verification. */
  projectKeys?: Record<string, string[]>;
}

export interface ClientState {
  servers: Record<string, ServerState>;
}

const MAX_STATE_BYTES = 16 * 1024 * 1024;

/** `CUSTODY_CONFIG_DIR`, else `$XDG_CONFIG_HOME/custody`, else `~/.config/custody`. */
export function configDir(env: Readonly<Record<string, string | undefined>>): string {
  if (env['CUSTODY_CONFIG_DIR']) return env['CUSTODY_CONFIG_DIR'];
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  return join(base, 'custody');
}

async function readJsonFile(path: string): Promise<Record<string, unknown> | undefined> {
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CustodyError('IO_ERROR', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  if (text.length > MAX_STATE_BYTES) throw new CustodyError('INPUT_LIMIT', `${path} is larger than ${MAX_STATE_BYTES} bytes`);
  try {
    const value = JSON.parse(text.toString('utf8')) as unknown;
    if (!isRecord(value)) throw new Error('not an object');
    return value;
  } catch (error) {
    throw new CustodyError('PARSE_ERROR', `${path} is not valid client state (delete it to start afresh, which forgets the checkpoints seen): ${(error as Error).message}`, { cause: error });
  }
}

export class StateFile {
  constructor(private readonly dir: string) {}

  private get statePath(): string {
    return join(this.dir, 'registry-state.json');
  }

  private get credentialsPath(): string {
    return join(this.dir, 'credentials.json');
  }

  async read(): Promise<ClientState> {
    const raw = await readJsonFile(this.statePath);
    const servers = raw && isRecord(raw['servers']) ? (raw['servers'] as Record<string, ServerState>) : {};
    return { servers };
  }

  async server(url: string): Promise<ServerState> {
    return (await this.read()).servers[url] ?? {};
  }

  /** Read-modify-write of one server's state. */
  async update(url: string, change: (state: ServerState) => ServerState): Promise<ServerState> {
    const state = await this.read();
    const next = change(state.servers[url] ?? {});
    state.servers[url] = next;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileSafely(this.statePath, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    return next;
  }

  async readToken(url: string): Promise<string | undefined> {
    const raw = await readJsonFile(this.credentialsPath);
    const entry = raw?.[url];
    return isRecord(entry) && typeof entry['token'] === 'string' ? entry['token'] : undefined;
  }

  /** The most recent URL logged in to, used when neither --url nor CUSTODY_URL is given. */
  async defaultUrl(): Promise<string | undefined> {
    const raw = await readJsonFile(this.credentialsPath);
    return typeof raw?.['default'] === 'string' ? raw['default'] : undefined;
  }

  async writeToken(url: string, token: string, expiresAt: string): Promise<string> {
    const raw = (await readJsonFile(this.credentialsPath)) ?? {};
    raw[url] = { token, expiresAt };
    raw['default'] = url;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileSafely(this.credentialsPath, `${JSON.stringify(raw, null, 2)}\n`, { mode: 0o600 });
    return this.credentialsPath;
  }
}
