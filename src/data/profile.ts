import { CustodyError } from '../core/errors.js';
import { readRegularFile } from '../core/safe-fs.js';
import { hashArtifact } from '../integrity/index.js';
import { sqlIdent, sqlString, withEngine, type DataEngine, type EngineOptions } from './engine.js';
import { computeContentHash, requireAllRows, type ContentHash } from './fingerprint.js';
import { resolveDataSource, type DataFormat } from './source.js';
import { canonicalValueSql, isNumericKind, loadTable, type ColumnInfo, type LoadedTable, type ValueKind } from './table.js';

/**
 * A dataset profile: schema, per-column statistics, label and per-segment label rates, duplicate,
 * token and outlier statistics. Written as the JSON baseline that `custody data check` compares a
 * candidate against. Every figure is exact (no sampling, no approximate aggregates), so a profile of
 * the same data is the same profile on every run.
 */

export const PROFILE_VERSION = 1;
export const SEMANTIC_TYPES = ['key', 'label', 'numeric', 'categorical', 'boolean', 'text', 'identifier', 'datetime', 'constant', 'other'] as const;
export type SemanticType = (typeof SEMANTIC_TYPES)[number];

/** Quantile levels stored for numeric columns: 0 %, 1 %, …, 100 %. */
export const QUANTILE_LEVELS: readonly number[] = Array.from({ length: 101 }, (_, i) => i / 100);
/** Columns with at most this many distinct values have every value listed (and can be segments). */
export const MAX_LISTED_VALUES = 1000;
/** Top values listed for columns with more. */
export const TOP_VALUES = 100;
/** Categorical columns with at most this many values are segments for label rates. */
export const MAX_SEGMENT_VALUES = 100;
/** Label columns with more classes than this are refused. */
export const MAX_LABEL_CLASSES = 100;
/** Tokens kept in the vocabulary of a text column (by row count) and the least count kept. */
export const MAX_VOCABULARY = 50_000;
export const MIN_TOKEN_ROWS = 3;
/** A value this many scaled MADs from its label's median is an outlier. */
export const OUTLIER_MADS = 6;

export interface NumericStats {
  min: number;
  max: number;
  mean: number;
  std: number;
  /** Exact quantiles (linear interpolation) at QUANTILE_LEVELS, over finite values. */
  quantiles: number[];
  /** Bins for PSI: edges are the distinct interior deciles; counts of finite values per bin. */
  bins: { edges: number[]; counts: number[] };
  /** Fraction of finite values at or below each quantile (for KS D). */
  cdf: number[];
  /** NaN and infinite values. */
  nonFinite: number;
}

export interface ValueCount {
  value: string;
  count: number;
}

export interface ColumnProfile {
  name: string;
  type: string;
  kind: ValueKind;
  semantic: SemanticType;
  /** Non-null values. */
  count: number;
  nulls: number;
  distinct: number;
  numeric?: NumericStats;
  lengths?: { min: number; max: number; mean: number };
  /** Most frequent values (canonical text); `complete` when every distinct value is listed. */
  top?: { values: ValueCount[]; complete: boolean };
}

export interface LabelProfile {
  column: string;
  classes: ValueCount[];
  /** Per segment column, per value: rows and label class counts. */
  segments: { column: string; values: { value: string; rows: number; labels: Record<string, number> }[] }[];
}

export interface DuplicateStats {
  /** Columns compared (all but the key). */
  columns: string[];
  /** Rows that repeat an earlier row exactly (rows − distinct rows). */
  exact: number;
  /** Rows that repeat an earlier row after canonicalisation (case, spacing, number form). */
  canonical: number;
  /** Groups of identical feature vectors (all but key and label) that carry more than one label, and their rows. */
  conflictingGroups: number;
  conflictingRows: number;
}

export interface TokenProfile {
  column: string;
  /** Rows with a value in the column. */
  rows: number;
  /** Tokens by the number of rows holding them, most first; tokens in fewer than `cutoff` rows are not listed. */
  vocabulary: [string, number][];
  cutoff: number;
}

export interface OutlierProfile {
  column: string;
  label: string;
  rows: number;
  median: number;
  /** Median absolute deviation, scaled by 1.4826 (a robust standard deviation). */
  mad: number;
  outliers: number;
}

export interface NearDuplicateStats {
  /** Rows in groups of 3 or more rows with the same near-duplicate signature. */
  rowsInClusters: number;
  clusters: number;
}

