import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lstat, mkdtemp, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import { readRegularFile, writeFileSafely } from '../../core/safe-fs.js';
import { checkGitDirectories, findGitExecutable, GIT_CONFIG_OVERRIDES, GIT_GLOBAL_OPTIONS, hardenedGitEnv, readCallerSafeDirectories } from './git-safety.js';

/**
 * The git plumbing behind `--history`, through the real `git` CLI. The repository is untrusted
 * input: git runs hardened (git-safety.ts: no transport, no lazy fetch, no helper or hook the
 * repository configures, no caller GIT_* variables), after its git directory was checked for files
 * that would block it, and every git process is supervised: a short command past its deadline, a
 * streaming command that stops answering while Custody waits on it, or any git process whose memory
 * grows past the limit is killed and the scan ends with INPUT_LIMIT.
 */

export interface GitLimits {
  /** A streaming git command (log, cat-file, ls-tree) that prints nothing for this long while Custody waits on it is stopped. */
  idleMs: number;
  /** A short git command (rev-parse) must finish within this. */
  quickMs: number;
  /** Anonymous resident memory allowed to one git process (checked where the OS reports it: Linux). */
  memoryBytes: number;
}

export const DEFAULT_GIT_LIMITS: GitLimits = { idleMs: 120_000, quickMs: 20_000, memoryBytes: 512 * 1024 * 1024 };

/** How git is run for one scan: the executable (absolute), its environment and `-c` settings, the limits. */
export interface GitSession {
  executable: string;
  env: NodeJS.ProcessEnv;
  config: readonly string[];
  limits: GitLimits;
}

export async function openGitSession(limits: Partial<GitLimits> = {}): Promise<GitSession> {
  const executable = await findGitExecutable();
  const safeDirectories = await readCallerSafeDirectories(executable);
  return {
    executable,
    env: hardenedGitEnv(),
    config: [...GIT_CONFIG_OVERRIDES, ...safeDirectories.map((dir) => `safe.directory=${dir}`)],
    limits: { ...DEFAULT_GIT_LIMITS, ...limits },
  };
}

type GitProcess = ChildProcessByStdio<Writable | null, Readable, Readable>;

/** Starts git; a failure to start that spawn reports at once throws a CustodyError. */
function spawnGit(session: GitSession, cwd: string, args: readonly string[], stdin: boolean, env: NodeJS.ProcessEnv = session.env): GitProcess {
  const argv = [...GIT_GLOBAL_OPTIONS, ...session.config.flatMap((setting) => ['-c', setting]), ...args];
  try {
    return spawn(session.executable, argv, { cwd, env, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] }) as GitProcess;
  } catch (error) {
    throw spawnError(error, args);
  }
}

/**
 * Watches one git process: past a deadline (short commands), silent for `idleMs` while Custody waits
 * on it (and, for cat-file, has asked it for something), or over the memory limit, it is killed and
 * `error` says why. Callers check `error` before anything else once git has ended.
 */
