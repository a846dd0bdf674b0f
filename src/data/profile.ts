import { CustodyError } from '../core/errors.js';
import { readRegularFile } from '../core/safe-fs.js';
import { hashArtifact } from '../integrity/index.js';
import { sqlIdent, sqlString, withEngine, type DataEngine, type EngineOptions } from './engine.js';
import { computeContentHash, requireAllRows, type ContentHash } from './fingerprint.js';
import { resolveDataSource, type DataFormat } from './source.js';
import { binEdges, binsOf, compareBytes, countAtOrBelow, doubleLiteral, quantilesOfCounts, robustStats } from './stats.js';
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
/** Tokens kept in the vocabulary of a text column (by occurrences) and the least count kept. */
export const MAX_VOCABULARY = 50_000;
export const MIN_TOKEN_ROWS = 3;
/** String columns whose values average at least this many characters, most with three words or more, are text. */
export const TEXT_MIN_LENGTH = 12;
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
  /** Distinct values: exact, unless `distinctApproximate` (a HyperLogLog estimate, for columns with more than HISTOGRAM_LIMIT values where no decision depends on the figure). */
  distinct: number;
  distinctApproximate?: true;
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
  /** Tokens by their occurrences (an upper bound of the rows holding them), most first; tokens seen fewer than `cutoff` times are not listed. */
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
  /** Columns with at most this many distinct values are counted value by value (default HISTOGRAM_LIMIT; tests lower it to reach both paths). */
  histogramLimit?: number;
}