export interface DataProfile {
  custodyDataProfile: typeof PROFILE_VERSION;
  source: {
    name: string;
    format: DataFormat;
    kind: 'file' | 'directory';
    /** OMS root digest of the files (what `custody hash` prints as digest.sha256). */
    digest: { sha256: string };
    files: { name: string; sha256: string; size: number }[];
    skipped: string[];
    rows: number;
    contentHash?: ContentHash;
  };
  options: { key?: string; label?: string; text: string[]; segments: string[] };
  columns: ColumnProfile[];
  label?: LabelProfile;
  duplicates: DuplicateStats;
  tokens: TokenProfile[];
  outliers: OutlierProfile[];
  nearDuplicates: NearDuplicateStats;
}

export interface ProfileOptions extends EngineOptions {
  key?: string;
  label?: string;
  /** Text columns for the token scan (default: inferred). */
  text?: readonly string[];
  /** Segment columns for label rates (default: categorical columns with few values). */
  segments?: readonly string[];
  format?: DataFormat;
  /** Also compute the content hash (needed for `freeze: {content: true}` in a contract). */
  contentHash?: boolean;
  /** Profile a check's candidate: leave out what a check does not compare (vocabulary, outlier and near-duplicate baselines). */
  forCheck?: boolean;
  /** Report which step runs (for progress on a terminal). */
  onStep?: (step: string) => void;
}

/** Profiles a dataset (a file or a directory of parts). */
export async function profileDataset(path: string, options: ProfileOptions = {}): Promise<DataProfile> {
  const source = await resolveDataSource(path, options.format === undefined ? {} : { format: options.format });
  const manifest = await hashArtifact(path);
  return withEngine(options, async (engine) => {
    await engine.restrictAccess(source.parts.map((p) => p.absPath));
    options.onStep?.(`reading ${source.parts.length} ${source.format} part(s)`);
    const table = await loadTable(engine, source, 'base');
    requireAllRows(table);
    const profile = await profileTable(engine, table, options);
    profile.source.digest = { sha256: manifest.rootDigest };
    profile.source.files = source.parts.map((p) => ({ name: p.name, size: p.size, sha256: manifest.resources.find((r) => r.name === p.name || manifest.kind === 'file')?.digest ?? '' }));
    if (options.contentHash) {
      options.onStep?.('hashing the content');
      profile.source.contentHash = await computeContentHash(engine, table);
    }
    return profile;
  });
}

function requireColumn(table: LoadedTable, name: string | undefined, what: string): ColumnInfo | undefined {
  if (name === undefined) return undefined;
  const column = table.columns.find((c) => c.name === name);
  if (!column) throw new CustodyError('USAGE', `${table.source.path} has no column ${JSON.stringify(name)} (--${what}); its columns are ${table.columns.map((c) => c.name).join(', ')}`);
  return column;
}

/** Profiles a loaded table (used for baselines and for the candidate of a check alike). */
export async function profileTable(engine: DataEngine, table: LoadedTable, options: ProfileOptions): Promise<DataProfile> {
  const key = requireColumn(table, options.key, 'key');
  const label = requireColumn(table, options.label, 'label');
  if (key && label && key.name === label.name) throw new CustodyError('USAGE', '--key and --label name the same column');
  const t = sqlIdent(table.table);
  const n = table.rows;

  options.onStep?.('column statistics');
  const columns = await profileColumns(engine, table, key?.name, label?.name);
  const explicitText = (options.text ?? []).map((name) => requireColumn(table, name, 'text')?.name ?? name);
  for (const name of explicitText) {
    const c = columns.find((col) => col.name === name);
    if (c && c.kind === 'string' && c.semantic !== 'key' && c.semantic !== 'label') c.semantic = 'text';
  }
  const text = columns.filter((c) => c.semantic === 'text').map((c) => c.name);
  const segments = options.segments
    ? options.segments.map((name) => requireColumn(table, name, 'segment')?.name ?? name)
    : columns.filter((c) => (c.semantic === 'categorical' || c.semantic === 'boolean') && c.distinct <= MAX_SEGMENT_VALUES && c.distinct >= 2).map((c) => c.name);

  let labelProfile: LabelProfile | undefined;
  if (label) {
    options.onStep?.('label and segment rates');
    labelProfile = await profileLabel(engine, table, label, segments.filter((s) => s !== label.name && s !== key?.name));
  }
  options.onStep?.('duplicates');
  const duplicates = await profileDuplicates(engine, table, key, label);
  options.onStep?.('tokens');
  const tokens: TokenProfile[] = [];
  for (const name of text) tokens.push(await profileTokens(engine, table, name, options.forCheck === true));
  options.onStep?.('outliers');
  const outliers = label && !options.forCheck ? await profileOutliers(engine, table, columns, label) : [];
  options.onStep?.('near duplicates');
  const near = options.forCheck ? { rowsInClusters: 0, clusters: 0 } : await nearDuplicateStats(engine, `SELECT * FROM ${t}`, table, columns, key, label);

  return {
    custodyDataProfile: PROFILE_VERSION,
    source: { name: table.source.path.replace(/\/+$/, '').split('/').pop() ?? table.source.path, format: table.source.format, kind: table.source.kind, digest: { sha256: '' }, files: [], skipped: table.source.skipped, rows: n },
    options: { ...(key ? { key: key.name } : {}), ...(label ? { label: label.name } : {}), text, segments },
    columns,
    ...(labelProfile ? { label: labelProfile } : {}),
    duplicates,
    tokens,
    outliers,
    nearDuplicates: near,
  };
}

