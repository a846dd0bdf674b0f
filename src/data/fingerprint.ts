import { createHash } from 'node:crypto';
import { CustodyError } from '../core/errors.js';
import { openRegularFile } from '../core/safe-fs.js';
import { hashArtifact, manifestToJson, type Manifest } from '../integrity/index.js';
import { sqlIdent, sqlString, withEngine, type DataEngine, type EngineOptions } from './engine.js';
import { resolveDataSource, type DataFormat, type DataPart, type DataSource } from './source.js';
import { loadTable, rowEncodingSql, type ColumnInfo, type LoadedTable } from './table.js';

/** Identifies the content-hash construction; a change to it gets a new name. */
export const CONTENT_HASH_ALGORITHM = 'custody-data-content-v1';
/** Text parts are cut into chunks of about this many bytes, each ending at a line end. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;

export interface ByteRange {
  index: number;
  start: number;
  end: number;
  sha256: string;
  /** Rows in a Parquet row group. */
  rows?: number;
}

export interface PartFingerprint {
  name: string;
  size: number;
  sha256: string;
  /** Parquet row groups, or line-aligned chunks of a text part (fixed-size chunks when compressed). */
  rowGroups?: ByteRange[];
  chunks?: ByteRange[];
}

export interface ContentHash {
  algorithm: typeof CONTENT_HASH_ALGORITHM;
  sha256: string;
}

export interface DataFingerprint {
  /** The OMS-style manifest of every file (what `custody hash`, `custody sign` and `custody verify` compute). */
  manifest: Manifest;
  format: DataFormat;
  rows: number;
  columns: ColumnInfo[];
  contentHash: ContentHash;
  parts: PartFingerprint[];
  skipped: string[];
}

export interface FingerprintOptions extends EngineOptions {
  format?: DataFormat;
  chunkBytes?: number;
}

/**
 * Fingerprints a dataset: the OMS manifest of its files (per-file SHA-256 and the root digest that
 * `custody sign` signs), SHA-256 per Parquet row group or text chunk, and a content hash that does
 * not change when rows are reordered or the data is re-encoded (CSV ↔ JSON Lines ↔ Parquet) but
 * changes when any value does. Rows that cannot be read make it fail (PARSE_ERROR): a fingerprint
 * never covers part of a dataset.
 */
export async function fingerprintDataset(path: string, options: FingerprintOptions = {}): Promise<DataFingerprint> {
  const source = await resolveDataSource(path, options.format === undefined ? {} : { format: options.format });
  const manifest = await hashArtifact(path);
  return withEngine(options, async (engine) => {
    await engine.restrictAccess(source.parts.map((p) => p.absPath));
    const parts: PartFingerprint[] = [];
    for (const part of source.parts) {
      const sha256 = manifest.resources.find((r) => r.name === part.name || (source.kind === 'file' && manifest.resources.length === 1))?.digest ?? '';
      if (source.format === 'parquet') parts.push({ name: part.name, size: part.size, sha256, rowGroups: await hashRowGroups(engine, part) });
      else parts.push({ name: part.name, size: part.size, sha256, chunks: await hashChunks(part, options.chunkBytes ?? DEFAULT_CHUNK_BYTES) });
    }
    const table = await loadTable(engine, source, 'fp');
    requireAllRows(table);
    const contentHash = await computeContentHash(engine, table);
    return { manifest, format: source.format, rows: table.rows, columns: table.columns, contentHash, parts, skipped: source.skipped };
  });
}

/** Fails (PARSE_ERROR) when rows of the table could not be read. */
export function requireAllRows(table: LoadedTable): void {
  if (table.rejected.count === 0) return;
  const first = table.rejected.examples.slice(0, 5).map((r) => `${r.part} line ${r.line}: ${r.error}${r.column ? ` (${r.column})` : ''}`);
  throw new CustodyError('PARSE_ERROR', `${table.source.path}: ${table.rejected.count} row(s) cannot be read, so the data cannot be fingerprinted or profiled whole:\n  ${first.join('\n  ')}`, {
    details: { rejected: table.rejected.count, examples: table.rejected.examples.slice(0, 20) },
  });
}

/**
 * The content hash: every row is encoded canonically (rowEncodingSql) and hashed with SHA-256; row
 * digests are grouped by their first three hex digits, each group's sorted digests are hashed, and
 * the final SHA-256 covers the algorithm name, the schema (names and kind classes, sorted) and each
 * group's prefix, row count and digest in order. Sorting makes it independent of row order; a
 * multiset of rows, so duplicated rows count.
 */
