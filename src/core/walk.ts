import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import picomatch from 'picomatch';
import { CustodyError } from './errors.js';

export interface WalkedFile {
  /** The root as given joined with the relative path, POSIX separators. */
  displayPath: string;
  absPath: string;
  size: number;
}

export interface WalkOptions {
  /** Globs matched against the path relative to each root (and against the display path). */
  exclude?: readonly string[];
  /** Honour .gitignore files (default true). Files named directly are always scanned. */
  gitignore?: boolean;
}

interface IgnoreLayer {
  dir: string;
  matcher: Ignore;
}

const ALWAYS_SKIPPED_DIRS = new Set(['.git', '.hg', '.svn']);

export function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

export function joinDisplay(root: string, rel: string): string {
  const r = toPosix(root).replace(/\/+$/, '');
  if (r === '' || r === '.') return rel;
  return `${r}/${rel}`;
}

/** Walks files under each root in a stable (sorted) order; symlinks are not followed. */
export async function* walkFiles(roots: readonly string[], options: WalkOptions = {}): AsyncGenerator<WalkedFile> {
  const excludes = (options.exclude ?? []).map((g) => picomatch(g, { dot: true }));
  const excluded = (rel: string, display: string): boolean => excludes.some((m) => m(rel) || m(display));
  const useGitignore = options.gitignore !== false;

  for (const root of roots) {
    let stat;
    try {
      stat = await lstat(root);
    } catch (error) {
      throw new CustodyError('PATH_NOT_FOUND', `cannot scan ${root}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
    if (stat.isFile()) {
      yield { displayPath: toPosix(root), absPath: root, size: stat.size };
      continue;
    }
    if (!stat.isDirectory()) continue;
    yield* walkDir(root, root, [], excluded, useGitignore);
  }
}

async function* walkDir(
  root: string,
  dir: string,
  layers: IgnoreLayer[],
  excluded: (rel: string, display: string) => boolean,
  useGitignore: boolean,
): AsyncGenerator<WalkedFile> {
  let current = layers;
  if (useGitignore) {
    const text = await readFile(join(dir, '.gitignore'), 'utf8').catch(() => undefined);
    if (text !== undefined) current = [...layers, { dir, matcher: ignore().add(text) }];
  }
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new CustodyError('IO_ERROR', `cannot list ${dir}: ${(error as Error).message}`, { cause: error });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const abs = join(dir, entry.name);
    const rel = toPosix(relative(root, abs));
    const display = joinDisplay(root, rel);
    const isDir = entry.isDirectory();
    if (isDir && ALWAYS_SKIPPED_DIRS.has(entry.name)) continue;
    if (excluded(rel, display) || (isDir && excluded(`${rel}/`, `${display}/`))) continue;
    if (current.some((layer) => isIgnored(layer, abs, isDir))) continue;
    if (isDir) yield* walkDir(root, abs, current, excluded, useGitignore);
    else if (entry.isFile()) {
      const stat = await lstat(abs).catch(() => undefined);
      if (stat) yield { displayPath: display, absPath: abs, size: stat.size };
    }
  }
}

function isIgnored(layer: IgnoreLayer, abs: string, isDir: boolean): boolean {
  const rel = toPosix(relative(layer.dir, abs));
  if (rel === '' || rel.startsWith('..')) return false;
  return layer.matcher.ignores(isDir ? `${rel}/` : rel);
}