function num(value: unknown): number {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return value;
  if (value === null || value === undefined) return NaN;
  return Number(value);
}

/** JSON has no NaN or infinity: those become null in figures that can hold them. */
function finiteOr(value: number, fallback = 0): number {
  return Number.isFinite(value) ? value : fallback;
}

async function profileColumns(engine: DataEngine, table: LoadedTable, key: string | undefined, label: string | undefined): Promise<ColumnProfile[]> {
  const t = sqlIdent(table.table);
  const out: ColumnProfile[] = [];
  // One pass for counts, distinct values and lengths of every column.
  const selects: string[] = [];
  for (const [i, c] of table.columns.entries()) {
    const ref = sqlIdent(c.name);
    selects.push(`count(${ref}) AS c${i}`, `count(DISTINCT ${ref}) AS d${i}`);
    if (c.kind === 'string') selects.push(`min(length(${ref})) AS lmin${i}`, `max(length(${ref})) AS lmax${i}`, `avg(length(${ref})) AS lavg${i}`, `avg(length(${ref}) - length(replace(${ref}, ' ', ''))) AS sp${i}`);
  }
  const [basic] = await engine.objects(`SELECT ${selects.join(', ')} FROM ${t}`, `counting values of ${table.source.path}`);
  for (const [i, c] of table.columns.entries()) {
    const count = num(basic?.[`c${i}`]);
    const distinct = num(basic?.[`d${i}`]);
    const profile: ColumnProfile = { name: c.name, type: c.type, kind: c.kind, semantic: 'other', count, nulls: table.rows - count, distinct };
    if (c.kind === 'string' && count > 0) profile.lengths = { min: num(basic?.[`lmin${i}`]), max: num(basic?.[`lmax${i}`]), mean: round(num(basic?.[`lavg${i}`])) };
    profile.semantic = c.name === key ? 'key' : c.name === label ? 'label' : inferSemantic(c, count, distinct, num(basic?.[`lavg${i}`]), num(basic?.[`sp${i}`]));
    out.push(profile);
  }
  for (const [i, c] of table.columns.entries()) {
    const profile = out[i];
    if (!profile) continue;
    if (isNumericKind(c.kind) && profile.semantic === 'numeric') profile.numeric = await numericStats(engine, table, c);
    if (LISTED.has(profile.semantic) && profile.count > 0) profile.top = await topValues(engine, table, c, profile.distinct);
  }
  return out;
}

function inferSemantic(c: ColumnInfo, count: number, distinct: number, meanLength: number, meanSpaces: number): SemanticType {
  if (count === 0 || distinct <= 1) return 'constant';
  if (c.kind === 'boolean') return 'boolean';
  if (c.kind === 'date' || c.kind === 'datetime') return 'datetime';
  // An integer column with a different value in every row is a row id, not a quantity.
  if (c.kind === 'integer' && distinct === count && count >= 100) return 'identifier';
  if (isNumericKind(c.kind)) return c.kind === 'integer' && distinct <= 20 ? 'categorical' : 'numeric';
  if (c.kind === 'string') {
    if (meanSpaces >= 2 && meanLength >= 12) return 'text';
    if (distinct <= MAX_LISTED_VALUES && distinct <= Math.max(20, count / 20)) return 'categorical';
    return 'identifier';
  }
  return 'other';
}

function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(12)) : x;
}

