import { constants } from 'node:fs';
import { mkdir, open, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { CustodyError } from '../core/errors.js';
import { writeFileSafely } from '../core/safe-fs.js';
import { generateKeyPair, loadPrivateKey, type PrivateKeyInfo } from '../integrity/keys.js';
import { DEFAULT_SETTINGS, Registry, type RegistrySettings } from '../registry/registry.js';
import type { AuditEvent } from '../registry/audit.js';
import { buildAuditEntry } from '../registry/audit.js';
import { JwksCache, type JwksOptions } from '../registry/oidc.js';
import { LocalBlobStore } from '../store/blobs.js';
import type { MetadataStore } from '../store/metadata.js';
import { KyselyMetadataStore, openSqlite } from '../store/kysely-store.js';
import { buildApp, type RateLimits } from './app.js';
import { openAuditLog, type ClosableAuditService } from './audit-log.js';

/**
 * The data directory, everything the embedded registry keeps:
 *
 *   registry.db (+ -wal, -shm)   metadata and the audit log (tables prefixed audit_), SQLite in WAL mode
 *   blobs/sha256/ab/cd/<digest>  file contents by SHA-256; blobs/staging/ holds uploads in flight
 *   keys/attestation.pem         Ed25519 key signing the server's scan attestations (0600)
 *   keys/vsa.pem                 P-256 key signing promotion VSAs and approvals (0600)
 *   keys/log.pem, keys/log.name  Ed25519 key and name signing audit checkpoints (0600)
 *   keys/log.vkey                the checkpoint verifier key to hand to clients
 *   initial-admin-token          written once, on first start (0600)
 *   scratch/                     versions laid out for scanning (emptied at start)
 *   server.lock                  the pid of the server using the directory
 */
export const DATA_DIR_FILES = {
  database: 'registry.db',
  blobs: 'blobs',
  attestationKey: 'keys/attestation.pem',
  vsaKey: 'keys/vsa.pem',
  logKey: 'keys/log.pem',
  logName: 'keys/log.name',
  logVerifierKey: 'keys/log.vkey',
  initialToken: 'initial-admin-token',
  scratch: 'scratch',
  lock: 'server.lock',
} as const;

export interface OpenOptions {
  dataDir: string;
  version: string;
  settings?: Partial<RegistrySettings>;
  /** Lifetime of the initial admin token (default 24 h). */
  initialTokenTtlSeconds?: number;
  /** Take the directory's lock (a serving process); false for offline tools. */
  lock?: boolean;
  /** fsync every database commit (audit appends survive a power loss; costs throughput). */
  durableLog?: boolean;
  /** How OIDC issuers' keys are fetched (plain HTTP to loopback only for tests: allowInsecureLoopback). */
  jwks?: JwksOptions;
}

export interface OpenedRegistry {
  registry: Registry;
  /** The metadata store (offline tools, tests). */
  store: MetadataStore;
  audit: ClosableAuditService;
  dataDir: string;
  /** Set on first start: where the initial admin token was written. */
  initialTokenPath: string | undefined;
  close(): Promise<void>;
}

async function readOrCreateKey(path: string, create: () => string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new CustodyError('IO_ERROR', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? ''}`, { cause: error });
  }
  const pem = create();
  await writeFileSafely(path, pem, { mode: 0o600, overwrite: false });
  return pem;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One serving process per data directory: a lock file holding its pid (a dead pid's lock is taken over). */
async function takeLock(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => void (await unlink(path).catch(() => undefined));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new CustodyError('IO_ERROR', `cannot lock the data directory: ${(error as NodeJS.ErrnoException).code ?? ''}`, { cause: error });
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new CustodyError('CONFLICT', `another registry (pid ${pid}) serves this data directory; stop it first`);
      }
      await unlink(path).catch(() => undefined);
    }
  }
  throw new CustodyError('CONFLICT', 'cannot lock the data directory');
}

/**
 * Opens (creating on first start) a registry data directory: keys, database with migrations, blob
 * store, audit log; recovers from a crash (staged blobs dropped, unreferenced blobs removed, unfinished
 * scans queued again); on an empty store creates the server admin and writes its token to
 * `initial-admin-token` (0600).
 */
export async function openDataDir(options: OpenOptions): Promise<OpenedRegistry> {
  const dir = options.dataDir;
  await mkdir(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  const release = options.lock === false ? async () => undefined : await takeLock(join(dir, DATA_DIR_FILES.lock));
  try {
    if (options.lock !== false) await rm(join(dir, DATA_DIR_FILES.scratch), { recursive: true, force: true });
    const attestationKey: PrivateKeyInfo = loadPrivateKey(await readOrCreateKey(join(dir, DATA_DIR_FILES.attestationKey), () => generateKeyPair('ed25519').privateKeyPem), { source: 'attestation key' });
    const vsaKey: PrivateKeyInfo = loadPrivateKey(await readOrCreateKey(join(dir, DATA_DIR_FILES.vsaKey), () => generateKeyPair('p256').privateKeyPem), { source: 'VSA key' });
    const handle = openSqlite(join(dir, DATA_DIR_FILES.database));
    const store = await KyselyMetadataStore.openSqlite(handle);
    const audit = await openAuditLog(handle, dir, { durable: options.durableLog === true });
    const blobs = new LocalBlobStore(join(dir, DATA_DIR_FILES.blobs));
    await blobs.init();
    const recordIntegrityFailure = (event: AuditEvent): void => {
      const entry = buildAuditEntry({ time: new Date(), requestId: 'server', caller: { anonymous: 'server' }, ip: '', method: '', route: '', status: 0, event: { ...event, decision: 'deny' } });
      void audit.append(entry).catch(() => undefined);
    };
    const registry = new Registry({
      store,
      blobs,
      settings: { ...DEFAULT_SETTINGS, ...options.settings },
      attestationKey,
      scratchDir: join(dir, DATA_DIR_FILES.scratch),
      toolVersion: options.version,
      recordIntegrityFailure,
      vsaKey,
      jwks: new JwksCache(options.jwks ?? {}),
    });
    if (options.lock !== false) await registry.recover();
    let initialTokenPath: string | undefined;
    const boot = await registry.bootstrap(options.initialTokenTtlSeconds ?? 86400);
    if (boot) {
      initialTokenPath = join(dir, DATA_DIR_FILES.initialToken);
      await writeFileSafely(initialTokenPath, `${boot.token}\n`, { mode: 0o600 });
    }
    return {
      registry,
      store,
      audit,
      dataDir: dir,
      initialTokenPath,
      async close() {
        await registry.idle();
        await audit.close();
        await store.close();
        await release();
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}

export interface ServeOptions extends OpenOptions {
  host: string;
  port: number;
  rateLimits?: RateLimits;
  logger?: FastifyServerOptions['logger'];
  /** Console cookies are Secure even over plain HTTP (TLS ends at a proxy in front). */
  secureCookies?: boolean;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  opened: OpenedRegistry;
  close(): Promise<void>;
}

/**
 * How far V8 lets the old generation grow past its live size before the next full collection, for
 * the server process. Every upload arrives as 64 KiB buffers that Node's HTTP parser allocates, so
 * young collections run every few tens of MB; with V8's default growth the old generation of a
 * server that has served some metadata requests sits within one young generation of its limit,
 * and V8 then starts a full mark-compact every ~150 ms for as long as uploads last (43 of them for
 * 8 × 256 MiB, a fifth of the server's CPU). Growth by 4× the live size (a ~25 MB live heap here)
 * stops that; the flag is read each time V8 sets a limit, so setting it at start-up takes effect.
 */
const SERVER_HEAP_GROWING_PERCENT = 300;

/** Opens the data directory and listens. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  setFlagsFromString(`--heap-growing-percent=${SERVER_HEAP_GROWING_PERCENT}`);
  const opened = await openDataDir(options);
  try {
    const app = await buildApp({
      registry: opened.registry,
      audit: opened.audit,
      hide: [options.dataDir],
      version: options.version,
      store: opened.store,
      console: { secureCookies: options.secureCookies === true },
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
    });
    const address = await app.listen({ host: options.host, port: options.port });
    return {
      app,
      url: address,
      opened,
      async close() {
        await app.close();
        await opened.close();
      },
    };
  } catch (error) {
    await opened.close();
    throw error;
  }
}
