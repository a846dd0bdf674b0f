import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { CustodyError, isCustodyError } from '../../core/errors.js';

/**
 * The git plumbing behind `--history`, through the real `git` CLI. The repository is untrusted
 * input: every command runs with replace objects off, no pager, no signature checks, no external
 * diff or textconv drivers, and no terminal prompts, so its config cannot make us run anything.
 */
const GIT_SAFETY = ['--no-replace-objects', '--no-pager', '-c', 'log.showSignature=false', '-c', 'core.fsmonitor=false', '-c', 'diff.external=', '-c', 'core.hooksPath=/dev/null'];

function gitEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_LITERAL_PATHSPECS: '1', GIT_NO_REPLACE_OBJECTS: '1', LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0' };
}

type GitProcess = ChildProcessByStdio<Writable | null, Readable, Readable>;

/** Starts git; a failure to start (no `git` on PATH) that spawn reports at once throws a CustodyError. */
function spawnGit(cwd: string, args: readonly string[], stdin: boolean): GitProcess {
  try {
    return spawn('git', [...GIT_SAFETY, ...args], { cwd, env: gitEnv(), stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] }) as GitProcess;
  } catch (error) {
    throw spawnError(error, args);
  }
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
  const [code] = (await once(proc, 'close')) as [number | null];
  return code ?? 1;
}

function spawnError(error: unknown, args: readonly string[]): CustodyError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CustodyError('UNSUPPORTED_FORMAT', '--history needs the `git` command on PATH; install git or scan without --history', { cause: error });
  return new CustodyError('IO_ERROR', `git ${args[0] ?? ''} failed: ${(error as Error).message}`, { cause: error });
}