async function numericStats(engine: DataEngine, table: LoadedTable, c: ColumnInfo): Promise<NumericStats> {
  const t = sqlIdent(table.table);
  const x = `CAST(${sqlIdent(c.name)} AS DOUBLE)`;
  const [row] = await engine.objects(
    `SELECT min(v) FILTER (isfinite(v)) AS mn, max(v) FILTER (isfinite(v)) AS mx, avg(v) FILTER (isfinite(v)) AS mean, stddev_samp(v) FILTER (isfinite(v)) AS sd,
            count_if(isfinite(v)) AS n, count_if(NOT isfinite(v)) AS nf
     FROM (SELECT ${x} AS v FROM ${t} WHERE ${sqlIdent(c.name)} IS NOT NULL)`,
    `statistics of column ${c.name}`,
  );
  const total = num(row?.['n']);
  const quantiles = await exactQuantiles(engine, `SELECT ${x} AS v FROM ${t} WHERE isfinite(${x})`, total, QUANTILE_LEVELS);
  const edges = [...new Set(quantiles.filter((_, i) => i > 0 && i < 100 && i % 10 === 0))].sort((a, b) => a - b);
  const counts = await binCounts(engine, `SELECT ${x} AS v FROM ${t} WHERE isfinite(${x})`, edges, quantiles);
  return {
    min: finiteOr(num(row?.['mn'])),
    max: finiteOr(num(row?.['mx'])),
    mean: finiteOr(round(num(row?.['mean']))),
    std: finiteOr(round(num(row?.['sd']))),
    quantiles,
    bins: { edges, counts: counts.bins },
    cdf: counts.cdf.map((k) => (total > 0 ? round(k / total) : 0)),
    nonFinite: num(row?.['nf']),
  };
}

/**
 * Exact quantiles with linear interpolation (DuckDB's quantile_cont, numpy's default): the value at
 * position h = (n − 1)·q of the sorted values, interpolated between its neighbours. One sort, then the
 * few positions needed are read (quantile_cont with a list of levels is far slower).
 */
export async function exactQuantiles(engine: DataEngine, valuesSql: string, n: number, levels: readonly number[]): Promise<number[]> {
  if (n === 0) return [];
  const positions = new Set<number>();
  for (const q of levels) {
    const h = (n - 1) * q;
    positions.add(Math.floor(h));
    positions.add(Math.ceil(h));
  }
  const rows = await engine.query(
    `SELECT r, v FROM (SELECT v, row_number() OVER (ORDER BY v) - 1 AS r FROM (${valuesSql})) WHERE r IN (${[...positions].sort((a, b) => a - b).join(', ')})`,
    'computing quantiles',
  );
  const at = new Map((rows.rows as [bigint, number][]).map(([r, v]) => [Number(r), v]));
  return levels.map((q) => {
    const h = (n - 1) * q;
    const lo = at.get(Math.floor(h)) ?? NaN;
    const hi = at.get(Math.ceil(h)) ?? NaN;
    return lo + (h - Math.floor(h)) * (hi - lo);
  });
}

/**
 * Counts a numeric query's values (column `v`) into bins (−∞, e0], (e0, e1], …, (ek, ∞) and at or
 * below each of `points`. Exact integer counts.
 */
export async function binCounts(engine: DataEngine, valuesSql: string, edges: readonly number[], points: readonly number[]): Promise<{ bins: number[]; cdf: number[]; n: number }> {
  const lit = (v: number): string => `CAST(${JSON.stringify(v)} AS DOUBLE)`;
  const selects = ['count(*) AS n'];
  for (const [i, e] of edges.entries()) selects.push(`count_if(v <= ${lit(e)}) AS b${i}`);
  for (const [i, p] of points.entries()) selects.push(`count_if(v <= ${lit(p)}) AS p${i}`);
  const [row] = await engine.objects(`SELECT ${selects.join(', ')} FROM (${valuesSql})`, 'counting values into bins');
  const n = num(row?.['n']);
  const cumulative = edges.map((_, i) => num(row?.[`b${i}`]));
  const bins: number[] = [];
  let previous = 0;
  for (const c of cumulative) {
    bins.push(c - previous);
    previous = c;
  }
  bins.push(n - previous);
  return { bins, cdf: points.map((_, i) => num(row?.[`p${i}`])), n };
}

/** Columns whose values are listed (top values). */
const LISTED: ReadonlySet<SemanticType> = new Set(['categorical', 'boolean', 'label', 'constant']);