class Supervisor {
  error: CustodyError | undefined;
  private readonly started = Date.now();
  private lastActivity = Date.now();
  private waiting = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly proc: GitProcess,
    private readonly label: string,
    private readonly limits: GitLimits,
    private readonly mode: { deadlineMs?: number; owesOutput?: () => boolean },
  ) {
    this.timer = setInterval(() => this.check(), 100);
    proc.once('close', () => clearInterval(this.timer));
  }

  /** Custody starts waiting for output. */
  startWaiting(): void {
    this.waiting = true;
    this.lastActivity = Date.now();
  }

  /** Output arrived (or Custody stopped waiting). */
  stopWaiting(): void {
    this.waiting = false;
    this.lastActivity = Date.now();
  }

  /** Custody gave git more work. */
  activity(): void {
    this.lastActivity = Date.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    if (this.error !== undefined || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const now = Date.now();
    if (this.mode.deadlineMs !== undefined && now - this.started > this.mode.deadlineMs) {
      this.fail('time', `did not finish within ${seconds(this.mode.deadlineMs)}: something in the repository blocks it`);
    } else if (this.waiting && (this.mode.owesOutput?.() ?? true) && now - this.lastActivity > this.limits.idleMs) {
      this.fail('idle', `printed nothing for ${seconds(this.limits.idleMs)} while Custody waited on it: something in the repository blocks it`);
    } else {
      const memory = anonymousMemory(this.proc.pid);
      if (memory !== undefined && memory > this.limits.memoryBytes) {
        this.fail('memory', `used ${Math.round(memory / 1048576)} MiB of memory, over the limit of ${Math.round(this.limits.memoryBytes / 1048576)} MiB for one git process`);
      }
    }
  }

  private fail(limit: 'time' | 'idle' | 'memory', message: string): void {
    this.error = new CustodyError('INPUT_LIMIT', `--history: git ${this.label} ${message}; the history is not read`, { details: { limit, command: this.label } });
    this.proc.kill('SIGKILL');
    clearInterval(this.timer);
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** Anonymous resident memory of a process in bytes (Linux /proc), or undefined where it cannot be read. */
function anonymousMemory(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
  const match = /^RssAnon:\s+(\d+) kB/m.exec(status) ?? /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Collects a bounded amount of stderr for error messages. */
function collectStderr(proc: GitProcess): () => string {
  let text = '';
  proc.stderr.on('data', (chunk: Buffer) => {
    if (text.length < 4096) text += chunk.toString('utf8');
  });
  return () => text.trim().slice(0, 500);
}

async function waitExit(proc: GitProcess): Promise<number> {
  if (proc.exitCode !== null) return proc.exitCode;
  if (proc.signalCode !== null) return 128;
  const [code] = (await once(proc, 'close')) as [number | null];
  return code ?? 128;
}

function spawnError(error: unknown, args: readonly string[]): CustodyError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CustodyError('UNSUPPORTED_FORMAT', '--history needs the `git` command on PATH; install git or scan without --history', { cause: error });
  return new CustodyError('IO_ERROR', `git ${args[0] ?? ''} failed: ${(error as Error).message}`, { cause: error });
}

/** Runs a short git command (bounded in time, memory and output) and returns its stdout, or its stderr when git exits non-zero. */
export async function runGit(
  session: GitSession,
  cwd: string,
  args: readonly string[],
  options: { maxBytes?: number; outsideRepository?: boolean } = {},
): Promise<{ ok: true; stdout: Buffer } | { ok: false; stderr: string }> {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  // GIT_DIR naming a non-directory: git finds no repository (and reads no repository config).
  const proc = spawnGit(session, cwd, args, false, options.outsideRepository ? { ...session.env, GIT_DIR: '/dev/null' } : session.env);
  const supervisor = new Supervisor(proc, args[0] ?? '', session.limits, { deadlineMs: session.limits.quickMs });
  const stderr = collectStderr(proc);
  const chunks: Buffer[] = [];
  let size = 0;
  const spawnFailure = once(proc, 'error').then(([error]) => {
    throw spawnError(error, args);
  });
  spawnFailure.catch(() => undefined);
  const reading = (async () => {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        proc.kill('SIGKILL');
        throw new CustodyError('INPUT_LIMIT', `--history: git ${args[0] ?? ''} printed more than ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return waitExit(proc);
  })();
  try {
    const code = await Promise.race([reading, spawnFailure]);
    if (supervisor.error) throw supervisor.error;
    return code === 0 ? { ok: true, stdout: Buffer.concat(chunks) } : { ok: false, stderr: stderr() };
  } catch (error) {
    throw supervisor.error ?? error;
  } finally {
    supervisor.stop();
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
}

export interface RepoInfo {
  /** Absolute top-level directory (the git directory itself for bare repositories). */
  top: string;
  /** Path of the scanned directory or file relative to the top, with a trailing `/` for directories ('' for the whole repository). */
  prefix: string;
  /** The common git directory (where `shallow`, objects and refs live). */
  commonDir: string;
}

/**
 * Finds the repository that holds `dir` and checks its git directory (checkGitDirectories) before
 * anything reads history; throws USAGE when there is none. The files git reads to find a repository
 * at `dir` itself are checked first, so a FIFO there is refused at once rather than at the deadline.
 */
export async function locateRepo(session: GitSession, dir: string): Promise<RepoInfo> {
  await precheckDiscovery(session, dir);
  const result = await runGit(session, dir, ['rev-parse', '--is-bare-repository', '--absolute-git-dir', '--git-common-dir']);
  if (!result.ok) {
    throw new CustodyError('USAGE', `--history: ${dir} is not inside a git repository (git said: ${result.stderr || 'no repository'}); scan it without --history`);
  }
  const [bare = '', gitDir = '', commonDir = ''] = result.stdout.toString('utf8').split('\n');
  const common = resolve(dir, commonDir);
  await checkGitDirectories([...new Set([gitDir, common])]);
  if (bare === 'true') return { top: gitDir, prefix: '', commonDir: common };
  const paths = await runGit(session, dir, ['rev-parse', '--show-toplevel', '--show-prefix']);
  if (!paths.ok) throw new CustodyError('IO_ERROR', `--history: cannot locate the work tree of ${dir}: ${paths.stderr}`);
  const [top = dir, prefix = ''] = paths.stdout.toString('utf8').split('\n');
  return { top, prefix, commonDir: common };
}

/** Files git opens to recognise a repository; a FIFO among them would block `git rev-parse`. */
const DISCOVERY_FILES = ['HEAD', 'config', 'config.worktree', 'commondir', 'packed-refs'];
/** git follows includes at most this deep. */
const MAX_INCLUDE_DEPTH = 10;

async function precheckDiscovery(session: GitSession, dir: string): Promise<void> {
  const candidates = [join(dir, '.git')];
  if ((await isDirectory(join(dir, 'objects'))) && (await isDirectory(join(dir, 'refs')))) candidates.push(dir); // git would take dir for a bare repository
  for (const candidate of candidates) {
    if (!(await isDirectory(candidate))) continue;
    for (const name of DISCOVERY_FILES) await refuseSpecial(join(candidate, name), 'git would block on it or read it without end');
    for (const name of ['config', 'config.worktree']) await checkIncludes(session, join(candidate, name), 0);
  }
}

/**
 * Every file a config file includes (`include.path`, `includeIf.*.path`, whatever the condition) must
 * be a regular file or missing: git reads includes while it starts, and a FIFO there would block it.
 */
async function checkIncludes(session: GitSession, configFile: string, depth: number): Promise<void> {
  if (depth > MAX_INCLUDE_DEPTH || !(await lstat(configFile).catch(() => undefined))?.isFile()) return;
  // Outside any repository: in one, git would read the repository's config, includes and all, first.
  const result = await runGit(session, dirname(configFile), ['config', '--file', configFile, '--no-includes', '-z', '--get-regexp', '^include(if\\..*)?\\.path$'], { outsideRepository: true });
  if (!result.ok) return; // no includes (exit 1), or a config git cannot parse: rev-parse reports that
  for (const record of result.stdout.toString('utf8').split('\0')) {
    const newline = record.indexOf('\n');
    if (newline === -1) continue;
    const value = record.slice(newline + 1);
    const home = session.env['HOME'] ?? '';
    const target = value.startsWith('~/') ? join(home, value.slice(2)) : resolve(dirname(configFile), value);
    await refuseSpecial(target, 'git reads every included config file while it starts, and would block on it or read it without end');
    await checkIncludes(session, target, depth + 1);
  }
}

async function refuseSpecial(path: string, why: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined || info.isFile() || info.isDirectory()) return;
  const target = info.isSymbolicLink() ? await stat(path).catch(() => undefined) : info;
  if (target === undefined || target.isFile() || target.isDirectory()) return;
  throw new CustodyError('SPECIAL_FILE', `--history: ${path} is not a regular file (a FIFO, device or socket${info.isSymbolicLink() ? ' behind a symbolic link' : ''}); ${why}, so this history is not read`, {
    details: { path },
  });
}

async function isDirectory(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/** A `shallow` file larger than this is not a list of boundary commits (about 400,000 of them). */
const MAX_SHALLOW_BYTES = 16 * 1024 * 1024;

/**
 * A shallow repository lists, in `shallow`, commits whose parents it lacks; git then stops there. A
 * planted entry for a commit whose parents are all present would hide the history below it. Returns a
 * copy of the list holding only genuine boundaries (a commit with a parent missing), written to a
 * private file for GIT_SHALLOW_FILE, when some entry was not genuine; undefined when there is nothing to
 * correct. The caller removes the returned directory.
 */
export async function sanitizeShallow(session: GitSession, repo: RepoInfo): Promise<{ dir: string; file: string; dropped: number } | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(join(repo.commonDir, 'shallow'), { maxBytes: MAX_SHALLOW_BYTES });
  } catch (error) {
    if (isCustodyError(error, 'PATH_NOT_FOUND')) return undefined;
    throw isCustodyError(error) ? new CustodyError(error.code, `--history: the repository's shallow file: ${error.message}`, { cause: error }) : error;
  }
  const listed = [...new Set(bytes.toString('latin1').split('\n').map((line) => line.trim()).filter((line) => /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(line)))];
  if (listed.length === 0) return undefined;
  const parents = new Map<string, string[]>();
  for await (const object of readBlobs(session, repo.top, AsyncQueue.from(listed), { memoryBytes: 64 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 })) {
    if (object.kind !== 'memory') continue; // a listed commit that is missing or huge: keep the entry
    const header = object.data.toString('latin1', 0, Math.max(0, object.data.indexOf('\n\n')));
    parents.set(object.sha, [...header.matchAll(/^parent ([0-9a-f]+)$/gm)].map((m) => m[1] as string));
  }
  const wanted = [...new Set([...parents.values()].flat())];
  const present = new Set<string>();
  for await (const object of readBlobs(session, repo.top, AsyncQueue.from(wanted), { memoryBytes: 1024 * 1024, maxBytes: 0 })) {
    if (object.kind !== 'missing') present.add(object.sha);
  }
  const genuine = listed.filter((sha) => {
    const of = parents.get(sha);
    return of === undefined || of.length === 0 || of.some((parent) => !present.has(parent));
  });
  if (genuine.length === listed.length) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'custody-shallow-'));
  const file = join(dir, 'shallow');
  await writeFileSafely(file, genuine.map((sha) => `${sha}\n`).join(''), { mode: 0o600 });
  return { dir, file, dropped: listed.length - genuine.length };
}

export interface Commit {
  sha: string;
  author: string;
  /** Author date, ISO 8601. */
  date: string;
}

export interface HistoryVisitor {
  /** A commit, newest first (children before parents, `--topo-order`). */
  onCommit(commit: Commit): void;
  /** A blob that the last commit passed to onCommit shows at `path` (added or modified). */
  onBlob(sha: string, path: string): void;
}

/** Longest author name, date or path accepted from `git log` (paths on disk stop at a few KiB). */
const MAX_TOKEN_BYTES = 1024 * 1024;

/**
 * Streams every blob shown at every path in the history of all refs, newest commits first, so that
 * the blobs can be read while git is still walking. Each commit is compared with each of its parents
 * (`-m`), so content that only a merge introduced is seen too. The commit that introduced a
 * (blob, path) pair is the last one that shows it (the earliest in topological order).
 */
export async function walkHistory(session: GitSession, top: string, pathspec: string, visitor: HistoryVisitor): Promise<void> {
  const args = [
    'log',
    '--all',
    '--topo-order',
    '--root',
    '-m',
    '--raw',
    '--no-abbrev',
    '--no-renames',
    '--no-ext-diff',
    '--no-textconv',
    '--no-show-signature',
    '--no-mailmap',
    '--no-notes',
    '--no-color',
    '-z',
    '--format=%x01%H%x00%an%x00%aI',
  ];
  if (pathspec !== '') args.push('--full-history', '--', pathspec);

  // Tokens are NUL-terminated: a commit header (\x01sha, author, date), then raw entries
  // (`:oldmode newmode oldsha newsha status`, path).
  let state: 'token' | 'author' | 'date' | 'path' = 'token';
  let current: Commit | undefined;
  let pendingBlob = '';
  let skip = 0;
  const onToken = (token: string): void => {
    switch (state) {
      case 'author':
        (current as Commit).author = token;
        state = 'date';
        return;
      case 'date':
        (current as Commit).date = token;
        visitor.onCommit(current as Commit);
        state = 'token';
        return;
      case 'path':
        state = 'token';
        if (pendingBlob !== '') visitor.onBlob(pendingBlob, token);
        return;
      case 'token': {
        if (token.startsWith('\x01')) {
          const sha = token.slice(1);
          // With -m a merge is printed once per parent: the repeat is the same commit, so its author
          // and date tokens are skipped and it is not reported again.
          if (current?.sha === sha) skip = 2;
          else {
            current = { sha, author: '', date: '' };
            state = 'author';
          }
          return;
        }
        const raw = token.startsWith('\n') ? token.slice(1) : token;
        if (!raw.startsWith(':')) return;
        // :100644 100644 <old> <new> M
        const fields = raw.slice(1).split(' ');
        const newMode = fields[1] ?? '';
        const newSha = fields[3] ?? '';
        const status = fields[4] ?? '';
        // Regular files only: symlinks hold a path, gitlinks a commit of another repository.
        // (Copied flat: a slice would keep the whole raw line alive for as long as the id is kept.)
        pendingBlob = newMode.startsWith('100') && status !== 'D' && !/^0+$/.test(newSha) ? Buffer.from(newSha, 'latin1').toString('latin1') : '';
        state = 'path';
        return;
      }
    }
  };
  const { code, stderr } = await streamTokens(session, top, args, 'a name, path or date', (bytes, start, end) => {
    if (skip > 0) skip -= 1;
    else onToken(bytes.toString('utf8', start, end));
  });
  if (code !== 0) {
    const message = stderr;
    // A repository without commits has no history to scan.
    if (/does not have any commits|bad default revision|unknown revision/.test(message)) return;
    throw new CustodyError('IO_ERROR', `--history: git log failed in ${top}: ${message}`);
  }
}

/** An unbounded async queue: the history walk pushes blob ids, the blob reader pulls them. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private failWaiting: ((error: unknown) => void) | undefined;
  private ended = false;
  private error: unknown;

  push(item: T): void {
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      this.failWaiting = undefined;
      resolve({ value: item, done: false });
    } else this.items.push(item);
  }

  /** Ends the queue; with an error, the consumer's next pull throws it. */
  end(error?: unknown): void {
    this.ended = true;
    this.error = error;
    if (this.waiting) {
      const resolve = this.waiting;
      const reject = this.failWaiting;
      this.waiting = undefined;
      this.failWaiting = undefined;
      if (error !== undefined) reject?.(error);
      else resolve({ value: undefined, done: true });
    }
  }

  static from<T>(items: Iterable<T>): AsyncQueue<T> {
    const queue = new AsyncQueue<T>();
    for (const item of items) queue.push(item);
    queue.end();
    return queue;
  }

  /** Everything queued now, or (when nothing is) waits for the next item; undefined at the end. */
  async takeAll(): Promise<T[] | undefined> {
    if (this.items.length > 0) return this.items.splice(0);
    const next = await this[Symbol.asyncIterator]().next();
    return next.done ? undefined : [next.value, ...this.items.splice(0)];
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
        if (this.ended) return this.error !== undefined ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiting = resolve;
          this.failWaiting = reject;
        });
      },
    };
  }
}

