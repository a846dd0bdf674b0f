import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBResultReader } from '@duckdb/node-api';
import { CustodyError, isCustodyError } from '../core/errors.js';
import { escapeForTerminal } from '../core/terminal.js';

/**
 * The data engine: one in-memory DuckDB database per run, with a private temporary directory that
 * DuckDB spills to past the memory limit (loaded tables and intermediate results alike; an in-memory
 * table is written without the compression a database file would take, which made loading 2.5×
 * slower),
 * with external access limited to what the run names, no extension loading, and a time bound on
 * every query (DuckDB's interrupt from a timer). DuckDB errors never escape as such: each becomes a
 * CustodyError with a code (PARSE_ERROR, INPUT_LIMIT, IO_ERROR, INTERNAL).
 */

export interface EngineOptions {
  /** DuckDB worker threads (default: 2). */
  threads?: number;
  /**
   * The run's memory bound, as DuckDB reads sizes: `1GB`, `2GB` (default: 1GB). DuckDB's own
   * limit is BUFFER_POOL_SHARE of it: DuckDB allocates past its buffer pool (the CSV reader, aggregate
   * states such as a median's values, result chunks, allocator slack) and Node needs its own, so the
   * whole process stays under the bound.
   */
  memoryLimit?: string;
  /** Where the private temporary directory is made (default: the OS temporary directory). */
  tempDir?: string;
  /** Disk the database may spill to, as DuckDB reads it (default: 32GB). */
  maxTempSize?: string;
  /** Wall-clock bound of one query in milliseconds (default: 30 minutes). */
  queryTimeoutMs?: number;
}

export const DEFAULT_MEMORY_LIMIT = '1GB';
/**
 * The share of --memory-limit given to DuckDB's buffer pool. Measured at 10M rows (a 0.8–0.95 GB CSV):
 * the process peaks at 2.3–2.8 times the pool when profiling, so the default 1 GB bound gives a 333 MiB
 * pool and peaks of 775–934 MiB; a check under 2 GB peaked at 1.3–1.5 GiB.
 */
export const BUFFER_POOL_SHARE = 0.35;
const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** A size as DuckDB reads it (`640MB` = 640·10⁶ bytes, `2GiB` = 2·2³⁰), in bytes. */
export function parseSize(value: string): number {
  const match = MEMORY_PATTERN.exec(value.trim());
  if (!match) throw new CustodyError('USAGE', `memory limit must be a size such as 640MB or 2GB, found "${value}"`);
  return Math.floor(Number(match[1]) * (UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1));
}
export const DEFAULT_QUERY_TIMEOUT_MS = 30 * 60 * 1000;
const MEMORY_PATTERN = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;

/** Checks a `--memory-limit` value (USAGE when DuckDB would not read it as a size). */
export function checkMemoryLimit(value: string): string {
  parseSize(value);
  return value.trim();
}

export interface QueryRows {
  columns: string[];
  rows: unknown[][];
}