async function topValues(engine: DataEngine, table: LoadedTable, c: ColumnInfo, distinct: number): Promise<NonNullable<ColumnProfile['top']>> {
  const v = canonicalValueSql(c);
  const limit = distinct <= MAX_LISTED_VALUES ? MAX_LISTED_VALUES : TOP_VALUES;
  const rows = await engine.query(
    `SELECT ${v} AS value, count(*) AS n FROM ${sqlIdent(table.table)} WHERE ${sqlIdent(c.name)} IS NOT NULL GROUP BY value ORDER BY n DESC, value LIMIT ${limit}`,
    `counting values of column ${c.name}`,
  );
  return { values: (rows.rows as [string, bigint][]).map(([value, count]) => ({ value, count: Number(count) })), complete: distinct <= MAX_LISTED_VALUES };
}

async function profileLabel(engine: DataEngine, table: LoadedTable, label: ColumnInfo, segments: readonly string[]): Promise<LabelProfile> {
  const t = sqlIdent(table.table);
  const lv = `coalesce(${canonicalValueSql(label)}, '<null>')`;
  const classes = await engine.query(`SELECT ${lv} AS l, count(*) AS n FROM ${t} GROUP BY l ORDER BY n DESC, l`, `counting label classes of ${label.name}`);
  if (classes.rows.length > MAX_LABEL_CLASSES) {
    throw new CustodyError('USAGE', `label column ${label.name} has ${classes.rows.length} classes, more than ${MAX_LABEL_CLASSES}; give a classification label with --label`);
  }
  const out: LabelProfile = { column: label.name, classes: (classes.rows as [string, bigint][]).map(([value, count]) => ({ value, count: Number(count) })), segments: [] };
  for (const name of segments) {
    const col = table.columns.find((c) => c.name === name);
    if (!col) continue;
    const sv = `coalesce(${canonicalValueSql(col)}, '<null>')`;
    const rows = await engine.query(`SELECT ${sv} AS s, ${lv} AS l, count(*) AS n FROM ${t} GROUP BY s, l ORDER BY s, l`, `label rates by ${name}`);
    const values = new Map<string, { value: string; rows: number; labels: Record<string, number> }>();
    for (const [s, l, count] of rows.rows as [string, string, bigint][]) {
      const entry = values.get(s) ?? { value: s, rows: 0, labels: {} };
      entry.rows += Number(count);
      entry.labels[l] = Number(count);
      values.set(s, entry);
    }
    if (values.size <= MAX_SEGMENT_VALUES + 1) out.segments.push({ column: name, values: [...values.values()] });
  }
  return out;
}

/** Columns compared for duplicates: all but the key (and, for feature vectors, the label). */
export function featureColumns(table: LoadedTable, key: ColumnInfo | undefined, label: ColumnInfo | undefined, withLabel: boolean): ColumnInfo[] {
  return table.columns.filter((c) => c.name !== key?.name && (withLabel || c.name !== label?.name));
}

/** A canonical form for duplicate detection: strings trimmed, lower-cased, spacing collapsed, Unicode NFC. */
export function canonicalDupSql(c: ColumnInfo): string {
  const v = canonicalValueSql(c);
  if (c.kind !== 'string') return v;
  // NFC only where there is a non-ASCII character (bytes ≠ characters), the whitespace regex only where
  // there is whitespace to collapse: both are costly on millions of rows and change nothing elsewhere.
  const nfc = `CASE WHEN strlen(${v}) <> length(${v}) THEN nfc_normalize(${v}) ELSE ${v} END`;
  return `lower(trim(CASE WHEN contains(${v}, '  ') OR contains(${v}, chr(9)) OR contains(${v}, chr(10)) OR contains(${v}, chr(13)) OR strlen(${v}) <> length(${v}) THEN regexp_replace(${nfc}, '\\s+', ' ', 'g') ELSE ${v} END))`;
}

export function rowTupleSql(columns: readonly ColumnInfo[], canonical: boolean): string {
  const items = columns.map((c) => (canonical ? canonicalDupSql(c) : sqlIdent(c.name)));
  return items.length === 0 ? "''" : `(${items.join(', ')})`;
}

async function profileDuplicates(engine: DataEngine, table: LoadedTable, key: ColumnInfo | undefined, label: ColumnInfo | undefined): Promise<DuplicateStats> {
  return duplicateStats(engine, `SELECT * FROM ${sqlIdent(table.table)}`, table, key, label);
}

