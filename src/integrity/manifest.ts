import { CustodyError } from '../core/errors.js';
import { computeRootDigest, type HashType } from './digest.js';
import { enumerateArtifact, MAX_FILES, type Enumeration } from './enumerate.js';
import { hashInParallel } from './hash-pool.js';
import type { HashUnit } from './hash-io.js';
import { compareResourceNames, formatShardName, requireIgnorePath } from './names.js';

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
  /** Relative POSIX path (`.` for a single-file model), with `:start:end` for a shard. */
  name: string;
  /** The hash type; for shards `<hash type>-sharded-<shard size>`, as model_signing writes and compares it. */
  algorithm: string;
  /** Lower-case hex. */
  digest: string;
}

export interface Manifest {
  /** The model's name: the basename of its path (informational, as in OMS). */
  name: string;
  kind: 'file' | 'directory';
  serialization: Serialization;
  /** In model_signing's order (see `compareResourceNames` for the rule and why). */
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
  /** `sha256` (default), `blake2b` or `blake3`. */
  hashType?: HashType;
  /**
   * Split files into shards of this many bytes (OMS method `shards`); absent: one digest per file.
   * Ignored for BLAKE3, as model_signing ignores it: BLAKE3 manifests are always per file.
   */
  shardSize?: number;
  /** Follow symlinks that stay inside the tree (default: refuse every symlink). */
  allowSymlinks?: boolean;
  /** Exact relative paths to leave out (recorded in the manifest). */
  ignorePaths?: readonly string[];
  /** Glob patterns to leave out; each match is recorded as an exact path. */
  ignorePatterns?: readonly string[];
  /** Threads hashing at once, this one included (0 or 1: this thread alone). Default: the cores, at most 4; this thread alone for small inputs. */
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

/** The shard size a hash type really uses: none for BLAKE3, which model_signing never shards. */
export function effectiveShardSize(hashType: HashType, shardSize: number | undefined): number | undefined {
  return hashType === 'blake3' ? undefined : shardSize;
}

/** The algorithm a resource records: the hash type, or `<hash type>-sharded-<size>` for a shard. */
export function resourceAlgorithm(hashType: HashType, shardSize: number | undefined): string {
  return shardSize === undefined ? hashType : `${hashType}-sharded-${shardSize}`;
}

/**
 * Turns listed files into hash units: one per file, or one per shard (empty files have none).
 * A single-file model's one file is named `.`, as model_signing names it (its path relative to
 * the model path).
 */
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
    const name = enumeration.kind === 'file' ? '.' : file.name;
    if (shardSize === undefined) {
      units.push({ name: file.name, path: file.absPath, start: 0, end: file.size, fileSize: file.size });
      names.push(name);
      continue;
    }
    for (let start = 0; start < file.size; start += shardSize) {
      const end = Math.min(start + shardSize, file.size);
      units.push({ name: file.name, path: file.absPath, start, end, fileSize: file.size });
      names.push(formatShardName(name, start, end));
    }
  }
  return { units, names };
}

/**
 * Hashes a model or dataset (a file or a directory) into a manifest: every regular file's digest
 * (or every shard's), with relative POSIX names, in model_signing's order, plus the root digest.
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
  const { shardSize: _requested, ...rest } = options;
  const shardSize = effectiveShardSize(hashType, options.shardSize);
  return hashEnumeration(enumeration, { ...rest, hashType, ...(shardSize === undefined ? {} : { shardSize }) });
}

/**
 * Hashes files already listed (verification lists with the signed settings, then hashes). The
 * shard size is used as given, even for BLAKE3, so older manifests with BLAKE3 shards verify.
 */
export async function hashEnumeration(enumeration: Enumeration, options: HashOptions & { hashType: HashType }): Promise<Manifest> {
  if (enumeration.files.length === 0) {
    throw new CustodyError('ARTIFACT_EMPTY', `${enumeration.root} holds no regular file to hash (after ${enumeration.ignorePaths.length} exclusions); OMS does not sign empty models`);
  }
  const shardSize = options.shardSize;
  const method = shardSize === undefined ? 'files' : 'shards';
  const { units, names } = planUnits(enumeration, shardSize);
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
  const algorithm = resourceAlgorithm(options.hashType, shardSize);
  const resources = names.map((name, i) => ({ name, algorithm, digest: digests[i] ?? '' }));
  resources.sort((a, b) => compareResourceNames(a.name, b.name, method));
  return {
    name: enumeration.modelName,
    kind: enumeration.kind,
    serialization: {
      method,
      hashType: options.hashType,
      ...(shardSize === undefined ? {} : { shardSize }),
      allowSymlinks: options.allowSymlinks === true,
      ignorePaths: enumeration.ignorePaths,
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
