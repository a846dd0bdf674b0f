import { CustodyError } from '../core/errors.js';
import { openRegularFile } from '../core/safe-fs.js';
import { enumerateArtifact, type ArtifactFile } from '../integrity/index.js';

/** The formats the data engine reads, with one semantics (see docs/data.md). */
export const DATA_FORMATS = ['csv', 'jsonl', 'parquet'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

export interface DataPart {
  /** Name relative to the dataset root (the basename for a single file). */
  name: string;
  absPath: string;
  size: number;
  compressed: boolean;
}

export interface DataSource {
  /** The path as given. */
  path: string;
  /** Absolute path. */
  root: string;
  kind: 'file' | 'directory';
  format: DataFormat;
  /** Data files, sorted by name (code point order): read in this order. */
  parts: DataPart[];
  /** Files of a directory that are not data parts (README, _SUCCESS, checksums): listed, not read. */
  skipped: string[];
}

const EXTENSIONS: readonly [RegExp, DataFormat, boolean][] = [
  [/\.(csv|tsv)$/i, 'csv', false],
  [/\.(csv|tsv)\.(gz|zst)$/i, 'csv', true],
  [/\.(jsonl|ndjson)$/i, 'jsonl', false],
  [/\.(jsonl|ndjson)\.(gz|zst)$/i, 'jsonl', true],
  [/\.parquet$/i, 'parquet', false],
];

export function formatOfName(name: string): { format: DataFormat; compressed: boolean } | undefined {
  for (const [pattern, format, compressed] of EXTENSIONS) if (pattern.test(name)) return { format, compressed };
  return undefined;
}

/** DuckDB expands these in file names; a part named with them could make it read other files. */
const GLOB_CHARS = /[*?[\]{}]/;
const HEAD_BYTES = 64 * 1024;
const PARQUET_MAGIC = Buffer.from('PAR1');

/**
 * Resolves a dataset path: one data file, or a directory of parts of one format (files with other
 * names are listed as skipped). Symbolic links are refused, special files are refused, and each
 * part's content is checked against its format before DuckDB sees it: Parquet needs its magic at
 * both ends; text formats must not start with NUL bytes, and a sparse file is refused (its holes read
 * as endless NULs). Errors: PATH_NOT_FOUND, SYMLINK_REFUSED, SPECIAL_FILE, ARTIFACT_EMPTY,
 * UNSUPPORTED_FORMAT, PARSE_ERROR.
 */
export async function resolveDataSource(path: string, options: { format?: DataFormat } = {}): Promise<DataSource> {
  const enumeration = await enumerateArtifact(path);
  const parts: DataPart[] = [];
  const skipped: string[] = [];
  const formats = new Set<DataFormat>();
  for (const file of enumeration.files) {
    const known = formatOfName(file.name);
    const format = options.format ?? known?.format;
    if (format === undefined || (enumeration.kind === 'directory' && known === undefined)) {
      if (enumeration.kind === 'file') {
        throw new CustodyError('UNSUPPORTED_FORMAT', `${path}: cannot tell the data format from the name ${file.name}; name it .csv, .tsv, .jsonl, .ndjson or .parquet (optionally .gz/.zst for text), or pass --format`);
      }
      skipped.push(file.name);
      continue;
    }
    if (GLOB_CHARS.test(file.absPath)) {
      throw new CustodyError('UNSUPPORTED_FORMAT', `${file.name}: the path holds a glob character (* ? [ ] { }), which DuckDB would expand to other files; rename it`, { details: { path: file.name } });
    }
    formats.add(format);
    const compressed = known?.compressed ?? false;
    await checkContent(file, format, compressed);
    parts.push({ name: file.name, absPath: file.absPath, size: file.size, compressed });
  }
  if (formats.size > 1) {
    throw new CustodyError('UNSUPPORTED_FORMAT', `${path} mixes data formats (${[...formats].sort().join(', ')}); a dataset version holds parts of one format`);
  }
  const format = [...formats][0];
  if (format === undefined || parts.length === 0) {
    throw new CustodyError('ARTIFACT_EMPTY', `${path} holds no data file (.csv, .tsv, .jsonl, .ndjson, .parquet)${skipped.length > 0 ? `; found only ${skipped.slice(0, 5).join(', ')}` : ''}`);
  }
  return { path, root: enumeration.root, kind: enumeration.kind, format, parts, skipped };
}

async function checkContent(file: ArtifactFile, format: DataFormat, compressed: boolean): Promise<void> {
  const { handle, size } = await openRegularFile(file.absPath, { noFollow: true });
  try {
    const stat = await handle.stat();
    // A hole reads as NUL bytes: a file mostly made of holes is no CSV, JSON or Parquet a tool wrote.
    if (size > 1024 * 1024 && stat.blocks * 512 < size / 2) {
      throw new CustodyError('PARSE_ERROR', `${file.name} is a sparse file (${size} bytes long, ${stat.blocks * 512} stored); its holes read as NUL bytes, so it is not ${format} data`, { details: { path: file.name, size, stored: stat.blocks * 512 } });
    }
    const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
    if (head.length > 0) await handle.read(head, 0, head.length, 0);
    if (format === 'parquet') {
      const tail = Buffer.alloc(Math.min(8, size));
      if (tail.length > 0) await handle.read(tail, 0, tail.length, size - tail.length);
      if (size < 12 || !head.subarray(0, 4).equals(PARQUET_MAGIC) || !tail.subarray(tail.length - 4).equals(PARQUET_MAGIC)) {
        throw new CustodyError('PARSE_ERROR', `${file.name} is not a complete Parquet file: the PAR1 magic is missing at its ${size >= 4 && head.subarray(0, 4).equals(PARQUET_MAGIC) ? 'end (truncated?)' : 'start'}`, { details: { path: file.name } });
      }
      const footer = tail.readUInt32LE(0);
      if (footer <= 0 || footer > size - 12) {
        throw new CustodyError('PARSE_ERROR', `${file.name}: the Parquet footer claims ${footer} bytes, but the file holds ${size}`, { details: { path: file.name } });
      }
      return;
    }
    if (compressed || head.length === 0) return;
    if (head.subarray(0, 4).equals(PARQUET_MAGIC)) throw new CustodyError('PARSE_ERROR', `${file.name} is named as ${format} but holds Parquet data; rename it .parquet`, { details: { path: file.name } });
    const nul = head.indexOf(0);
    if (nul >= 0) {
      throw new CustodyError('PARSE_ERROR', `${file.name} holds a NUL byte at offset ${nul}: it is binary data, not ${format === 'csv' ? 'CSV' : 'JSON Lines'} text`, { details: { path: file.name, offset: nul } });
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
}