/** Duplicate statistics of the rows a query returns (all columns of `table`). Exact: grouped by the values themselves. */
export async function duplicateStats(engine: DataEngine, rowsSql: string, table: LoadedTable, key: ColumnInfo | undefined, label: ColumnInfo | undefined): Promise<DuplicateStats> {
  const all = featureColumns(table, key, label, true);
  const features = featureColumns(table, key, label, false);
  const exact = all.map((c) => sqlIdent(c.name)).join(', ');
  const canon = all.map((c) => canonicalDupSql(c)).join(', ');
  const [row] = await engine.objects(
    `SELECT (SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM (${rowsSql}) GROUP BY ${exact})) AS exact,
            (SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM (${rowsSql}) GROUP BY ${canon})) AS canonical`,
    'counting duplicate rows',
  );
  let conflictingGroups = 0;
  let conflictingRows = 0;
  if (label && features.length > 0) {
    const [c] = await engine.objects(
      `SELECT count(*) AS g, coalesce(sum(n), 0) AS r FROM (SELECT count(*) AS n, count(DISTINCT ${sqlIdent(label.name)}) AS l FROM (${rowsSql}) GROUP BY ${features.map((f) => sqlIdent(f.name)).join(', ')}) WHERE l > 1`,
      'counting conflicting labels',
    );
    conflictingGroups = num(c?.['g']);
    conflictingRows = num(c?.['r']);
  }
  return { columns: all.map((c) => c.name), exact: num(row?.['exact']), canonical: num(row?.['canonical']), conflictingGroups, conflictingRows };
}

/** Tokens of a text value: lower-cased runs of letters, digits and underscores, at least two long, once per row. */
export function tokensSql(ref: string): string {
  return `list_filter(list_distinct(string_split_regex(lower(${ref}), '[^\\p{L}\\p{N}_]+')), x -> length(x) >= 2)`;
}

async function profileTokens(engine: DataEngine, table: LoadedTable, column: string, rowsOnly: boolean): Promise<TokenProfile> {
  const t = sqlIdent(table.table);
  const ref = sqlIdent(column);
  const [rows] = await engine.objects(`SELECT count(${ref}) AS n FROM ${t}`, `counting text rows of ${column}`);
  if (rowsOnly) return { column, rows: num(rows?.['n']), vocabulary: [], cutoff: MIN_TOKEN_ROWS };
  const vocab = await engine.query(
    `SELECT tok, count(*) AS n FROM (SELECT unnest(${tokensSql(ref)}) AS tok FROM ${t} WHERE ${ref} IS NOT NULL) GROUP BY tok HAVING count(*) >= ${MIN_TOKEN_ROWS} ORDER BY n DESC, tok LIMIT ${MAX_VOCABULARY + 1}`,
    `counting tokens of ${column}`,
  );
  const list = (vocab.rows as [string, bigint][]).map(([tok, count]) => [tok, Number(count)] as [string, number]);
  let cutoff = MIN_TOKEN_ROWS;
  if (list.length > MAX_VOCABULARY) {
    const last = list[MAX_VOCABULARY]?.[1] ?? MIN_TOKEN_ROWS;
    list.length = MAX_VOCABULARY;
    cutoff = last + 1;
    while (list.length > 0 && (list[list.length - 1]?.[1] ?? 0) < cutoff) list.pop();
  }
  return { column, rows: num(rows?.['n']), vocabulary: list, cutoff };
}

async function profileOutliers(engine: DataEngine, table: LoadedTable, columns: readonly ColumnProfile[], label: ColumnInfo): Promise<OutlierProfile[]> {
  const t = sqlIdent(table.table);
  const lv = `coalesce(${canonicalValueSql(label)}, '<null>')`;
  const out: OutlierProfile[] = [];
  for (const c of columns) {
    if (c.semantic !== 'numeric') continue;
    const x = `CAST(${sqlIdent(c.name)} AS DOUBLE)`;
    const rows = await engine.query(
      `WITH v AS (SELECT ${lv} AS l, ${x} AS x FROM ${t} WHERE isfinite(${x})),
            m AS (SELECT l, count(*) AS n, quantile_cont(x, 0.5) AS med FROM v GROUP BY l),
            d AS (SELECT v.l, quantile_cont(abs(v.x - m.med), 0.5) * 1.4826 AS mad FROM v JOIN m USING (l) GROUP BY v.l)
       SELECT m.l, m.n, m.med, d.mad, (SELECT count(*) FROM v WHERE v.l = m.l AND d.mad > 0 AND abs(v.x - m.med) > ${OUTLIER_MADS} * d.mad) AS o
       FROM m JOIN d USING (l) ORDER BY m.l`,
      `robust statistics of ${c.name} by label`,
    );
    for (const [l, n, med, mad, o] of rows.rows as [string, bigint, number, number, bigint][]) {
      out.push({ column: c.name, label: l, rows: Number(n), median: round(num(med)), mad: round(num(mad)), outliers: Number(o) });
    }
  }
  return out;
}

