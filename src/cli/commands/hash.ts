import { resolve } from 'node:path';
import { CustodyError, type ErrorCode } from '../../core/errors.js';
import { writeFileSafely } from '../../core/safe-fs.js';
import { formatBytes } from '../../report/text.js';
// Imported from their modules, not integrity/index.js: `custody hash` loads no signing code.
import { HASH_TYPES, isHashType } from '../../integrity/digest.js';
import { describeInteropLimits } from '../../integrity/interop.js';
import { hashArtifact, manifestToJson, type HashOptions, type HashProgress, type Manifest } from '../../integrity/manifest.js';
import { isIgnorePattern } from '../../integrity/names.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';
import { escapeForTerminal as e } from '../../core/terminal.js';

export const HASH_OPTIONS_HELP = `  --hash-type TYPE      ${HASH_TYPES.join(' | ')} (default: sha256)
  --shard-size BYTES    Split files into shards of BYTES (OMS method "shards"; suffixes K M G = 10^3,
                        Ki Mi Gi = 2^10…; the OMS default is 1G); default: one digest per file.
                        Ignored with blake3, which is never sharded (as in model_signing)
  --allow-symlinks      Follow symbolic links that stay inside the tree (default: refuse them)
  --ignore PATH|GLOB    Leave out a path relative to the model root (with its subtree), or every path
                        matching a glob; repeatable. .git, .github, .gitignore, .gitattributes are
                        always left out. Exclusions are recorded as exact paths.
  --jobs N              Threads hashing at once, this one included (default: the cores, at most
                        4; 0 or 1: this thread alone)`;

/** Options shared by hash and sign. */
export const HASH_ARG_OPTIONS = {
  'hash-type': { type: 'string' },
  'shard-size': { type: 'string' },
  'allow-symlinks': { type: 'boolean', default: false },
  ignore: { type: 'string', multiple: true },
  jobs: { type: 'string' },
} as const;

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12, KI: 2 ** 10, MI: 2 ** 20, GI: 2 ** 30, TI: 2 ** 40 };

export function parseShardSize(command: string, value: string): number {
  const m = /^(\d+)\s*([KMGT]i?)?B?$/i.exec(value.trim());
  const unit = SIZE_UNITS[(m?.[2] ?? '').toUpperCase()];
  const bytes = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new CustodyError('USAGE', `${command}: --shard-size must be a positive number of bytes such as 1000000000, 1G or 512Mi, found "${value}"`);
  return bytes;
}

export function parseJobs(command: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const jobs = Number(value);
  if (!Number.isInteger(jobs) || jobs < 0 || jobs > 64) throw new CustodyError('USAGE', `${command}: --jobs must be an integer from 0 to 64, found "${value}"`);
  return jobs;
}

interface HashArgValues {
  'hash-type'?: string | undefined;
  'shard-size'?: string | undefined;
  'allow-symlinks'?: boolean | undefined;
  ignore?: string[] | undefined;
  jobs?: string | undefined;
}

/** Turns parsed hash options into HashOptions (without progress). */
export function hashOptionsFrom(command: string, values: HashArgValues): HashOptions {
  const hashType = values['hash-type'] ?? 'sha256';
  if (!isHashType(hashType)) throw new CustodyError('USAGE', `${command}: --hash-type must be one of ${HASH_TYPES.join(', ')}, found "${hashType}"`);
  const ignore = values.ignore ?? [];
  const jobs = parseJobs(command, values.jobs);
  return {
    hashType,
    ...(values['shard-size'] === undefined ? {} : { shardSize: parseShardSize(command, values['shard-size']) }),
    allowSymlinks: values['allow-symlinks'] === true,
    ignorePaths: ignore.filter((p) => !isIgnorePattern(p)),
    ignorePatterns: ignore.filter((p) => isIgnorePattern(p)),
    ...(jobs === undefined ? {} : { jobs }),
  };
}

/** Prints, as warnings on stderr, what would keep model_signing from verifying this manifest. */
export function warnInteropLimits(command: string, io: CliIo, manifest: Manifest, requested: { shardSize?: number | undefined; keyAlgorithm?: string }): void {
  const notes = describeInteropLimits(manifest, {
    ...(requested.shardSize === undefined ? {} : { shardSize: requested.shardSize }),
    ...(requested.keyAlgorithm === undefined ? {} : { keyAlgorithm: requested.keyAlgorithm }),
  });
  for (const note of notes) io.stderr.write(`custody ${command}: warning: ${note}\n`);
}

