import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants, type Dirent } from 'node:fs';
import { access, lstat, opendir, realpath, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, relative, resolve } from 'node:path';
import { CustodyError } from '../../core/errors.js';
import { readRegularFile } from '../../core/safe-fs.js';

/**
 * How Custody runs `git` on a repository it does not trust (docs/history.md, "Reading git history
 * safely"). The repository's configuration, hooks and object store are attacker-controlled input:
 * nothing in them may make git run a program, contact a remote, block, or hide history.
 *
 * Three layers, each sufficient for what it covers:
 * 1. the environment: the caller's GIT_* variables are dropped (GIT_DIR, GIT_CONFIG_*, GIT_SSH,
 *    GIT_EXTERNAL_DIFF… would otherwise point git elsewhere or run helpers); system and global config
 *    are not read; lazy fetching is off (GIT_NO_LAZY_FETCH) and no transport is allowed
 *    (GIT_ALLOW_PROTOCOL names none: it overrides every `protocol.*.allow` a repository sets);
 * 2. command-line configuration, which outranks every config file: each key that runs a program,
 *    reads a file outside the object store, or changes what history git shows is pinned;
 * 3. the git directory is checked before git reads it: a FIFO, socket or device anywhere in it (or in
 *    an alternate object store) is refused, and every git process is supervised for time and memory.
 */

/** Transports git knows by name; each is pinned to `never` (GIT_ALLOW_PROTOCOL already refuses them all). */
const PROTOCOLS = ['file', 'git', 'ssh', 'http', 'https', 'ftp', 'ftps', 'ext', 'fd'] as const;

/** A value no URL scheme can name (`_` is not a scheme character), so GIT_ALLOW_PROTOCOL allows nothing. */
const NO_PROTOCOL = 'custody_allows_no_protocol';

/**
 * `-c` settings for every git command. Command-line configuration outranks the repository's own.
 * Each line says what it closes.
 */
export const GIT_CONFIG_OVERRIDES: readonly string[] = [
  // Transports (a lazy fetch, a submodule): none, whatever protocol.<name>.allow the repository sets.
  'protocol.allow=never',
  ...PROTOCOLS.map((p) => `protocol.${p}.allow=never`),
  'credential.helper=', // an empty value empties the helper list
  'fetch.recurseSubmodules=false',
  'submodule.recurse=false',
  // Programs git runs on its own: fsmonitor daemon or hook, hooks, pager, signature checks (gpg.program).
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'core.pager=cat',
  'log.showSignature=false',
  'diff.external=',
  'gc.auto=0',
  'maintenance.auto=false',
  // Files named by configuration that git would read (a FIFO there blocks git, /dev/zero never ends).
  'diff.orderFile=/dev/null',
  'log.mailmap=false',
  'mailmap.file=/dev/null',
  'core.attributesFile=/dev/null',
  // What history git shows: every parent of a merge, every commit, parsable output.
  'core.commitGraph=false', // a planted commit-graph could drop parents and hide commits
  'log.diffMerges=separate',
  'log.follow=false',
  'log.showRoot=true',
  'color.ui=false',
  'i18n.logOutputEncoding=UTF-8',
  'core.quotePath=false',
  // Memory: pack windows mapped at once (file-backed, but counted in git's resident set).
  'core.packedGitWindowSize=32m',
  'core.packedGitLimit=256m',
];

/** Global options before the subcommand. */
export const GIT_GLOBAL_OPTIONS: readonly string[] = ['--no-replace-objects', '--no-pager', '--literal-pathspecs'];

/**
 * The environment for git: the caller's, without any GIT_* variable (and without relative PATH
 * entries, which would resolve inside the repository), plus the settings above that only an
 * environment variable can make.
 */
export function hardenedGitEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (!/^GIT_/i.test(key) && value !== undefined) env[key] = value;
  }
  env['PATH'] = absolutePathEntries(base['PATH']).join(delimiter);
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_NO_LAZY_FETCH: '1',
    GIT_ALLOW_PROTOCOL: NO_PROTOCOL,
    GIT_PROTOCOL_FROM_USER: '0',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_GRAFT_FILE: '/dev/null', // info/grafts could cut parents and hide commits
    GIT_LITERAL_PATHSPECS: '1',
    GIT_OPTIONAL_LOCKS: '0',
    LC_ALL: 'C',
  };
}

function absolutePathEntries(path: string | undefined): string[] {
  return (path ?? '').split(delimiter).filter((entry) => entry !== '' && isAbsolute(entry));
}

/**
 * The `git` executable as an absolute path, found on PATH ignoring relative entries: spawning plain
 * `git` with the repository as working directory would run a `git` the repository ships when PATH
 * holds `.` or an empty entry.
 */