/**
 * The near-duplicate signature of a row: numbers rounded to three significant digits, strings
 * trimmed and lower-cased, over every column but key, label and identifier-like columns.
 */
export function nearSignatureSql(columns: readonly ColumnInfo[]): string {
  const items = columns.map((c) => {
    const ref = sqlIdent(c.name);
    if (isNumericKind(c.kind)) {
      const x = `CAST(${ref} AS DOUBLE)`;
      return `CASE WHEN ${x} = 0 OR NOT isfinite(${x}) THEN ${x} ELSE round(${x}, CAST(2 - floor(log10(abs(${x}))) AS INTEGER)) END`;
    }
    if (c.kind === 'string') return `lower(trim(${ref}))`;
    return canonicalValueSql(c);
  });
  return items.length === 0 ? "''" : `(${items.join(', ')})`;
}

export async function nearDuplicateStats(engine: DataEngine, rowsSql: string, table: LoadedTable, columns: readonly ColumnProfile[], key: ColumnInfo | undefined, label: ColumnInfo | undefined): Promise<NearDuplicateStats> {
  const features = featureColumns(table, key, label, false).filter((c) => columns.find((p) => p.name === c.name)?.semantic !== 'identifier');
  if (features.length === 0) return { rowsInClusters: 0, clusters: 0 };
  const [row] = await engine.objects(
    `SELECT count(*) AS clusters, coalesce(sum(n), 0) AS rows FROM (SELECT count(*) AS n FROM (${rowsSql}) GROUP BY ${nearSignatureSql(features)} HAVING count(*) >= 3)`,
    'grouping near-duplicate rows',
  );
  return { rowsInClusters: num(row?.['rows']), clusters: num(row?.['clusters']) };
}

export { sqlString };

/** The largest baseline profile read (a profile is aggregates: megabytes at most). */
export const MAX_PROFILE_BYTES = 256 * 1024 * 1024;

/**
 * Reads a baseline profile written by `custody data profile`, checking its shape (every problem at
 * once). Errors: PATH_NOT_FOUND, SPECIAL_FILE, INPUT_LIMIT, BASELINE_INVALID.
 */