export class DataEngine {
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly dir: string,
    private readonly timeoutMs: number,
  ) {}

  /** Opens a fresh database in a new private temporary directory. */
  static async open(options: EngineOptions = {}): Promise<DataEngine> {
    const threads = options.threads ?? 2;
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new CustodyError('USAGE', `threads must be an integer from 1 to 256, found ${String(threads)}`);
    const memoryLimit = `${Math.max(64, Math.floor((parseSize(options.memoryLimit ?? DEFAULT_MEMORY_LIMIT) * BUFFER_POOL_SHARE) / 1024 ** 2))}MiB`;
    const maxTemp = checkMemoryLimit(options.maxTempSize ?? '32GB');
    let dir: string;
    try {
      dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'custody-data-'));
    } catch (error) {
      throw new CustodyError('IO_ERROR', `cannot create a temporary directory for the data engine: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
    let instance: DuckDBInstance | undefined;
    try {
      instance = await DuckDBInstance.create(':memory:', {
        threads: String(threads),
        memory_limit: memoryLimit,
        temp_directory: join(dir, 'spill'),
        max_temp_directory_size: maxTemp,
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
        preserve_insertion_order: 'true',
      });
      const connection = await instance.connect();
      await connection.run("SET TimeZone = 'UTC'");
      return new DataEngine(instance, connection, dir, options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS);
    } catch (error) {
      instance?.closeSync();
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      const mapped = mapDuckDbError(error, 'opening the data engine');
      throw mapped.code === 'INPUT_LIMIT' ? mapped : new CustodyError('INTERNAL', mapped.message, { cause: error });
    }
  }

  /**
   * Limits file access to the given paths (and the engine's own directory), then locks the
   * configuration so no later statement can widen it.
   */
  async restrictAccess(paths: readonly string[]): Promise<void> {
    const list = [...paths, this.dir].map((p) => sqlString(p)).join(', ');
    await this.run(`SET allowed_paths = [${list}]`, 'restricting file access');
    await this.run(`SET allowed_directories = [${sqlString(`${this.dir}/`)}]`, 'restricting file access');
    await this.run('SET enable_external_access = false', 'restricting file access');
    await this.run('SET lock_configuration = true', 'restricting file access');
  }

  /** Runs a statement; `what` says what it does, for error messages. */
  async run(sql: string, what: string): Promise<void> {
    await this.bounded(what, () => this.connection.run(sql));
  }

  /** Runs a query and reads every row as plain JS values (BIGINT as bigint). */
  async query(sql: string, what: string): Promise<QueryRows> {
    const reader = await this.bounded<DuckDBResultReader>(what, () => this.connection.runAndReadAll(sql));
    return { columns: reader.columnNames(), rows: reader.getRowsJS() as unknown[][] };
  }

  /** Runs a query and returns its rows as objects keyed by column name. */
  async objects(sql: string, what: string): Promise<Record<string, unknown>[]> {
    const { columns, rows } = await this.query(sql, what);
    return rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])));
  }

  private async bounded<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new CustodyError('INTERNAL', `the data engine is closed (${what})`);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.connection.interrupt();
    }, this.timeoutMs);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    try {
      return await fn();
    } catch (error) {
      if (timedOut) throw new CustodyError('INPUT_LIMIT', `${what} took longer than ${Math.round(this.timeoutMs / 1000)} s and was stopped (raise --timeout for very large data)`, { cause: error });
      throw mapDuckDbError(error, what);
    } finally {
      clearTimeout(timer);
      // CUSTODY_TRACE_SQL=1: each query's wall and process CPU seconds on stderr (docs/data.md, Performance).
      if (process.env['CUSTODY_TRACE_SQL'] === '1') {
        const cpu = process.cpuUsage(c0);
        process.stderr.write(`custody data: ${((performance.now() - t0) / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU: ${escapeForTerminal(what)}\n`);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.connection.closeSync();
      this.instance.closeSync();
    } finally {
      await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

/** Runs `fn` with a fresh engine and always closes it. */
export async function withEngine<T>(options: EngineOptions, fn: (engine: DataEngine) => Promise<T>): Promise<T> {
  const engine = await DataEngine.open(options);
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

/** Maps a DuckDB error to a coded error by its class (DuckDB prefixes messages with it). */
export function mapDuckDbError(error: unknown, what: string): CustodyError {
  if (isCustodyError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const short = message.split('\n').slice(0, 6).join(' ').slice(0, 600);
  const text = `${what}: ${short}`;
  if (/^(Out of Memory|INTERRUPT)/i.test(message) || /memory limit|could not allocate|failed to allocate|max_temp_directory_size/i.test(message)) {
    return new CustodyError('INPUT_LIMIT', `${text} (raise --memory-limit, or free disk for spilling)`, { cause: error });
  }
  if (/^IO Error/i.test(message) && /No files found|No such file|Cannot open file/i.test(message)) return new CustodyError('PATH_NOT_FOUND', text, { cause: error });
  if (/^Permission Error/i.test(message)) return new CustodyError('IO_ERROR', text, { cause: error });
  if (/^(Invalid Input|Conversion|Parser|IO|Invalid|Binder|Serialization|Not implemented|Sniffing) ?Error/i.test(message) || /parquet|csv|json|unicode|utf-8/i.test(message)) {
    return new CustodyError('PARSE_ERROR', text, { cause: error });
  }
  return new CustodyError('INTERNAL', text, { cause: error });
}

/** A SQL string literal. */
export function sqlString(value: string): string {
  if (value.includes('\0')) throw new CustodyError('USAGE', 'a path or value holds a NUL character');
  return `'${value.replace(/'/g, "''")}'`;
}

/** A SQL identifier (column names come from untrusted data: always quoted). */
export function sqlIdent(name: string): string {
  if (name.includes('\0')) throw new CustodyError('PARSE_ERROR', 'a column name holds a NUL character');
  return `"${name.replace(/"/g, '""')}"`;
}
