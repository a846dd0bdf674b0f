import { CustodyError } from '../core/errors.js';
import { computeRootDigest, type HashType } from './digest.js';
import { enumerateArtifact, MAX_FILES, type Enumeration } from './enumerate.js';
import { hashInParallel } from './hash-pool.js';
import type { HashUnit } from './hash-io.js';
import { compareNames, formatShardName, requireIgnorePath } from './names.js';

/** How a model was turned into resources; the camelCase twin of the OMS `serialization` object. */
export interface Serialization {
  method: 'files' | 'shards';
  hashType: HashType;
  /** Bytes per shard, for method `shards`. */
  shardSize?: number;
  allowSymlinks: boolean;
  /** Exact relative paths left out (defaults, given paths, pattern matches, the signature file). */
  ignorePaths: string[];
}

/** One OMS resource descriptor: a file, or a `path:start:end` shard of one. */
export interface Resource {
  name: string;
  algorithm: string;
  /** Lower-case hex. */
  digest: string;
}

export interface Manifest {
  /** The model's name: the basename of its path (informational, as in OMS). */
  name: string;
  kind: 'file' | 'directory';
  serialization: Serialization;
  /** Sorted by name in code point order (see names.ts for the rule and why). */
  resources: Resource[];
  /** SHA-256 over the resource digests in order: the OMS subject digest. */
  rootDigest: string;
  files: number;
  bytes: number;
}

export interface HashProgress {
  bytesDone: number;
  bytesTotal: number;
  files: number;
}

export interface HashOptions {
  /** `sha256` (default) or `blake3`. */
  hashType?: HashType;
  /** Split files into shards of this many bytes (OMS method `shards`); absent: one digest per file. */
  shardSize?: number;
  /** Follow symlinks that stay inside the tree (default: refuse every symlink). */
  allowSymlinks?: boolean;
  /** Exact relative paths to leave out (recorded in the manifest). */
  ignorePaths?: readonly string[];
  /** Glob patterns to leave out; each match is recorded as an exact path. */
  ignorePatterns?: readonly string[];
  /** Worker threads (0: hash in this thread). Default: the cores, at most 4; inline for small inputs. */
  jobs?: number;
  onProgress?: (progress: HashProgress) => void;
}

export const DEFAULT_SHARD_SIZE = 1_000_000_000;
/** Resources in one manifest at most (as many as files in a walk): tiny shards of a large model would otherwise make an array without bound. */
const MAX_RESOURCES = MAX_FILES;

function checkShardSize(value: number | undefined): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
    throw new CustodyError('USAGE', `shard size must be a positive integer number of bytes, found ${String(value)}`);
  }
}

/** Turns listed files into hash units: one per file, or one per shard (empty files have none). */
function planUnits(enumeration: Enumeration, shardSize: number | undefined): { units: HashUnit[]; names: string[] } {
  if (shardSize !== undefined) {
    const count = enumeration.files.reduce((sum, f) => sum + Math.ceil(f.size / shardSize), 0);
    if (count > MAX_RESOURCES) {
      throw new CustodyError('INPUT_LIMIT', `${enumeration.root} would make ${count} shards of ${shardSize} bytes, over the limit of ${MAX_RESOURCES} resources; use a larger shard size`);
    }
  }
  const units: HashUnit[] = [];
  const names: string[] = [];
  for (const file of enumeration.files) {
    if (shardSize === undefined) {
      units.push({ name: file.name, path: file.absPath, start: 0, end: file.size, fileSize: file.size });
      names.push(file.name);
      continue;
    }
    for (let start = 0; start < file.size; start += shardSize) {
      const end = Math.min(start + shardSize, file.size);
      units.push({ name: file.name, path: file.absPath, start, end, fileSize: file.size });
      names.push(formatShardName(file.name, start, end));
    }
  }
  return { units, names };
}

/**
 * Hashes a model or dataset (a file or a directory) into a manifest: every regular file's digest
 * (or every shard's), with relative POSIX names, in the OMS canonical order, plus the root digest.
 * Throws SYMLINK_REFUSED, PATH_NOT_FOUND, IO_ERROR, ARTIFACT_EMPTY, INPUT_LIMIT as coded errors.
 */
export async function hashArtifact(path: string, options: HashOptions = {}): Promise<Manifest> {
  const hashType = options.hashType ?? 'sha256';
  checkShardSize(options.shardSize);
  const ignorePaths = (options.ignorePaths ?? []).map((p) => requireIgnorePath(p, 'USAGE'));
  const enumeration = await enumerateArtifact(path, {
    allowSymlinks: options.allowSymlinks === true,
    ignorePaths,
    ...(options.ignorePatterns ? { ignorePatterns: options.ignorePatterns } : {}),
  });
  return hashEnumeration(enumeration, { ...options, hashType });
}

/** Hashes files already listed (verification lists with the signed settings, then hashes). */
export async function hashEnumeration(enumeration: Enumeration, options: HashOptions & { hashType: HashType }): Promise<Manifest> {
  if (enumeration.files.length === 0) {
    throw new CustodyError('ARTIFACT_EMPTY', `${enumeration.root} holds no regular file to hash (after ${enumeration.ignorePaths.length} exclusions); OMS does not sign empty models`);
  }
  const { units, names } = planUnits(enumeration, options.shardSize);
  const bytesTotal = enumeration.files.reduce((sum, f) => sum + f.size, 0);
  const progress: HashProgress = { bytesDone: 0, bytesTotal, files: enumeration.files.length };
  const digests = await hashInParallel(units, {
    hashType: options.hashType,
    noFollow: options.allowSymlinks !== true,
    ...(options.jobs === undefined ? {} : { jobs: options.jobs }),
    ...(options.onProgress
      ? {
          onBytes: (n: number) => {
            progress.bytesDone += n;
            options.onProgress?.(progress);
          },
        }
      : {}),
  });
  const resources = names.map((name, i) => ({ name, algorithm: options.hashType, digest: digests[i] ?? '' }));
  resources.sort((a, b) => compareNames(a.name, b.name));
  return {
    name: enumeration.modelName,
    kind: enumeration.kind,
    serialization: {
      method: options.shardSize === undefined ? 'files' : 'shards',
      hashType: options.hashType,
      ...(options.shardSize === undefined ? {} : { shardSize: options.shardSize }),
      allowSymlinks: options.allowSymlinks === true,
      ignorePaths: enumeration.kind === 'file' ? [] : enumeration.ignorePaths,
    },
    resources,
    rootDigest: computeRootDigest(resources.map((r) => r.digest)),
    files: enumeration.files.length,
    bytes: bytesTotal,
  };
}

/** The manifest as `custody hash` prints it (JSON): OMS field names for the serialization. */
export function manifestToJson(manifest: Manifest): Record<string, unknown> {
  return {
    name: manifest.name,
    digest: { sha256: manifest.rootDigest },
    serialization: toOmsSerialization(manifest.serialization),
    resources: manifest.resources.map((r) => ({ name: r.name, algorithm: r.algorithm, digest: r.digest })),
    summary: { files: manifest.files, bytes: manifest.bytes, resources: manifest.resources.length },
  };
}

/** The OMS wire form of a serialization (snake_case; `shard_size` only for shards). */
export function toOmsSerialization(s: Serialization): Record<string, unknown> {
  return {
    method: s.method,
    hash_type: s.hashType,
    ...(s.method === 'shards' ? { shard_size: s.shardSize } : {}),
    allow_symlinks: s.allowSymlinks,
    ...(s.ignorePaths.length > 0 ? { ignore_paths: s.ignorePaths } : {}),
  };
}