export async function readProfile(path: string): Promise<DataProfile> {
  const data = await readRegularFile(path, { maxBytes: MAX_PROFILE_BYTES });
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new CustodyError('BASELINE_INVALID', `${path} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseProfile(raw, path);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Checks the shape of a parsed profile; BASELINE_INVALID lists every problem. */
export function parseProfile(raw: unknown, source: string): DataProfile {
  const problems: string[] = [];
  const need = (ok: boolean, path: string, what: string): boolean => {
    if (!ok) problems.push(`${path}: ${what}`);
    return ok;
  };
  if (!isObj(raw) || raw['custodyDataProfile'] !== PROFILE_VERSION) {
    throw new CustodyError('BASELINE_INVALID', `${source} is not a custody data profile (version ${PROFILE_VERSION}); write one with \`custody data profile PATH --output FILE\``);
  }
  const s = raw['source'];
  if (need(isObj(s), 'source', 'must be an object') && isObj(s)) {
    need(typeof s['name'] === 'string', 'source.name', 'must be a string');
    need(typeof s['format'] === 'string' && ['csv', 'jsonl', 'parquet'].includes(s['format']), 'source.format', 'must be csv, jsonl or parquet');
    need(isCount(s['rows']), 'source.rows', 'must be a whole number');
    need(isObj(s['digest']) && typeof s['digest']['sha256'] === 'string', 'source.digest.sha256', 'must be a string');
    need(Array.isArray(s['files']) && Array.isArray(s['skipped']), 'source.files/skipped', 'must be arrays');
  }
  const o = raw['options'];
  if (need(isObj(o), 'options', 'must be an object') && isObj(o)) {
    need(Array.isArray(o['text']) && o['text'].every((t) => typeof t === 'string'), 'options.text', 'must be a list of column names');
    need(Array.isArray(o['segments']) && o['segments'].every((t) => typeof t === 'string'), 'options.segments', 'must be a list of column names');
    for (const k of ['key', 'label']) if (o[k] !== undefined) need(typeof o[k] === 'string', `options.${k}`, 'must be a string');
  }
  const columns = raw['columns'];
  if (need(Array.isArray(columns), 'columns', 'must be an array') && Array.isArray(columns)) {
    columns.forEach((c: unknown, i) => {
      const at = `columns[${i}]`;
      if (!need(isObj(c), at, 'must be an object') || !isObj(c)) return;
      need(typeof c['name'] === 'string' && typeof c['type'] === 'string', `${at}.name/type`, 'must be strings');
      need(typeof c['kind'] === 'string' && (['integer', 'float', 'boolean', 'string', 'date', 'datetime', 'other'] as string[]).includes(c['kind']), `${at}.kind`, 'must be a value kind');
      need(typeof c['semantic'] === 'string' && (SEMANTIC_TYPES as readonly string[]).includes(c['semantic']), `${at}.semantic`, 'must be a semantic type');
      need(isCount(c['count']) && isCount(c['nulls']) && isCount(c['distinct']), `${at}.count/nulls/distinct`, 'must be whole numbers');
      const n = c['numeric'];
      if (n !== undefined) {
        const ok = isObj(n) && ['min', 'max', 'mean', 'std'].every((k) => isNum(n[k])) && Array.isArray(n['quantiles']) && n['quantiles'].every(isNum) && (n['quantiles'].length === QUANTILE_LEVELS.length || n['quantiles'].length === 0) &&
          Array.isArray(n['cdf']) && n['cdf'].every(isNum) && isObj(n['bins']) && Array.isArray(n['bins']['edges']) && n['bins']['edges'].every(isNum) && Array.isArray(n['bins']['counts']) && n['bins']['counts'].every(isCount) && n['bins']['counts'].length === n['bins']['edges'].length + 1;
        need(ok, `${at}.numeric`, 'must hold min, max, mean, std, 101 quantiles, cdf and bins');
      }
      const top = c['top'];
      if (top !== undefined) need(isObj(top) && typeof top['complete'] === 'boolean' && Array.isArray(top['values']) && top['values'].every((v) => isObj(v) && typeof v['value'] === 'string' && isCount(v['count'])), `${at}.top`, 'must list {value, count} and complete');
    });
  }
  const d = raw['duplicates'];
  need(isObj(d) && isCount(d['exact']) && isCount(d['canonical']) && isCount(d['conflictingGroups']) && isCount(d['conflictingRows']), 'duplicates', 'must hold exact, canonical, conflictingGroups and conflictingRows counts');
  const label = raw['label'];
  if (label !== undefined) {
    need(isObj(label) && typeof label['column'] === 'string' && Array.isArray(label['classes']) && label['classes'].every((v) => isObj(v) && typeof v['value'] === 'string' && isCount(v['count'])) && Array.isArray(label['segments']) &&
      label['segments'].every((sg) => isObj(sg) && typeof sg['column'] === 'string' && Array.isArray(sg['values']) && sg['values'].every((v) => isObj(v) && typeof v['value'] === 'string' && isCount(v['rows']) && isObj(v['labels']) && Object.values(v['labels']).every(isCount))), 'label', 'must hold column, classes and segments');
  }
  const tokens = raw['tokens'];
  need(Array.isArray(tokens) && tokens.every((t) => isObj(t) && typeof t['column'] === 'string' && isCount(t['rows']) && isCount(t['cutoff']) && Array.isArray(t['vocabulary']) && t['vocabulary'].every((e) => Array.isArray(e) && typeof e[0] === 'string' && isCount(e[1]))), 'tokens', 'must list {column, rows, cutoff, vocabulary}');
  const outliers = raw['outliers'];
  need(Array.isArray(outliers) && outliers.every((e) => isObj(e) && typeof e['column'] === 'string' && typeof e['label'] === 'string' && isCount(e['rows']) && isNum(e['median']) && isNum(e['mad']) && isCount(e['outliers'])), 'outliers', 'must list {column, label, rows, median, mad, outliers}');
  const near = raw['nearDuplicates'];
  need(isObj(near) && isCount(near['rowsInClusters']) && isCount(near['clusters']), 'nearDuplicates', 'must hold rowsInClusters and clusters');
  if (problems.length > 0) throw new CustodyError('BASELINE_INVALID', `${source} is not a valid data profile:\n${problems.slice(0, 50).map((p) => `  - ${p}`).join('\n')}`, { details: { problems } });
  return raw as unknown as DataProfile;
}
