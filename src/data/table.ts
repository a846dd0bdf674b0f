import { CustodyError } from '../core/errors.js';
import { sqlIdent, sqlString, type DataEngine } from './engine.js';
import type { DataSource } from './source.js';

/**
 * Loading a dataset into the engine with one semantics for every format, and the value kinds that
 * make CSV, JSON Lines and Parquet compare alike: an integer column and a float column holding the
 * same numbers are the same data, whatever the file's physical type.
 */

export const VALUE_KINDS = ['integer', 'float', 'boolean', 'string', 'date', 'datetime', 'other'] as const;
export type ValueKind = (typeof VALUE_KINDS)[number];

export interface ColumnInfo {
  name: string;
  /** DuckDB's type name, e.g. BIGINT, DOUBLE, VARCHAR. */
  type: string;
  kind: ValueKind;
}

export interface RejectedRow {
  part: string;
  /** 1-based line in the part. */
  line: number;
  error: string;
  column?: string;
}

export interface LoadedTable {
  /** The engine table name. */
  table: string;
  source: DataSource;
  rows: number;
  columns: ColumnInfo[];
  /** Rows of a CSV part that could not be read (ragged, wrong type, invalid UTF-8): counted, never silently dropped. */
  rejected: { count: number; examples: RejectedRow[] };
  /** First row ordinal (0-based, in load order) of each part, for naming rows. */
  partStarts: { part: string; start: number; rows: number }[];
}

/** The column holding the part a row came from (multi-part datasets). */
export const FILE_COLUMN = '__custody_file';
const RESERVED = /^__custody/;

export function kindOfType(type: string): ValueKind {
  const t = type.toUpperCase();
  if (t === 'BOOLEAN') return 'boolean';
  if (/^(U?TINYINT|U?SMALLINT|U?INTEGER|U?BIGINT|U?HUGEINT)$/.test(t)) return 'integer';
  if (/^(FLOAT|DOUBLE|REAL|DECIMAL.*)$/.test(t)) return 'float';
  if (t === 'VARCHAR') return 'string';
  if (t === 'DATE') return 'date';
  if (/^(TIMESTAMP.*|TIME.*)$/.test(t)) return 'datetime';
  return 'other';
}

export function isNumericKind(kind: ValueKind): boolean {
  return kind === 'integer' || kind === 'float';
}

function readerSql(source: DataSource, rejects: string | undefined): string {
  const files = `[${source.parts.map((p) => sqlString(p.absPath)).join(', ')}]`;
  const filename = source.parts.length > 1 ? `, filename = ${sqlString(FILE_COLUMN)}` : '';
  switch (source.format) {
    case 'csv':
      return `read_csv(${files}, store_rejects = true, rejects_table = ${sqlString(`${rejects}_errors`)}, rejects_scan = ${sqlString(`${rejects}_scans`)}, union_by_name = false${filename})`;
    case 'jsonl':
      return `read_json(${files}, format = 'newline_delimited', union_by_name = false${filename})`;
    case 'parquet':
      return `read_parquet(${files}, union_by_name = false, binary_as_string = false${filename})`;
  }
}