/** Shows a progress bar on a terminal's stderr for inputs worth waiting on (64 MiB or more). */
export function progressBar(io: CliIo, label: string): { onProgress?: (p: HashProgress) => void; done: () => void } {
  if (!io.stderrIsTTY) return { done: () => undefined };
  let last = 0;
  let shown = false;
  return {
    onProgress(p) {
      const now = Date.now();
      if (p.bytesTotal < 64 * 1024 * 1024 || (now - last < 100 && p.bytesDone < p.bytesTotal)) return;
      last = now;
      shown = true;
      const fraction = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 1;
      const width = 30;
      const filled = Math.round(fraction * width);
      io.stderr.write(`\r\x1b[2K${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(fraction * 100)}% ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}`);
    },
    done() {
      if (shown) io.stderr.write('\r\x1b[2K');
    },
  };
}

/**
 * Writes an output the user named (manifest, signature, attestation): whole or not at all, never
 * through a symbolic link planted at that name (SYMLINK_REFUSED), never into a FIFO or device
 * (SPECIAL_FILE); a file it replaces keeps its mode.
 */
export async function writeOutputFile(command: string, io: CliIo, file: string, text: string, mode?: number): Promise<void> {
  try {
    await writeFileSafely(resolve(io.cwd, file), text, mode === undefined ? {} : { mode });
  } catch (error) {
    if (error instanceof CustodyError) throw new CustodyError(error.code, `${command}: ${error.message}`, { cause: error, ...(error.details ? { details: error.details } : {}) });
    throw error;
  }
}

/** Codes that mean "verified and found wrong" (exit 1), as opposed to "could not run" (exit 2). */
export const VERIFICATION_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'DIGEST_MISMATCH',
  'MANIFEST_MISMATCH',
  'SIGNATURE_INVALID',
  'KEY_UNTRUSTED',
  'BUNDLE_INVALID',
  'SYMLINK_REFUSED',
  'SUBJECT_MISMATCH',
]);

const USAGE = `Usage: custody hash PATH [options]

Hashes a model or dataset (a file or a directory) into a manifest: every regular file's digest
(or every shard's), relative POSIX names (a single file is named "."), listed in the order
model_signing writes, and the root digest over them: the same root digest model_signing computes
for the same files and options.

Options:
  --format FORMAT       json | text (default: json; text is "<digest>  <name>" lines)
  --output FILE         Write the manifest to FILE instead of standard output
${HASH_OPTIONS_HELP}
  -h, --help            Show this help

Exit codes: 0 hashed, 2 the tool could not run (e.g. SYMLINK_REFUSED, PATH_NOT_FOUND, ARTIFACT_EMPTY).
`;

export const hashCommand: Command = {
  name: 'hash',
  summary: 'Hash a model or dataset into a manifest (SHA-256, BLAKE2b or BLAKE3, per file or shard)',
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('hash', args, { ...HASH_ARG_OPTIONS, format: { type: 'string', default: 'json' }, output: { type: 'string' } });
    if (positionals.length !== 1) throw new CustodyError('USAGE', 'hash: give exactly one PATH (a file or a directory; see `custody hash --help`)');
    if (values.format !== 'json' && values.format !== 'text') throw new CustodyError('USAGE', `hash: --format must be json or text, found "${values.format}"`);
    const options = hashOptionsFrom('hash', values);
    const progress = progressBar(io, 'hashing');
    let manifest;
    try {
      manifest = await hashArtifact(resolve(io.cwd, positionals[0] ?? ''), { ...options, ...(progress.onProgress ? { onProgress: progress.onProgress } : {}) });
    } finally {
      progress.done();
    }
    warnInteropLimits('hash', io, manifest, { shardSize: options.shardSize });
    const text =
      values.format === 'json'
        ? `${JSON.stringify(manifestToJson(manifest), null, 2)}\n`
        : `# ${e(manifest.name)}: root sha256:${manifest.rootDigest} (${manifest.files} files, ${formatBytes(manifest.bytes)}, ${manifest.serialization.method}/${manifest.serialization.hashType})\n${manifest.resources.map((r) => `${r.digest}  ${e(r.name)}\n`).join('')}`;
    if (values.output !== undefined) await writeOutputFile('hash', io, values.output, text);
    else io.stdout.write(text);
    return EXIT.ok;
  },
};