/** Runs a git command and returns its stdout (bounded), or its stderr when git exits non-zero. */
export async function runGit(cwd: string, args: readonly string[], maxBytes = 64 * 1024 * 1024): Promise<{ ok: true; stdout: Buffer } | { ok: false; stderr: string }> {
  const proc = spawnGit(cwd, args, false);
  const stderr = collectStderr(proc);
  const chunks: Buffer[] = [];
  let size = 0;
  const spawnFailure = once(proc, 'error').then(([error]) => {
    throw spawnError(error, args);
  });
  const reading = (async () => {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        proc.kill();
        throw new CustodyError('INPUT_LIMIT', `git ${args[0] ?? ''} printed more than ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return waitExit(proc);
  })();
  const code = await Promise.race([reading, spawnFailure]);
  return code === 0 ? { ok: true, stdout: Buffer.concat(chunks) } : { ok: false, stderr: stderr() };
}

export interface RepoInfo {
  /** Absolute top-level directory (the git directory itself for bare repositories). */
  top: string;
  /** Path of the scanned directory or file relative to the top, with a trailing `/` for directories ('' for the whole repository). */
  prefix: string;
}

/** Finds the repository that holds `dir`; throws USAGE when there is none. */
export async function locateRepo(dir: string): Promise<RepoInfo> {
  const result = await runGit(dir, ['rev-parse', '--is-bare-repository', '--show-toplevel', '--show-prefix']);
  if (!result.ok) {
    throw new CustodyError('USAGE', `--history: ${dir} is not inside a git repository (git said: ${result.stderr || 'no repository'}); scan it without --history`);
  }
  const lines = result.stdout.toString('utf8').split('\n');
  if (lines[0] === 'true') {
    const gitDir = await runGit(dir, ['rev-parse', '--absolute-git-dir']);
    if (!gitDir.ok) throw new CustodyError('IO_ERROR', `--history: cannot locate the git directory of ${dir}: ${gitDir.stderr}`);
    return { top: gitDir.stdout.toString('utf8').trim(), prefix: '' };
  }
  return { top: lines[1] ?? dir, prefix: lines[2] ?? '' };
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

/**
 * Streams every blob shown at every path in the history of all refs, newest commits first, so that
 * the blobs can be read while git is still walking. Each commit is compared with each of its parents
 * (`-m`), so content that only a merge introduced is seen too. The commit that introduced a
 * (blob, path) pair is the last one that shows it (the earliest in topological order).
 */
export async function walkHistory(top: string, pathspec: string, visitor: HistoryVisitor): Promise<void> {
  const args = ['log', '--all', '--topo-order', '--root', '-m', '--raw', '--no-abbrev', '--no-renames', '--no-ext-diff', '--no-textconv', '--no-show-signature', '-z', '--format=%x01%H%x00%an%x00%aI'];
  if (pathspec !== '') args.push('--full-history', '--', pathspec);
  const proc = spawnGit(top, args, false);
  const stderr = collectStderr(proc);
  const failed = new Promise<never>((_, reject) => proc.once('error', (error) => reject(spawnError(error, args))));
  failed.catch(() => undefined);

  // Tokens are NUL-terminated: a commit header (\x01sha, author, date), then raw entries
  // (`:oldmode newmode oldsha newsha status`, path).
  let state: 'token' | 'author' | 'date' | 'path' = 'token';
  let current: Commit | undefined;
  let pendingBlob = '';
  let rest: Buffer = Buffer.alloc(0);
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
        pendingBlob = newMode.startsWith('100') && status !== 'D' && !/^0+$/.test(newSha) ? newSha : '';
        state = 'path';
        return;
      }
    }
  };
  const reading = (async () => {
    // Tokens are cut out of the bytes before decoding, so a UTF-8 path split across chunks stays whole.
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      const bytes = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
      let start = 0;
      for (let nul = bytes.indexOf(0, start); nul !== -1; nul = bytes.indexOf(0, start)) {
        if (skip > 0) skip -= 1;
        else onToken(bytes.toString('utf8', start, nul));
        start = nul + 1;
      }
      rest = bytes.subarray(start);
    }
    return waitExit(proc);
  })();
  const code = await Promise.race([reading, failed]);
  if (code !== 0) {
    const message = stderr();
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

/** Blob ids in the tree of HEAD (any path); empty when HEAD does not resolve. */
export async function listHeadBlobs(top: string): Promise<Set<string>> {
  const result = await runGit(top, ['ls-tree', '-r', '-z', '--full-tree', 'HEAD'], 1024 * 1024 * 1024);
  const blobs = new Set<string>();
  if (!result.ok) return blobs;
  for (const line of result.stdout.toString('utf8').split('\0')) {
    // <mode> SP <type> SP <object> TAB <file>
    const tab = line.indexOf('\t');
    const [, type, object] = line.slice(0, tab).split(' ');
    if (type === 'blob' && object !== undefined) blobs.add(object);
  }
  return blobs;
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
export async function* readBlobs(top: string, shas: AsyncQueue<string>, options: ReadBlobsOptions): AsyncGenerator<BlobContent> {
  const args = ['cat-file', '--batch', '--buffer'];
  const proc = spawnGit(top, args, true);
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
        if (!stdin.write(`${batch.join('\n')}\n`)) await once(stdin, 'drain');
      }
    } finally {
      stdin.end();
    }
  })();
  feeding.catch(() => undefined);

  const reader = new ChunkReader(proc.stdout as AsyncIterable<Buffer>);
  let tempDir: string | undefined;
  try {
    for (;;) {
      const header = await reader.readLine();
      if (header === undefined) break;
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
    if (spawnFailure !== undefined) throw spawnError(spawnFailure, args);
    await feeding; // a failure of whoever fills the queue (the history walk) surfaces here
    if (code !== 0) throw new CustodyError('IO_ERROR', `--history: git cat-file failed in ${top}: ${stderr()}`);
  } finally {
    if (proc.exitCode === null) proc.kill();
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
  }
}

/** Pulls exact byte counts and lines out of an async stream of chunks. */
class ChunkReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private buffer: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(stream: AsyncIterable<Buffer>) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.iterator.next();
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
    handle = await open(file, 'w');
    const out = handle;
    await reader.forEachExact(size, (part) => out.writeFile(part)); // writeFile writes the whole part
  } catch (error) {
    if (isCustodyError(error)) throw error;
    throw new CustodyError('IO_ERROR', `--history: cannot spool a blob to ${file}: ${(error as Error).message}`, { cause: error });
  } finally {
    await handle?.close();
  }
}