/** Profiles a dataset (a file or a directory of parts). */
export async function profileDataset(path: string, options: ProfileOptions = {}): Promise<DataProfile> {
  const source = await resolveDataSource(path, options.format === undefined ? {} : { format: options.format });
  return withEngine(options, async (engine) => {
    await engine.restrictAccess(source.parts.map((p) => p.absPath));
    options.onStep?.(`reading ${source.parts.length} ${source.format} part(s)`);
    // The files are hashed while DuckDB reads them, on DuckDB's threads. The read is started first:
    // a single file is hashed on this thread, and started first it would hold back the engine.
    const loading = loadTable(engine, source, 'base');
    const hashing = hashArtifact(path);
    hashing.catch(() => undefined);
    const table = await loading;
    const manifest = await hashing;
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
  const n = table.rows;

  options.onStep?.('column statistics');
  const { columns, histograms } = await profileColumns(engine, table, key?.name, label?.name, options.histogramLimit ?? HISTOGRAM_LIMIT);
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
  const { duplicates, near } = await repeatedRowStats(engine, table, columns, key, label, histograms);
  options.onStep?.('tokens');
  const tokens: TokenProfile[] = [];
  for (const name of text) {
    const column = columns.find((c) => c.name === name);
    if (column) tokens.push(await profileTokens(engine, table, column, options.forCheck === true));
  }
  options.onStep?.('outliers');
  const outliers = label && !options.forCheck ? await profileOutliers(engine, table, columns, label, histograms) : [];

  return {
    custodyDataProfile: PROFILE_VERSION,
    source: { name: table.source.path.replace(/\/+$/, '').split('/').pop() ?? table.source.path, format: table.source.format, kind: table.source.kind, digest: { sha256: '' }, files: [], skipped: table.source.skipped, rows: n },
    options: { ...(key ? { key: key.name } : {}), ...(label ? { label: label.name } : {}), text, segments },
    columns,
    ...(labelProfile ? { label: labelProfile } : {}),
    duplicates,
    tokens,
    outliers,
    nearDuplicates: options.forCheck ? { rowsInClusters: 0, clusters: 0 } : near,
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

/**
 * Columns whose distinct values are estimated (HyperLogLog) at or below this many are counted value by
 * value: one grouping gives their exact distinct count, their top values and, for numbers, every
 * quantile, bin and CDF point without sorting. Columns above it get an exact distinct count only where
 * a decision depends on it (the key; an integer column that may be a row id); elsewhere the estimate is
 * kept and marked `distinctApproximate` (it decides nothing: no threshold lies near it).
 */
export const HISTOGRAM_LIMIT = 100_000;

interface ColumnPass {
  count: number;
  approx: number;
  lmin: number;
  lmax: number;
  lavg: number;
  /** Share of values with at least three words (strings long enough to be text only). */
  wordy: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  finite: number;
  nonFinite: number;
}

/** A column's values with their counts (exact; NULL left out). `x` is the value as a double (numbers only). */
interface Histogram {
  values: { value: string; x: number; n: number }[];
  /** Per label (canonical text, `<null>` for none): the values as doubles and their counts. */
  byLabel?: Map<string, { x: number[]; n: number[] }>;
}

async function profileColumns(engine: DataEngine, table: LoadedTable, key: string | undefined, label: string | undefined, histogramLimit: number): Promise<{ columns: ColumnProfile[]; histograms: Map<string, Histogram> }> {
  const t = sqlIdent(table.table);
  // One pass for counts, estimated distinct values and lengths of every column.
  const selects: string[] = [];
  for (const [i, c] of table.columns.entries()) {
    const ref = sqlIdent(c.name);
    // The key's distinct values are always counted exactly, and neither key nor label needs moments.
    selects.push(`count(${ref}) AS c${i}`, c.name === key ? `0 AS a${i}` : `approx_count_distinct(${ref}) AS a${i}`);
    if (c.kind === 'string') selects.push(`min(length(${ref})) AS lmin${i}`, `max(length(${ref})) AS lmax${i}`, `avg(length(${ref})) AS lavg${i}`);
    // Words tell text from identifiers: the share of values with at least three (a pattern test;
    // counting every space would copy every value).
    if (c.kind === 'string' && c.name !== key && c.name !== label) selects.push(`avg(CASE WHEN ${ref} LIKE '% % %' THEN 1.0 ELSE 0.0 END) AS sp${i}`);
  }
  const [first] = await engine.objects(`SELECT ${selects.join(', ')} FROM ${t}`, `counting values of ${table.source.path}`);
  // Moments of numeric columns with many values (those with few come from their counts, exactly).
  const momentSelects: string[] = [];
  for (const [i, c] of table.columns.entries()) {
    if (!isNumericKind(c.kind) || c.name === key || c.name === label || num(first?.[`a${i}`]) <= histogramLimit) continue;
    const x = `CAST(${sqlIdent(c.name)} AS DOUBLE)`;
    momentSelects.push(
      `min(${x}) FILTER (isfinite(${x})) AS mn${i}`,
      `max(${x}) FILTER (isfinite(${x})) AS mx${i}`,
      `avg(${x}) FILTER (isfinite(${x})) AS mean${i}`,
      `stddev_samp(${x}) FILTER (isfinite(${x})) AS sd${i}`,
      `count_if(isfinite(${x})) AS fin${i}`,
      `count_if(NOT isfinite(${x})) AS nf${i}`,
    );
  }
  const moments = momentSelects.length === 0 ? {} : ((await engine.objects(`SELECT ${momentSelects.join(', ')} FROM ${t}`, 'numeric moments'))[0] ?? {});
  const basic: Record<string, unknown> = { ...first, ...moments };
  const pass = (i: number): ColumnPass => ({
    count: num(basic?.[`c${i}`]),
    approx: num(basic?.[`a${i}`]),
    lmin: num(basic?.[`lmin${i}`]),
    lmax: num(basic?.[`lmax${i}`]),
    lavg: num(basic?.[`lavg${i}`]),
    wordy: num(basic[`sp${i}`] ?? 0),
    min: num(basic?.[`mn${i}`]),
    max: num(basic?.[`mx${i}`]),
    mean: num(basic?.[`mean${i}`]),
    std: num(basic?.[`sd${i}`]),
    finite: num(basic?.[`fin${i}`]),
    nonFinite: num(basic?.[`nf${i}`]),
  });

  const out: ColumnProfile[] = [];
  const histograms = new Map<string, Histogram>();
  // The label first: with few classes, numeric columns are counted by value and label at once (their
  // robust statistics by label then need no pass of their own).
  const labelIndex = table.columns.findIndex((c) => c.name === label);
  const order = [...table.columns.keys()].sort((a, b) => (a === labelIndex ? -1 : b === labelIndex ? 1 : a - b));
  let byLabel: string | undefined;
  for (const i of order) {
    const c = table.columns[i];
    if (!c) continue;
    const p = pass(i);
    let distinct = p.approx;
    let approximate = true;
    if (p.count === 0) {
      distinct = 0;
      approximate = false;
    } else if (c.name !== key && p.approx <= histogramLimit) {
      const h = await histogramOf(engine, table, c, isNumericKind(c.kind) && c.name !== label ? byLabel : undefined);
      histograms.set(c.name, h);
      if (c.name === label && h.values.length <= 20) byLabel = `coalesce(${canonicalValueSql(c)}, '<null>')`;
      distinct = h.values.length;
      approximate = false;
    } else if (c.name === key || (c.kind === 'integer' && p.approx >= p.count / 2)) {
      // Distinct values = values − repeats; grouping with HAVING keeps only the repeated values (cheaper than count(DISTINCT)).
      const [row] = await engine.objects(`SELECT coalesce(sum(n - 1), 0) AS extra FROM (SELECT count(*) AS n FROM ${t} WHERE ${sqlIdent(c.name)} IS NOT NULL GROUP BY ${sqlIdent(c.name)} HAVING count(*) > 1)`, `counting distinct values of ${c.name}`);
      distinct = p.count - num(row?.['extra']);
      approximate = false;
    }
    const profile: ColumnProfile = { name: c.name, type: c.type, kind: c.kind, semantic: 'other', count: p.count, nulls: table.rows - p.count, distinct, ...(approximate ? { distinctApproximate: true } : {}) };
    if (c.kind === 'string' && p.count > 0) profile.lengths = { min: p.lmin, max: p.lmax, mean: round(p.lavg) };
    profile.semantic = c.name === key ? 'key' : c.name === label ? 'label' : inferSemantic(c, p.count, distinct, p.lavg, p.wordy);
    const h = histograms.get(c.name);
    if (isNumericKind(c.kind) && profile.semantic === 'numeric') profile.numeric = h ? numericStatsOfHistogram(h) : await numericStats(engine, table, c, p);
    if (LISTED.has(profile.semantic) && profile.count > 0) profile.top = h ? topValuesOfHistogram(h) : await topValues(engine, table, c, distinct);
    out[i] = profile;
  }
  return { columns: out, histograms };
}

/**
 * Counts a column value by value (exact), with each value's canonical text and, for numbers, its
 * double; with `labelSql`, by value and label, keeping the counts per label too.
 */
async function histogramOf(engine: DataEngine, table: LoadedTable, c: ColumnInfo, labelSql?: string): Promise<Histogram> {
  const ref = sqlIdent(c.name);
  const x = isNumericKind(c.kind) ? `CAST(${ref} AS DOUBLE)` : 'NULL::DOUBLE';
  const l = labelSql ?? "''";
  const rows = await engine.query(`SELECT ${canonicalValueSql(c)}, ${x}, ${l} AS l, count(*) FROM ${sqlIdent(table.table)} WHERE ${ref} IS NOT NULL GROUP BY ${ref}, l`, `counting values of column ${c.name}`);
  // Distinct values with the same canonical text (0 and -0) are one value, as the canonical grouping sees them.
  const byValue = new Map<string, { value: string; x: number; n: number }>();
  const byLabel = new Map<string, { x: number[]; n: number[] }>();
  for (const [value, xv, lv, n] of rows.rows as [string, number | null, string, bigint][]) {
    const seen = byValue.get(value);
    if (seen) seen.n += Number(n);
    else byValue.set(value, { value, x: xv ?? NaN, n: Number(n) });
    if (labelSql !== undefined) {
      const entry = byLabel.get(lv) ?? { x: [], n: [] };
      entry.x.push(xv ?? NaN);
      entry.n.push(Number(n));
      byLabel.set(lv, entry);
    }
  }
  return { values: [...byValue.values()], ...(labelSql !== undefined ? { byLabel } : {}) };
}

function topValuesOfHistogram(h: Histogram): NonNullable<ColumnProfile['top']> {
  const complete = h.values.length <= MAX_LISTED_VALUES;
  const sorted = [...h.values].sort((a, b) => b.n - a.n || compareBytes(a.value, b.value));
  return { values: sorted.slice(0, complete ? MAX_LISTED_VALUES : TOP_VALUES).map((v) => ({ value: v.value, count: v.n })), complete };
}

/** Finite values of a histogram in ascending order, with their counts. */
function sortedFinite(h: Histogram): { x: number[]; n: number[] } {
  const finite = h.values.filter((v) => Number.isFinite(v.x)).sort((a, b) => a.x - b.x);
  return { x: finite.map((v) => v.x), n: finite.map((v) => v.n) };
}

function numericStatsOfHistogram(h: Histogram): NumericStats {
  const { x, n } = sortedFinite(h);
  const cumulative: number[] = [];
  let total = 0;
  let sum = 0;
  for (const [i, k] of n.entries()) {
    cumulative.push((total += k));
    sum += k * (x[i] ?? 0);
  }
  const mean = total > 0 ? sum / total : NaN;
  let squares = 0;
  for (const [i, k] of n.entries()) squares += k * ((x[i] ?? 0) - mean) ** 2;
  const p = { min: x[0] ?? NaN, max: x[x.length - 1] ?? NaN, mean, std: total > 1 ? Math.sqrt(squares / (total - 1)) : NaN, nonFinite: h.values.reduce((s, v) => s + (Number.isFinite(v.x) ? 0 : v.n), 0) };
  const quantiles = quantilesOfCounts(x, n, QUANTILE_LEVELS);
  const edges = binEdges(quantiles);
  return {
    min: finiteOr(p.min),
    max: finiteOr(p.max),
    mean: finiteOr(round(p.mean)),
    std: finiteOr(round(p.std)),
    quantiles,
    bins: { edges, counts: binsOf(edges.map((e) => countAtOrBelow(x, cumulative, e)), total) },
    cdf: quantiles.map((q) => (total > 0 ? round(countAtOrBelow(x, cumulative, q) / total) : 0)),
    nonFinite: p.nonFinite,
  };
}

function inferSemantic(c: ColumnInfo, count: number, distinct: number, meanLength: number, wordyShare: number): SemanticType {
  if (count === 0 || distinct <= 1) return 'constant';
  if (c.kind === 'boolean') return 'boolean';
  if (c.kind === 'date' || c.kind === 'datetime') return 'datetime';
  // An integer column with a different value in every row is a row id, not a quantity.
  if (c.kind === 'integer' && distinct === count && count >= 100) return 'identifier';
  if (isNumericKind(c.kind)) return c.kind === 'integer' && distinct <= 20 ? 'categorical' : 'numeric';
  if (c.kind === 'string') {
    if (wordyShare >= 0.5 && meanLength >= TEXT_MIN_LENGTH) return 'text';
    if (distinct <= MAX_LISTED_VALUES && distinct <= Math.max(20, count / 20)) return 'categorical';
    return 'identifier';
  }
  return 'other';
}

function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(12)) : x;
}

async function numericStats(engine: DataEngine, table: LoadedTable, c: ColumnInfo, p: ColumnPass): Promise<NumericStats> {
  const x = `CAST(${sqlIdent(c.name)} AS DOUBLE)`;
  const sorted = await sortedPositions(engine, `SELECT ${x} AS v FROM ${sqlIdent(table.table)} WHERE isfinite(${x})`, p.finite, QUANTILE_LEVELS);
  const edges = binEdges(sorted.quantiles);
  const below = (q: number): number => sorted.atOrBelow.get(q) ?? 0;
  return {
    min: finiteOr(p.min),
    max: finiteOr(p.max),
    mean: finiteOr(round(p.mean)),
    std: finiteOr(round(p.std)),
    quantiles: sorted.quantiles,
    bins: { edges, counts: binsOf(edges.map(below), p.finite) },
    cdf: sorted.quantiles.map((q) => (p.finite > 0 ? round(below(q) / p.finite) : 0)),
    nonFinite: p.nonFinite,
  };
}

/**
 * Exact quantiles of a numeric query's values (column `v`, `n` of them) from one sort, and how many
 * values lie at or below each quantile (from the same sort: the count of values up to and including
 * each read position's value). A quantile between two neighbouring sorted values a < b has exactly
 * the values up to a at or below it; one equal to b has those up to b.
 */
async function sortedPositions(engine: DataEngine, valuesSql: string, n: number, levels: readonly number[]): Promise<{ quantiles: number[]; atOrBelow: Map<number, number> }> {
  if (n === 0) return { quantiles: [], atOrBelow: new Map() };
  const positions = new Set<number>();
  for (const q of levels) {
    const h = (n - 1) * q;
    positions.add(Math.floor(h));
    positions.add(Math.ceil(h));
  }
  const rows = await engine.query(
    `SELECT r, v, cum FROM (SELECT v, row_number() OVER w - 1 AS r, count(*) OVER (w RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum FROM (${valuesSql}) WINDOW w AS (ORDER BY v)) WHERE r IN (${[...positions].sort((a, b) => a - b).join(', ')})`,
    'computing quantiles',
  );
  const at = new Map((rows.rows as [bigint, number, bigint][]).map(([r, v, cum]) => [Number(r), { v, cum: Number(cum) }]));
  const quantiles: number[] = [];
  const atOrBelow = new Map<number, number>();
  for (const q of levels) {
    const h = (n - 1) * q;
    const lo = at.get(Math.floor(h));
    const hi = at.get(Math.ceil(h));
    const value = (lo?.v ?? NaN) + (h - Math.floor(h)) * ((hi?.v ?? NaN) - (lo?.v ?? NaN));
    quantiles.push(value);
    atOrBelow.set(value, hi && value >= hi.v ? hi.cum : (lo?.cum ?? 0));
  }
  return { quantiles, atOrBelow };
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
  const cols = segments.map((name) => table.columns.find((c) => c.name === name)).filter((c): c is ColumnInfo => c !== undefined);
  if (cols.length === 0) return out;
  // Every segment column's label counts in one scan: one grouping set per column.
  const sets = cols.map((_, i) => `(s${i}, l)`).join(', ');
  const rows = await engine.query(
    `SELECT [${cols.map((_, i) => `GROUPING(s${i})`).join(', ')}] AS g, ${cols.map((_, i) => `s${i}`).join(', ')}, l, count(*) AS n
     FROM (SELECT ${cols.map((c, i) => `coalesce(${canonicalValueSql(c)}, '<null>') AS s${i}`).join(', ')}, ${lv} AS l FROM ${t}) GROUP BY GROUPING SETS (${sets})`,
    'label rates by segment',
  );
  const bySegment = cols.map(() => [] as [string, string, number][]);
  for (const row of rows.rows) {
    const grouping = row[0] as number[];
    const i = grouping.findIndex((g) => Number(g) === 0);
    if (i < 0) continue;
    bySegment[i]?.push([row[1 + i] as string, row[1 + cols.length] as string, Number(row[2 + cols.length] as bigint)]);
  }
  for (const [i, col] of cols.entries()) {
    const list = (bySegment[i] ?? []).sort((a, b) => compareBytes(a[0], b[0]) || compareBytes(a[1], b[1]));
    const values = new Map<string, { value: string; rows: number; labels: Record<string, number> }>();
    for (const [sv, l, count] of list) {
      // A null-prototype record: a label value named __proto__ is a count like any other.
      const entry = values.get(sv) ?? { value: sv, rows: 0, labels: Object.create(null) as Record<string, number> };
      entry.rows += count;
      entry.labels[l] = count;
      values.set(sv, entry);
    }
    if (values.size <= MAX_SEGMENT_VALUES + 1) out.segments.push({ column: col.name, values: [...values.values()] });
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
  // NFC and the whitespace regex only where there is a non-ASCII character (bytes ≠ characters) or
  // whitespace to collapse, trim only where a value starts or ends with a space (DuckDB's trim costs
  // three times lower()): on millions of rows each costs more than the tests that skip it.
  const spacing = `contains(${v}, '  ') OR contains(${v}, chr(9)) OR contains(${v}, chr(10)) OR contains(${v}, chr(13))`;
  const nfc = `CASE WHEN strlen(${v}) <> length(${v}) THEN nfc_normalize(${v}) ELSE ${v} END`;
  return `CASE WHEN ${spacing} OR strlen(${v}) <> length(${v}) THEN lower(trim(regexp_replace(${nfc}, '\\s+', ' ', 'g'))) WHEN starts_with(${v}, ' ') OR ends_with(${v}, ' ') THEN lower(trim(${v})) ELSE lower(${v}) END`;
}

/**
 * Matches where a string may not be its own canonical form: a character that is not printable ASCII
 * or is a capital, two spaces in a row, or a space at either end. Where it does not match,
 * canonicalDupSql gives the value back unchanged.
 */
const OWN_CANONICAL_FORM_MISS = new RegExp('[^ -@\\[-~]| {2}|^ | $');

/** True when canonicalDupSql leaves `value` as it is. */
export function isOwnCanonicalForm(value: string): boolean {
  return !OWN_CANONICAL_FORM_MISS.test(value);
}

/** Columns of the near-duplicate signature: the features (all but key and label) that are not row identifiers. */
function nearFeatures(table: LoadedTable, columns: readonly ColumnProfile[], key: ColumnInfo | undefined, label: ColumnInfo | undefined): ColumnInfo[] {
  return featureColumns(table, key, label, false).filter((c) => columns.find((p) => p.name === c.name)?.semantic !== 'identifier');
}

let scratchTables = 0;

/**
 * Exact duplicate, conflicting-label and near-duplicate statistics of a table in one grouping of every
 * row. Rows that repeat each other in any of these senses (equal on every column but the key, equal
 * after canonicalisation, equal features with other labels, equal near-duplicate signatures) share
 * their near-duplicate signature, so they share its 64-bit hash: grouping all rows by that one
 * integer finds every row that can take part (a collision only adds rows). When no hash repeats (the
 * common case) nothing else runs; otherwise the exact groupings run over those rows alone.
 */
export async function repeatedRowStats(engine: DataEngine, table: LoadedTable, columns: readonly ColumnProfile[], key: ColumnInfo | undefined, label: ColumnInfo | undefined, histograms?: ReadonlyMap<string, Histogram>): Promise<{ duplicates: DuplicateStats; near: NearDuplicateStats }> {
  const t = sqlIdent(table.table);
  const all = featureColumns(table, key, label, true);
  const features = featureColumns(table, key, label, false);
  const duplicates: DuplicateStats = { columns: all.map((c) => c.name), exact: 0, canonical: 0, conflictingGroups: 0, conflictingRows: 0 };
  const near: NearDuplicateStats = { rowsInClusters: 0, clusters: 0 };
  if (all.length === 0) return { duplicates, near };
  const nearCols = nearFeatures(table, columns, key, label);
  // A string column whose every value (counted in its histogram) is already in canonical form needs
  // no canonicalisation row by row.
  const canonicalAlready = new Set(nearCols.filter((c) => c.kind === 'string' && histograms?.get(c.name)?.values.every((v) => isOwnCanonicalForm(v.value))).map((c) => c.name));
  const signature = nearSignatureParts(nearCols, canonicalAlready);
  // Any part of the signature can find the candidates (rows equal on all of it are equal on a part).
  // When a string column nearly tells rows apart on its own (free text), it and the other non-numeric
  // parts suffice, and the rounding of every number (the costliest part) is left to the candidates.
  const distinctive = nearCols.some((c) => c.kind === 'string' && (columns.find((p) => p.name === c.name)?.distinct ?? 0) >= table.rows / 2);
  const parts = distinctive ? signature.filter((_, i) => !isNumericKind(nearCols[i]?.kind ?? 'other')) : signature;
  const h = `hash(${parts.join(', ')})`;
  scratchTables += 1;
  const hs = sqlIdent(`__custody_hashes_${scratchTables}`);
  const r = sqlIdent(`__custody_repeated_${scratchTables}`);
  try {
    // The first and last row of each repeated hash come with the grouping: when no hash has more than
    // two rows (free text that repeats now and then), they are all the candidate rows, fetched by row id.
    await engine.run(`CREATE TEMP TABLE ${hs} AS SELECT ${h} AS h, count(*) AS n, min(rowid) AS r1, max(rowid) AS r2 FROM ${t} GROUP BY ${h} HAVING count(*) >= 2`, 'grouping rows by their values');
    const [found] = await engine.objects(`SELECT count(*) AS groups, coalesce(max(n), 0) AS most FROM ${hs}`, 'grouping rows by their values');
    if (num(found?.['groups']) === 0) return { duplicates, near };
    await engine.run(
      num(found?.['most']) <= 2
        ? `CREATE TEMP TABLE ${r} AS SELECT * FROM ${t} WHERE rowid IN (SELECT r1 FROM ${hs} UNION ALL SELECT r2 FROM ${hs})`
        : `CREATE TEMP TABLE ${r} AS SELECT * FROM ${t} WHERE ${h} IN (SELECT h FROM ${hs})`,
      'collecting rows that repeat',
    );
    const exact = all.map((c) => sqlIdent(c.name)).join(', ');
    const canon = all.map((c) => canonicalDupSql(c)).join(', ');
    const conflicts = label && features.length > 0
      ? `(SELECT count(*) AS g, coalesce(sum(n), 0) AS cr FROM (SELECT count(*) AS n, count(DISTINCT ${sqlIdent(label.name)}) AS l FROM ${r} GROUP BY ${features.map((f) => sqlIdent(f.name)).join(', ')}) WHERE l > 1)`
      : '(SELECT 0 AS g, 0 AS cr)';
    // One grouping per statistic, each over the candidate rows only.
    const [row] = await engine.objects(
      `SELECT * FROM (SELECT coalesce(sum(n - 1), 0) AS exact FROM (SELECT count(*) AS n FROM ${r} GROUP BY ${exact})),
                     (SELECT coalesce(sum(n - 1), 0) AS canonical FROM (SELECT count(*) AS n FROM ${r} GROUP BY ${canon})),
                     (SELECT count(*) AS clusters, coalesce(sum(n), 0) AS near FROM (SELECT count(*) AS n FROM ${r} GROUP BY ${signature.join(', ')} HAVING count(*) >= 3)),
                     ${conflicts}`,
      'counting duplicate rows',
    );
    duplicates.exact = num(row?.['exact']);
    duplicates.canonical = num(row?.['canonical']);
    duplicates.conflictingGroups = num(row?.['g']);
    duplicates.conflictingRows = num(row?.['cr']);
    if (nearCols.length > 0) {
      near.clusters = num(row?.['clusters']);
      near.rowsInClusters = num(row?.['near']);
    }
  } finally {
    await engine.run(`DROP TABLE IF EXISTS ${r}`, 'cleaning up');
    await engine.run(`DROP TABLE IF EXISTS ${hs}`, 'cleaning up');
  }
  return { duplicates, near };
}

/**
 * The tokens of a text value, as a list (with repeats and empty strings): lower-cased runs of letters,
 * digits and underscores. Values made only of lower-case ASCII letters, digits, underscores and
 * spaces (most machine-made text) are split on spaces as they are (lower() costs as much as the
 * split); values with ASCII capitals as well are lower-cased first; others are split by the Unicode
 * pattern (several times slower). Every path gives the same tokens for the values it takes.
 */
export function tokenListSql(ref: string): string {
  return `CASE WHEN NOT regexp_matches(${ref}, '[^a-z0-9_ ]') THEN string_split(${ref}, ' ') WHEN regexp_matches(${ref}, '[^a-zA-Z0-9_ ]') THEN ${UNICODE_TOKENS(`lower(${ref})`)} ELSE string_split(lower(${ref}), ' ') END`;
}

/** Splits lower-cased text into runs of Unicode letters, digits and underscores. */
const UNICODE_TOKENS = (lowered: string): string => `string_split_regex(${lowered}, '[^\\p{L}\\p{N}_]+')`;

/**
 * Tokens kept: at least two characters. A code point takes at most four bytes, so five bytes always
 * hold two; counting characters (which costs more than the split) is left to shorter tokens.
 */
const TOKEN_LENGTH_SQL = '(strlen(tok) >= 5 OR (strlen(tok) >= 2 AND length(tok) >= 2))';

/** Rows whose text holds `token` (cheap substring test first, then the tokens). */
export function hasTokenSql(ref: string, token: string): string {
  return `(contains(lower(${ref}), ${sqlString(token)}) AND list_contains(${tokenListSql(ref)}, ${sqlString(token)}))`;
}

/**
 * Each row's distinct tokens of a text column (at least two characters long, first occurrence only),
 * one per output row (column `tok`), beside an optional expression named `alias`. The first-occurrence
 * test runs on the unnested tokens (a lambda over each list costs twice as much).
 */
export function unnestTokensSql(table: string, ref: string, extra?: { sql: string; alias: string }): string {
  const outer = extra ? `, ${sqlIdent(extra.alias)}` : '';
  const inner = extra ? `, ${extra.sql} AS ${sqlIdent(extra.alias)}` : '';
  return `SELECT tok${outer} FROM (SELECT unnest(tl) AS tok, generate_subscripts(tl, 1) AS i, tl${outer} FROM (SELECT ${tokenListSql(ref)} AS tl${inner} FROM ${table} WHERE ${ref} IS NOT NULL)) WHERE ${TOKEN_LENGTH_SQL} AND list_position(tl, tok) = i`;
}

async function profileTokens(engine: DataEngine, table: LoadedTable, column: ColumnProfile, rowsOnly: boolean): Promise<TokenProfile> {
  const t = sqlIdent(table.table);
  const ref = sqlIdent(column.name);
  const rows = column.count;
  if (rowsOnly) return { column: column.name, rows, vocabulary: [], cutoff: MIN_TOKEN_ROWS };
  const vocab = await engine.query(
    // Occurrences, not rows: a token repeated within a row counts each time. The baseline's counts are
    // an upper bound of the rows holding each token (the candidate's side of a check counts rows
    // exactly), so a surge measured against them is never overstated; finding each row's first
    // occurrence would cost two thirds more. Values are split on spaces and the pieces counted first;
    // the pieces (far fewer than the occurrences) are then lower-cased and, where they hold anything
    // but ASCII letters, digits and underscores, split again by the Unicode pattern. Splitting on
    // spaces first changes no token (a space is a separator either way).
    `SELECT tok, sum(n) AS n FROM (SELECT unnest(CASE WHEN regexp_matches(piece, '[^a-zA-Z0-9_]') THEN ${UNICODE_TOKENS('lower(piece)')} ELSE [lower(piece)] END) AS tok, n FROM (SELECT piece, count(*) AS n FROM (SELECT unnest(string_split(${ref}, ' ')) AS piece FROM ${t} WHERE ${ref} IS NOT NULL) GROUP BY piece)) WHERE length(tok) >= 2 GROUP BY tok HAVING sum(n) >= ${MIN_TOKEN_ROWS} ORDER BY n DESC, tok LIMIT ${MAX_VOCABULARY + 1}`,
    `counting tokens of ${column.name}`,
  );
  const list = (vocab.rows as [string, bigint][]).map(([tok, count]) => [tok, Number(count)] as [string, number]);
  let cutoff = MIN_TOKEN_ROWS;
  if (list.length > MAX_VOCABULARY) {
    const last = list[MAX_VOCABULARY]?.[1] ?? MIN_TOKEN_ROWS;
    list.length = MAX_VOCABULARY;
    cutoff = last + 1;
    while (list.length > 0 && (list[list.length - 1]?.[1] ?? 0) < cutoff) list.pop();
  }
  return { column: column.name, rows, vocabulary: list, cutoff };
}

async function profileOutliers(engine: DataEngine, table: LoadedTable, columns: readonly ColumnProfile[], label: ColumnInfo, histograms: ReadonlyMap<string, Histogram>): Promise<OutlierProfile[]> {
  const t = sqlIdent(table.table);
  const lv = `coalesce(${canonicalValueSql(label)}, '<null>')`;
  const out: OutlierProfile[] = [];
  for (const c of columns) {
    if (c.semantic !== 'numeric') continue;
    const x = `CAST(${sqlIdent(c.name)} AS DOUBLE)`;
    const h = histograms.get(c.name);
    if (h) {
      // Few values: median, MAD and outliers come from the counts by label and value.
      let byLabel = h.byLabel;
      if (!byLabel) {
        const rows = await engine.query(`SELECT ${lv} AS l, ${x} AS x, count(*) FROM ${t} WHERE isfinite(${x}) GROUP BY l, x`, `robust statistics of ${c.name} by label`);
        byLabel = new Map<string, { x: number[]; n: number[] }>();
        for (const [l, xv, k] of rows.rows as [string, number, bigint][]) {
          const entry = byLabel.get(l) ?? { x: [], n: [] };
          entry.x.push(xv);
          entry.n.push(Number(k));
          byLabel.set(l, entry);
        }
      }
      for (const l of [...byLabel.keys()].sort(compareBytes)) {
        const entry = byLabel.get(l);
        if (!entry) continue;
        const finite = entry.x.map((v, k) => [v, entry.n[k] ?? 0] as const).filter(([v]) => Number.isFinite(v));
        if (finite.length === 0) continue;
        const r = robustStats(finite.map(([v]) => v), finite.map(([, k]) => k), OUTLIER_MADS);
        out.push({ column: c.name, label: l, rows: r.rows, median: round(r.median), mad: round(r.mad), outliers: r.outliers });
      }
      continue;
    }
    // Many values: medians by label, then the MADs around them and the outliers past them, each one
    // pass with the medians (and MADs) written into the query (no join of every row). Integer, string
    // and boolean labels are grouped by their own values (one-to-one with their canonical text, which is
    // then made once per label, not once per row).
    const raw = label.kind === 'integer' || label.kind === 'string' || label.kind === 'boolean';
    const v = `SELECT ${raw ? sqlIdent(label.name) : lv} AS l, ${x} AS x FROM ${t} WHERE isfinite(${x})`;
    const labelOut = raw ? `coalesce(${canonicalValueSql(label, 'l')}, '<null>') AS name, l IS NULL AS nl` : 'l AS name, false AS nl';
    const keyOf = (name: string, isnull: boolean): string => `${String(isnull)}:${name}`;
    const byLabel = async (aggregate: string): Promise<Map<string, unknown>> => {
      const rows = (await engine.query(`SELECT ${labelOut}, ${aggregate} FROM (${v}) GROUP BY l`, `robust statistics of ${c.name} by label`)).rows as [string, boolean, unknown][];
      return new Map(rows.map(([name, isnull, value]) => [keyOf(name, isnull), value]));
    };
    const medians = (await engine.query(`SELECT ${labelOut}, count(*), quantile_cont(x, 0.5) FROM (${v}) GROUP BY l ORDER BY name, nl`, `robust statistics of ${c.name} by label`)).rows as [string, boolean, bigint, number][];
    if (medians.length === 0) continue;
    // A label's value as a literal of its own type (the canonical text of an integer is its digits).
    const literal = (name: string): string => (!raw || label.kind === 'string' ? sqlString(name) : label.kind === 'integer' ? BigInt(name).toString() : String(name === 'true'));
    const caseByLabel = (values: readonly number[]): string => `CASE ${medians.map(([name, isnull], i) => `WHEN ${isnull ? 'l IS NULL' : `l = ${literal(name)}`} THEN ${doubleLiteral(values[i] ?? 0)}`).join(' ')} END`;
    const med = caseByLabel(medians.map(([, , , m]) => m));
    const mads = await byLabel(`quantile_cont(abs(x - ${med}), 0.5) * 1.4826`);
    const madOf = (name: string, isnull: boolean): number => num(mads.get(keyOf(name, isnull)));
    const mad = caseByLabel(medians.map(([name, isnull]) => madOf(name, isnull)));
    const counts = await byLabel(`count_if(${mad} > 0 AND abs(x - ${med}) > ${OUTLIER_MADS} * ${mad})`);
    for (const [name, isnull, n, m] of medians) {
      out.push({ column: c.name, label: name, rows: Number(n), median: round(num(m)), mad: round(madOf(name, isnull)), outliers: num(counts.get(keyOf(name, isnull))) });
    }
  }
  return out;
}

/**
 * The near-duplicate signature of a row: numbers rounded to three significant digits, strings in
 * their canonical form (trimmed, lower-cased, spacing collapsed, NFC), over every column but key,
 * label and identifier-like columns.
 */
export function nearSignatureSql(columns: readonly ColumnInfo[]): string {
  return `(${nearSignatureParts(columns).join(', ')})`;
}

function nearSignatureParts(columns: readonly ColumnInfo[], canonicalAlready: ReadonlySet<string> = new Set()): string[] {
  const items = columns.map((c) => {
    const ref = sqlIdent(c.name);
    if (isNumericKind(c.kind)) {
      const x = `CAST(${ref} AS DOUBLE)`;
      return `CASE WHEN ${x} = 0 OR NOT isfinite(${x}) THEN ${x} ELSE round(${x}, CAST(2 - floor(log10(abs(${x}))) AS INTEGER)) END`;
    }
    // Strings in their canonical form (case, spacing, NFC), so that canonical duplicates are near duplicates too.
    if (c.kind === 'string') return canonicalAlready.has(c.name) ? ref : canonicalDupSql(c);
    return canonicalValueSql(c);
  });
  return items.length === 0 ? ["''"] : items;
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
      need(c['distinctApproximate'] === undefined || c['distinctApproximate'] === true, `${at}.distinctApproximate`, 'must be true when present');
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