export async function computeContentHash(engine: DataEngine, table: LoadedTable): Promise<ContentHash> {
  const encoding = rowEncodingSql(table.columns);
  const groups = await engine.query(
    `WITH d AS (SELECT sha256(${encoding}) AS h FROM ${sqlIdent(table.table)})
     SELECT substr(h, 1, 3) AS g, count(*) AS n, sha256(string_agg(h, '' ORDER BY h)) AS gh FROM d GROUP BY g ORDER BY g`,
    `hashing the content of ${table.source.path}`,
  );
  const hash = createHash('sha256');
  hash.update(`${CONTENT_HASH_ALGORITHM}\n`);
  const schema = [...table.columns].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((c) => `${JSON.stringify(c.name)}:${c.kind === 'integer' || c.kind === 'float' ? 'number' : c.kind}`);
  hash.update(`${schema.join(',')}\n`);
  for (const [g, n, gh] of groups.rows as [string, bigint, string][]) hash.update(`${g} ${String(n)} ${gh}\n`);
  return { algorithm: CONTENT_HASH_ALGORITHM, sha256: hash.digest('hex') };
}

async function hashRowGroups(engine: DataEngine, part: DataPart): Promise<ByteRange[]> {
  const meta = await engine.query(
    `SELECT row_group_id, any_value(row_group_num_rows), min(least(coalesce(dictionary_page_offset, data_page_offset), data_page_offset)), max(coalesce(dictionary_page_offset, data_page_offset) + total_compressed_size), max(data_page_offset + total_compressed_size)
     FROM parquet_metadata(${sqlString(part.absPath)}) GROUP BY row_group_id ORDER BY row_group_id`,
    `reading the Parquet footer of ${part.name}`,
  );
  const ranges: ByteRange[] = [];
  for (const [id, rows, start, end1, end2] of meta.rows as [bigint, bigint, bigint, bigint, bigint][]) {
    const s = Number(start);
    const e = Math.max(Number(end1), Number(end2));
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || s < 4 || e < s || e > part.size - 8) {
      throw new CustodyError('PARSE_ERROR', `${part.name}: the Parquet footer places row group ${String(id)} at bytes ${String(start)}–${e}, outside the file's ${part.size} bytes of data`, { details: { path: part.name, rowGroup: Number(id) } });
    }
    ranges.push({ index: Number(id), start: s, end: e, rows: Number(rows), sha256: await hashRange(part, s, e) });
  }
  return ranges;
}

async function hashRange(part: DataPart, start: number, end: number): Promise<string> {
  const { handle } = await openRegularFile(part.absPath, { noFollow: true });
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, Math.max(1, end - start)));
    for (let at = start; at < end; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - at), at);
      if (bytesRead === 0) throw new CustodyError('IO_ERROR', `${part.name} ended at byte ${at} while reading bytes ${start}–${end}`);
      hash.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
    return hash.digest('hex');
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** SHA-256 of consecutive chunks of about `chunkBytes`, each ending just after a newline (or at the end). */
async function hashChunks(part: DataPart, chunkBytes: number): Promise<ByteRange[]> {
  const { handle, size } = await openRegularFile(part.absPath, { noFollow: true });
  try {
    const chunks: ByteRange[] = [];
    const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
    let hash = createHash('sha256');
    let start = 0;
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - at), at);
      if (bytesRead === 0) throw new CustodyError('IO_ERROR', `${part.name} ended at byte ${at} of ${size}`);
      let view = buffer.subarray(0, bytesRead);
      let viewAt = at;
      while (view.length > 0) {
        const want = start + chunkBytes - viewAt;
        let cut = -1;
        if (want <= view.length) {
          const from = Math.max(0, want - 1);
          const nl = part.compressed ? from : view.indexOf(0x0a, from);
          if (nl >= 0) cut = nl + 1;
        }
        if (cut < 0) {
          hash.update(view);
          viewAt += view.length;
          break;
        }
        hash.update(view.subarray(0, cut));
        chunks.push({ index: chunks.length, start, end: viewAt + cut, sha256: hash.digest('hex') });
        hash = createHash('sha256');
        start = viewAt + cut;
        viewAt += cut;
        view = view.subarray(cut);
      }
      at += bytesRead;
    }
    if (start < size || chunks.length === 0) chunks.push({ index: chunks.length, start, end: size, sha256: hash.digest('hex') });
    return chunks;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * The fingerprint as JSON: the OMS manifest exactly as `custody hash` prints it (name, digest,
 * serialization, resources, summary), so the same root digest is what `custody sign` signs and
 * `custody verify` checks, plus a `data` section with the content hash, schema and byte ranges.
 */
export function fingerprintToJson(fp: DataFingerprint): Record<string, unknown> {
  return {
    ...manifestToJson(fp.manifest),
    data: {
      format: fp.format,
      rows: fp.rows,
      columns: fp.columns.map((c) => ({ name: c.name, type: c.type, kind: c.kind })),
      contentHash: fp.contentHash,
      parts: fp.parts,
      ...(fp.skipped.length > 0 ? { skipped: fp.skipped } : {}),
    },
  };
}

export type { DataSource };