/**
 * Blob ids in the tree of HEAD (any path); empty when HEAD does not resolve. The listing is streamed
 * (only the ids are kept), so a HEAD tree of millions of entries costs the set, not the listing.
 */
export async function listHeadBlobs(session: GitSession, top: string): Promise<Set<string>> {
  const blobs = new Set<string>();
  const { code } = await streamTokens(session, top, ['ls-tree', '-r', '-z', '--full-tree', 'HEAD'], 'a path', (bytes, start, end) => {
    // <mode> SP <type> SP <object> TAB <file>
    const tab = bytes.indexOf(0x09, start);
    const [, type, object] = bytes.toString('latin1', start, tab === -1 || tab > end ? end : tab).split(' ');
    if (type === 'blob' && object !== undefined) blobs.add(object);
  });
  return code === 0 ? blobs : new Set();
}

/**
 * Runs a streaming git command (supervised for idleness and memory) and hands each NUL-terminated
 * token of its output to `onToken` as a byte range, so text split across chunks stays whole. A token
 * longer than MAX_TOKEN_BYTES is INPUT_LIMIT (`what` names it). Returns git's exit code and stderr.
 */
async function streamTokens(session: GitSession, cwd: string, args: readonly string[], what: string, onToken: (bytes: Buffer, start: number, end: number) => void): Promise<{ code: number; stderr: string }> {
  const label = args[0] ?? '';
  const proc = spawnGit(session, cwd, args, false);
  const supervisor = new Supervisor(proc, label, session.limits, {});
  const stderr = collectStderr(proc);
  const failed = new Promise<never>((_, reject) => proc.once('error', (error) => reject(spawnError(error, args))));
  failed.catch(() => undefined);
  const reading = (async () => {
    const chunks = (proc.stdout as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    let rest: Buffer = Buffer.alloc(0);
    for (;;) {
      supervisor.startWaiting();
      const next = await chunks.next();
      supervisor.stopWaiting();
      if (next.done) break;
      const bytes = rest.length === 0 ? next.value : Buffer.concat([rest, next.value]);
      let start = 0;
      for (let nul = bytes.indexOf(0, start); nul !== -1; nul = bytes.indexOf(0, start)) {
        onToken(bytes, start, nul);
        start = nul + 1;
      }
      rest = bytes.subarray(start);
      if (rest.length > MAX_TOKEN_BYTES) {
        proc.kill('SIGKILL');
        throw new CustodyError('INPUT_LIMIT', `--history: git ${label} printed ${what} longer than ${MAX_TOKEN_BYTES} bytes; this history is not read`);
      }
    }
    return waitExit(proc);
  })();
  let code: number;
  try {
    code = await Promise.race([reading, failed]);
  } catch (error) {
    throw supervisor.error ?? error;
  } finally {
    supervisor.stop();
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
  if (supervisor.error) throw supervisor.error;
  return { code, stderr: stderr() };
}

export type BlobContent =
  | { sha: string; kind: 'memory'; data: Buffer }
  | { sha: string; kind: 'file'; file: string; size: number }
  | { sha: string; kind: 'skipped'; size: number }
  | { sha: string; kind: 'missing' };

export interface ReadBlobsOptions {
  /** Blobs up to this size are handed over in memory. */
  memoryBytes: number;
  /** Larger blobs up to this size are spooled to a temporary file (removed after the consumer resumes); beyond it they are skipped. */
  maxBytes: number;
}

/**
 * Streams the contents of `shas` through one `git cat-file --batch` process, in order. Memory stays
 * bounded: the consumer handles one blob at a time and git is paused (by backpressure) meanwhile.
 */
export async function* readBlobs(session: GitSession, top: string, shas: AsyncQueue<string>, options: ReadBlobsOptions): AsyncGenerator<BlobContent> {
  const args = ['cat-file', '--batch', '--buffer'];
  const proc = spawnGit(session, top, args, true);
  /** Ids sent to git whose header has not come back: git owes output only while this is positive. */
  let pending = 0;
  const supervisor = new Supervisor(proc, 'cat-file', session.limits, { owesOutput: () => pending > 0 });
  const stderr = collectStderr(proc);
  let spawnFailure: unknown;
  proc.once('error', (error) => {
    spawnFailure = error;
  });
  const stdin = proc.stdin as Writable;
  stdin.on('error', () => undefined); // git exiting early surfaces through its exit code
  const feeding = (async () => {
    try {
      // Ids go out in batches of whatever is queued: one write per id would cost more than git's
      // reading them, and waiting for a full batch would stall git while the history walk runs.
      for (let batch = await shas.takeAll(); batch !== undefined; batch = await shas.takeAll()) {
        pending += batch.length;
        supervisor.activity();
        if (!stdin.write(`${batch.join('\n')}\n`)) await once(stdin, 'drain');
      }
    } finally {
      stdin.end();
    }
  })();
  feeding.catch(() => undefined);

  const reader = new ChunkReader(proc.stdout as AsyncIterable<Buffer>, supervisor);
  let tempDir: string | undefined;
  try {
    for (;;) {
      const header = await reader.readLine();
      if (header === undefined) break;
      pending -= 1;
      const [sha = '', type = '', sizeText = ''] = header.split(' ');
      if (type === 'missing' || type === '' || sizeText === '') {
        yield { sha, kind: 'missing' };
        continue;
      }
      const size = Number(sizeText);
      if (!Number.isSafeInteger(size) || size < 0) throw new CustodyError('PARSE_ERROR', `git cat-file printed a bad header: ${header.slice(0, 100)}`);
      if (size > options.maxBytes) {
        await reader.skip(size + 1);
        yield { sha, kind: 'skipped', size };
      } else if (size <= options.memoryBytes) {
        const data = await reader.readExact(size);
        await reader.readExact(1);
        yield { sha, kind: 'memory', data };
      } else {
        tempDir ??= await mkdtemp(join(tmpdir(), 'custody-blob-'));
        const file = join(tempDir, sha);
        await spoolBlob(reader, size, file);
        await reader.readExact(1);
        try {
          yield { sha, kind: 'file', file, size };
        } finally {
          await rm(file, { force: true });
        }
      }
    }
    const code = await waitExit(proc);
    if (supervisor.error) throw supervisor.error;
    if (spawnFailure !== undefined) throw spawnError(spawnFailure, args);
    await feeding; // a failure of whoever fills the queue (the history walk) surfaces here
    if (code !== 0) throw new CustodyError('IO_ERROR', `--history: git cat-file failed in ${top}: ${stderr()}`);
  } catch (error) {
    throw supervisor.error ?? error;
  } finally {
    supervisor.stop();
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
  }
}

/** Pulls exact byte counts and lines out of an async stream of chunks. */
class ChunkReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private buffer: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(
    stream: AsyncIterable<Buffer>,
    private readonly supervisor: Supervisor,
  ) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    this.supervisor.startWaiting();
    const next = await this.iterator.next().finally(() => this.supervisor.stopWaiting());
    if (next.done) {
      this.done = true;
      return false;
    }
    this.buffer = this.buffer.length === 0 ? next.value : Buffer.concat([this.buffer, next.value]);
    return true;
  }

  async readLine(): Promise<string | undefined> {
    for (;;) {
      const nl = this.buffer.indexOf(0x0a);
      if (nl !== -1) {
        const line = this.buffer.toString('utf8', 0, nl);
        this.buffer = this.buffer.subarray(nl + 1);
        return line;
      }
      if (this.buffer.length > 4096) throw new CustodyError('PARSE_ERROR', 'git cat-file printed an overlong header');
      if (!(await this.fill())) {
        if (this.buffer.length === 0) return undefined;
        throw new CustodyError('PARSE_ERROR', 'git cat-file output ended inside a header');
      }
    }
  }

  async readExact(size: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    await this.forEachExact(size, (part) => void parts.push(part));
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
  }

  skip(size: number): Promise<void> {
    return this.forEachExact(size, () => undefined);
  }

  /** Hands the next `size` bytes to `each`, part by part, waiting for each to finish. */
  async forEachExact(size: number, each: (part: Buffer) => Promise<unknown> | undefined): Promise<void> {
    let need = size;
    while (need > 0) {
      if (this.buffer.length === 0 && !(await this.fill())) throw new CustodyError('PARSE_ERROR', 'git cat-file output ended inside a blob');
      const take = Math.min(need, this.buffer.length);
      const part = this.buffer.subarray(0, take);
      this.buffer = this.buffer.subarray(take);
      need -= take;
      await each(part);
    }
  }
}

/** Writes the next `size` bytes of git's output to `file`; a failed write is an IO_ERROR, never a shorter blob. */
async function spoolBlob(reader: ChunkReader, size: number, file: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'wx', 0o600); // a new file in our own mkdtemp directory
    const out = handle;
    await reader.forEachExact(size, (part) => out.writeFile(part)); // writeFile writes the whole part
  } catch (error) {
    if (isCustodyError(error)) throw error;
    throw new CustodyError('IO_ERROR', `--history: cannot spool a blob to ${file}: ${(error as Error).message}`, { cause: error });
  } finally {
    await handle?.close();
  }
}
