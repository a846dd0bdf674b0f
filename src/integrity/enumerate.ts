import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { CustodyError } from '../core/errors.js';
import { compareNames, isUnder } from './names.js';

/** Excluded at the model root by default (OMS v1.0 §6.2), and recorded in `ignore_paths`. */
export const DEFAULT_IGNORE_PATHS: readonly string[] = ['.git', '.gitattributes', '.github', '.gitignore'];

/** Bounds on a walk, so that a hostile tree ends in an error, never a hang. */
export const MAX_FILES = 2_000_000;
export const MAX_DEPTH = 256;

export interface ArtifactFile {
  /** Canonical name: relative POSIX path from the root (the basename for a single file). */
  name: string;
  absPath: string;
  size: number;
}

export interface EnumerateOptions {
  /** Follow symbolic links that stay inside the tree (default false: refuse every symlink). */
  allowSymlinks?: boolean;
  /** Exact relative paths (and their subtrees) to leave out, already normalised. */
  ignorePaths?: readonly string[];
  /** Glob patterns matched against relative paths; what they match is recorded as exact paths. */
  ignorePatterns?: readonly string[];
  /** Default exclusions not to apply (verifying a signature that signed what lies under them). */
  keepDefaults?: readonly string[];
}

export interface Enumeration {
  kind: 'file' | 'directory';
  /** Absolute path of the root as given (not resolved through symlinks). */
  root: string;
  /** Basename of the model path (OMS subject name). */
  modelName: string;
  /** Regular files, sorted by name (code point order). */
  files: ArtifactFile[];
  /** Every exclusion in effect, as exact relative paths: defaults, given paths, pattern matches. */
  ignorePaths: string[];
}

function refuse(message: string, path: string): CustodyError {
  return new CustodyError('SYMLINK_REFUSED', message, { details: { path } });
}

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel));
}

function checkName(name: string, rel: string): void {
  if (name.includes('\uFFFD')) {
    throw new CustodyError('UNSUPPORTED_FORMAT', `the name of ${rel} is not valid UTF-8, so it cannot be recorded losslessly in a manifest (OMS §6.1.2); rename it`, { details: { path: rel } });
  }
}

/**
 * Lists the regular files of a model: a single file, or every file under a directory, sorted by
 * code point. Symbolic links are refused (SYMLINK_REFUSED) unless `allowSymlinks`, and even then
 * only links to files inside the tree are followed; a link keeps its own name. Links to
 * directories are refused whatever the policy (see docs/integrity.md).
 * Special files (FIFOs, sockets, devices) are refused: reading them could block forever.
 */
export async function enumerateArtifact(path: string, options: EnumerateOptions = {}): Promise<Enumeration> {
  const root = resolve(path);
  const allowSymlinks = options.allowSymlinks === true;
  let info;
  try {
    info = await lstat(root);
  } catch (error) {
    throw new CustodyError('PATH_NOT_FOUND', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  if (info.isSymbolicLink()) {
    if (!allowSymlinks) throw refuse(`${path} is a symbolic link; pass its target, or allow symlinks`, path);
    info = await stat(root).catch((error: unknown) => {
      throw refuse(`${path} is a dangling symbolic link: ${(error as Error).message}`, path);
    });
  }
  const modelName = basename(root);
  // Recorded for a single file too, as model_signing records them (nothing is left out of a file).
  const defaults = DEFAULT_IGNORE_PATHS.filter((p) => !(options.keepDefaults ?? []).includes(p));
  const ignorePaths = [...new Set([...defaults, ...(options.ignorePaths ?? [])])];
  if (info.isFile()) {
    checkName(modelName, modelName);
    return { kind: 'file', root, modelName, files: [{ name: modelName, absPath: root, size: info.size }], ignorePaths };
  }
  if (!info.isDirectory()) throw new CustodyError('UNSUPPORTED_FORMAT', `${path} is neither a regular file nor a directory`);

  const patterns = options.ignorePatterns ?? [];
  // Loaded only when patterns are given: most runs have none, and start-up time counts.
  const picomatch = patterns.length > 0 ? (await import('picomatch')).default : undefined;
  const matchers = picomatch ? patterns.map((p) => picomatch(p, { dot: true })) : [];
  const matched = new Set<string>();
  const files: ArtifactFile[] = [];
  const realRoot = await realpath(root);

  const ignored = (rel: string): boolean => {
    if (ignorePaths.some((p) => isUnder(rel, p))) return true;
    if (matchers.some((m) => m(rel))) {
      matched.add(rel);
      return true;
    }
    return false;
  };

  const walk = async (dir: string, prefix: string, ancestors: readonly string[]): Promise<void> => {
    if (ancestors.length > MAX_DEPTH) throw new CustodyError('INPUT_LIMIT', `${prefix} is nested more than ${MAX_DEPTH} directories deep`);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      throw new CustodyError('IO_ERROR', `cannot list ${prefix || path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
    const plain: ArtifactFile[] = [];
    for (const entry of entries) {
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (ignored(rel)) continue;
      checkName(entry.name, rel);
      const abs = join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        if (!allowSymlinks) throw refuse(`${rel} is a symbolic link; symlinks are refused unless allowed (--allow-symlinks)`, rel);
        let target: string;
        try {
          target = await realpath(abs);
        } catch (error) {
          throw refuse(`${rel} is a dangling or unreadable symbolic link: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, rel);
        }
        if (!inside(realRoot, target)) throw refuse(`${rel} points outside the tree; only links inside it are followed`, rel);
        const targetInfo = await stat(abs).catch((error: unknown) => {
          throw refuse(`${rel} is a symbolic link whose target cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, rel);
        });
        if (targetInfo.isDirectory()) {
          // model_signing neither follows nor records a link to a directory, so what it points to
          // would be left out of its manifest, and a link added later would go unnoticed. Refuse.
          throw refuse(`${rel} is a symbolic link to a directory; only links to files are followed (model_signing skips linked directories, which would leave their content unsigned)`, rel);
        } else if (targetInfo.isFile()) files.push({ name: rel, absPath: abs, size: targetInfo.size });
        else throw new CustodyError('UNSUPPORTED_FORMAT', `${rel} links to something that is neither a regular file nor a directory`, { details: { path: rel } });
      } else if (entry.isDirectory()) {
        await walk(abs, rel, [...ancestors, join(ancestors[ancestors.length - 1] ?? realRoot, entry.name)]);
      } else if (entry.isFile()) {
        plain.push({ name: rel, absPath: abs, size: 0 });
      } else {
        throw new CustodyError('UNSUPPORTED_FORMAT', `${rel} is a special file (FIFO, socket or device), not a regular file; ignore it or remove it`, { details: { path: rel } });
      }
      if (files.length + plain.length > MAX_FILES) throw new CustodyError('INPUT_LIMIT', `${path} holds more than ${MAX_FILES} files`);
    }
    // Sizes of this directory's files, read together (no promise is left behind by an earlier throw).
    await Promise.all(
      plain.map(async (file) => {
        try {
          file.size = (await lstat(file.absPath)).size;
        } catch (error) {
          throw new CustodyError('IO_ERROR', `cannot read ${file.name}: ${(error as Error).message}`, { cause: error });
        }
      }),
    );
    files.push(...plain);
  };
  await walk(root, '', [realRoot]);

  files.sort((a, b) => compareNames(a.name, b.name));
  return { kind: 'directory', root, modelName, files, ignorePaths: [...ignorePaths, ...[...matched].sort(compareNames)] };
}