/** Loads every part into table `name` (in part order, rows in file order). */
export async function loadTable(engine: DataEngine, source: DataSource, name: string): Promise<LoadedTable> {
  const rejects = source.format === 'csv' ? `${name}_rejects` : undefined;
  await engine.run(`CREATE TABLE ${sqlIdent(name)} AS SELECT * FROM ${readerSql(source, rejects)}`, `reading ${source.path}`);
  const described = await engine.query(`SELECT column_name, column_type FROM (DESCRIBE ${sqlIdent(name)})`, `reading the schema of ${source.path}`);
  const columns: ColumnInfo[] = [];
  for (const [columnName, type] of described.rows as [string, string][]) {
    if (columnName === FILE_COLUMN) continue;
    if (RESERVED.test(columnName)) throw new CustodyError('PARSE_ERROR', `${source.path}: column name ${JSON.stringify(columnName)} is reserved by Custody (prefix __custody); rename it`);
    columns.push({ name: columnName, type, kind: kindOfType(type) });
  }
  if (columns.length === 0) throw new CustodyError('PARSE_ERROR', `${source.path}: no column could be read`);
  const count = await engine.query(`SELECT count(*) FROM ${sqlIdent(name)}`, `counting rows of ${source.path}`);
  const rows = Number(count.rows[0]?.[0] ?? 0);

  let rejected: LoadedTable['rejected'] = { count: 0, examples: [] };
  if (rejects !== undefined) {
    // One row can have several errors (each missing column is one): count rows, not errors.
    const total = await engine.query(`SELECT count(DISTINCT (scan_id, file_id, line)) FROM ${sqlIdent(`${rejects}_errors`)}`, `counting unreadable rows of ${source.path}`);
    const examples = await engine.query(
      `SELECT s.file_path, e.line, arg_min(e.error_type, e.column_idx), arg_min(e.column_name, e.column_idx) FROM ${sqlIdent(`${rejects}_errors`)} e JOIN ${sqlIdent(`${rejects}_scans`)} s USING (scan_id, file_id) GROUP BY s.file_path, e.line ORDER BY s.file_path, e.line LIMIT 100`,
      `reading unreadable rows of ${source.path}`,
    );
    const partName = new Map(source.parts.map((p) => [p.absPath, p.name]));
    rejected = {
      count: Number(total.rows[0]?.[0] ?? 0),
      examples: (examples.rows as [string, bigint, string, string | null][]).map(([file, line, error, column]) => ({
        part: partName.get(file) ?? file,
        line: Number(line),
        error,
        ...(column === null ? {} : { column }),
      })),
    };
  }

  let partStarts: LoadedTable['partStarts'] = [{ part: source.parts[0]?.name ?? source.path, start: 0, rows }];
  if (source.parts.length > 1) {
    const byPart = await engine.query(`SELECT ${sqlIdent(FILE_COLUMN)}, min(rowid), count(*) FROM ${sqlIdent(name)} GROUP BY 1 ORDER BY 2`, `counting rows per part of ${source.path}`);
    const partName = new Map(source.parts.map((p) => [p.absPath, p.name]));
    partStarts = (byPart.rows as [string, bigint, bigint][]).map(([file, start, n]) => ({ part: partName.get(file) ?? file, start: Number(start), rows: Number(n) }));
  }
  return { table: name, source, rows, columns, rejected, partStarts };
}

/** Names a row by its ordinal: `part.csv row 12` (1-based data row within the part). */
export function describeRow(table: LoadedTable, ordinal: number): string {
  let best = table.partStarts[0];
  for (const p of table.partStarts) if (p.start <= ordinal) best = p;
  return best ? `${best.part} row ${ordinal - best.start + 1}` : `row ${ordinal + 1}`;
}

/**
 * The canonical text of a value, the same whatever the file format: integers and integral floats
 * as decimal integers, other floats in DuckDB's shortest round-trip form, booleans as true/false,
 * dates and times in ISO form (UTC), strings as they are, nested values as JSON. NULL stays NULL.
 */
export function canonicalValueSql(column: ColumnInfo, ref = sqlIdent(column.name)): string {
  switch (column.kind) {
    case 'integer':
      return `CAST(${ref} AS VARCHAR)`;
    case 'float': {
      const d = `CAST(${ref} AS DOUBLE)`;
      return `CASE WHEN isfinite(${d}) AND ${d} = trunc(${d}) AND abs(${d}) < 9007199254740992 THEN CAST(CAST(${d} AS BIGINT) AS VARCHAR) ELSE CAST(${d} AS VARCHAR) END`;
    }
    case 'boolean':
      return `CASE WHEN ${ref} THEN 'true' WHEN NOT ${ref} THEN 'false' END`;
    case 'string':
      return ref;
    case 'date':
    case 'datetime':
      return `CAST(${ref} AS VARCHAR)`;
    case 'other':
      return column.type.toUpperCase() === 'BLOB' ? `hex(${ref})` : `CAST(to_json(${ref}) AS VARCHAR)`;
  }
}

/** One letter per kind class in the row encoding: numbers share one, so int ↔ float re-encoding keeps the hash. */
function kindTag(kind: ValueKind): string {
  return kind === 'integer' || kind === 'float' ? 'n' : kind === 'string' ? 's' : kind === 'boolean' ? 'b' : kind === 'other' ? 'o' : 't';
}

/**
 * An injective text encoding of a row's values (columns in name order): `N` for NULL, otherwise the
 * kind tag, the value's length in characters, `:` and the canonical text.
 */
export function rowEncodingSql(columns: readonly ColumnInfo[]): string {
  const ordered = [...columns].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const parts = ordered.map((c) => {
    const v = canonicalValueSql(c);
    return `coalesce('${kindTag(c.kind)}' || length(${v}) || ':' || ${v}, 'N')`;
  });
  return parts.length === 1 ? (parts[0] ?? "''") : `concat(${parts.join(', ')})`;
}