export async function findGitExecutable(base: NodeJS.ProcessEnv = process.env): Promise<string> {
  for (const dir of absolutePathEntries(base['PATH'])) {
    const candidate = join(dir, 'git');
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  throw new CustodyError('UNSUPPORTED_FORMAT', '--history needs the `git` command on PATH (an absolute PATH entry); install git or scan without --history');
}

let callerSafeDirectories: Promise<string[]> | undefined;

/**
 * `safe.directory` entries from the caller's own global and system git configuration, handed to git
 * on the command line (the only config it reads besides the repository's): the user's decision to
 * trust a repository owned by someone else still holds, while nothing else from those files applies.
 */
export function readCallerSafeDirectories(git: string): Promise<string[]> {
  callerSafeDirectories ??= (async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
    delete env['GIT_DIR'];
    delete env['GIT_CONFIG_PARAMETERS'];
    delete env['GIT_CONFIG_COUNT'];
    const entries: string[] = [];
    for (const scope of ['--system', '--global']) {
      const child = spawn(git, ['config', scope, '--get-all', 'safe.directory'], { cwd: tmpdir(), env, stdio: ['ignore', 'pipe', 'ignore'] });
      child.on('error', () => undefined);
      const chunks: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunks.length < 1024) chunks.push(chunk);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        const [code] = (await once(child, 'close')) as [number | null];
        if (code === 0) entries.push(...Buffer.concat(chunks).toString('utf8').split('\n').filter((line) => line !== ''));
      } catch {
        // no git config to read: no entries
      } finally {
        clearTimeout(timer);
      }
    }
    return entries;
  })();
  return callerSafeDirectories;
}

/** Alternate object stores nest at most this deep in git; deeper ones it ignores. */
const MAX_ALTERNATE_DEPTH = 5;
/** An `objects/info/alternates` file larger than this is not a list of directories. */
const MAX_ALTERNATES_BYTES = 1024 * 1024;

/**
 * Checks everything git may read in a repository before it reads it: every entry of the git
 * directory (and of the common directory, and of each alternate object store, recursively) must be a
 * directory, a regular file, or a symbolic link to one of those. A FIFO would block git (Custody
 * would hang), a device such as /dev/zero would be read without end, a socket is not data: each is
 * refused with SPECIAL_FILE before git starts.
 */
export async function checkGitDirectories(dirs: readonly string[]): Promise<void> {
  const seen = new Set<string>();
  const objectStores: { dir: string; depth: number }[] = [];
  for (const dir of dirs) {
    await walkChecked(dir, dir, seen);
    objectStores.push({ dir: join(dir, 'objects'), depth: 0 });
  }
  const storesSeen = new Set<string>();
  while (objectStores.length > 0) {
    const { dir, depth } = objectStores.shift() as { dir: string; depth: number };
    const real = await realpath(dir).catch(() => undefined);
    if (real === undefined || storesSeen.has(real)) continue;
    storesSeen.add(real);
    if (depth > 0) await walkChecked(dir, dir, seen);
    if (depth >= MAX_ALTERNATE_DEPTH) continue;
    for (const alternate of await readAlternates(dir)) objectStores.push({ dir: alternate, depth: depth + 1 });
  }
}

async function readAlternates(objectDir: string): Promise<string[]> {
  const file = join(objectDir, 'info', 'alternates');
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, { maxBytes: MAX_ALTERNATES_BYTES });
  } catch (error) {
    if (error instanceof CustodyError && error.code === 'PATH_NOT_FOUND') return [];
    if (error instanceof CustodyError) throw new CustodyError(error.code, `--history: the repository's list of alternate object stores cannot be read safely: ${error.message}`, { cause: error });
    throw error;
  }
  const out: string[] = [];
  for (const raw of bytes.toString('utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const path = line.startsWith('"') ? unquoteC(line) : line;
    if (path === undefined) continue;
    const absolute = resolve(objectDir, path);
    const info = await stat(absolute).catch(() => undefined);
    if (info?.isDirectory()) out.push(absolute); // git ignores (with a warning) an alternate that is not a directory
  }
  return out;
}

/** git's C-style quoting of a path in the alternates file. */
function unquoteC(text: string): string | undefined {
  try {
    return JSON.parse(text.replace(/\\([0-7]{3})/g, (_, octal: string) => `\\u00${parseInt(octal, 8).toString(16).padStart(2, '0')}`)) as string;
  } catch {
    return undefined;
  }
}

async function walkChecked(root: string, dir: string, seen: Set<string>): Promise<void> {
  const real = await realpath(dir).catch(() => dir);
  if (seen.has(real)) return;
  seen.add(real);
  let handle;
  try {
    handle = await opendir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw new CustodyError('IO_ERROR', `--history: cannot read the git directory ${dir}: ${code ?? (error as Error).message}`, { cause: error });
  }
  const subdirs: string[] = [];
  for await (const entry of handle as AsyncIterable<Dirent>) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) subdirs.push(path);
    else if (entry.isFile()) continue;
    else if (entry.isSymbolicLink()) {
      const target = await stat(path).catch(() => undefined);
      if (target === undefined || target.isFile()) continue; // a dangling link is a missing file to git
      if (target.isDirectory()) subdirs.push(path);
      else throw refuse(root, path, `a symbolic link to ${describe(target)}`);
    } else {
      const info = await lstat(path).catch(() => undefined);
      if (info === undefined || info.isFile() || info.isDirectory()) continue; // changed under us: a type the OS reported lazily
      throw refuse(root, path, describe(info));
    }
  }
  for (const sub of subdirs) await walkChecked(root, sub, seen);
}

function refuse(root: string, path: string, what: string): CustodyError {
  const shown = relative(root, path) || path;
  return new CustodyError('SPECIAL_FILE', `--history: ${shown} in the git directory ${root} is ${what}; git would block on it or read it without end, so this history is not read`, {
    details: { path: shown },
  });
}

function describe(info: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}
