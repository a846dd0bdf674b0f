import { parse as parseYaml } from 'yaml';
import { CustodyError, formatProblems, isCustodyError, type Problem } from '../core/errors.js';
import { isRecord } from '../core/json.js';
import { readRegularFile } from '../core/safe-fs.js';

/**
 * A data contract (YAML): thresholds for the checks, per column where it makes sense, and what must
 * not change at all. Flow as for .custody.yml: parse → validate, every problem reported at once.
 *
 *   thresholds: {psi: 0.2, ks: 0.1, …}          # any key of DEFAULT_THRESHOLDS
 *   columns: {amount: {psi: 0.1}, notes: {ignore: true}}
 *   rows: {min: 1000, max: 2000000}
 *   freeze: {content: true, schema: true, columns: [label]}
 */

export const DEFAULT_THRESHOLDS = {
  /** Population stability index of a numeric column over the baseline's decile bins. */
  psi: 0.2,
  /** Kolmogorov–Smirnov D (largest gap between the two CDFs at the baseline's percentiles). */
  ks: 0.1,
  /** Wasserstein-1 distance between the two quantile functions, divided by the baseline's standard deviation. */
  wasserstein: 0.25,
  /** Largest change of one value's share (L-infinity) in a categorical column. */
  linf: 0.1,
  /** Jensen–Shannon distance (base 2) between two categorical distributions. */
  js: 0.1,
  /** Share of a categorical column's values never seen in the baseline. */
  unseen: 0.01,
  /** Increase of a column's share of nulls. */
  nullRate: 0.05,
  /** Relative change of the row count, either way. */
  volume: 0.5,
  /** Largest change of one label class's share. */
  labelShift: 0.05,
  /** Change of a segment's label rate beyond the overall change. */
  segmentShift: 0.1,
  /** Rows a segment needs in both versions to be compared. */
  minSegmentRows: 50,
  /** Increase of the share of duplicated rows (exact or canonical). */
  duplicates: 0.001,
  /** Increase of the share of rows in groups of identical features with conflicting labels. */
  conflicts: 0.001,
  /** Share of shared keys whose label changed above which label flips are high severity (any flip is reported). */
  labelFlips: 0.0005,
  /** Rows a token needs to be a trigger. */
  triggerRows: 10,
  /** How many times more frequent than in the baseline a token must be. */
  triggerSurge: 5,
  /** Share of a token's rows that must carry one label. */
  triggerPurity: 0.9,
  /** Increase of the share of added rows in near-duplicate clusters. */
  nearDuplicates: 0.002,
  /** Increase of the share of a label's rows that are robust outliers in a column. */
  outliers: 0.005,
} as const;

export type ThresholdName = keyof typeof DEFAULT_THRESHOLDS;
export type Thresholds = Record<ThresholdName, number>;
const COLUMN_THRESHOLDS: readonly ThresholdName[] = ['psi', 'ks', 'wasserstein', 'linf', 'js', 'unseen', 'nullRate', 'outliers'];

export interface ColumnContract {
  ignore: boolean;
  thresholds: Partial<Thresholds>;
}

export interface DataContract {
  thresholds: Thresholds;
  columns: ReadonlyMap<string, ColumnContract>;
  rows: { min?: number; max?: number };
  freeze: { content: boolean; schema: boolean; columns: string[] };
}

export function defaultContract(): DataContract {
  return { thresholds: { ...DEFAULT_THRESHOLDS }, columns: new Map(), rows: {}, freeze: { content: false, schema: false, columns: [] } };
}

/** The threshold for a column: its own, else the contract's. */
export function thresholdFor(contract: DataContract, name: ThresholdName, column?: string): number {
  const own = column === undefined ? undefined : contract.columns.get(column)?.thresholds[name];
  return own ?? contract.thresholds[name];
}

export function isIgnored(contract: DataContract, column: string): boolean {
  return contract.columns.get(column)?.ignore === true;
}

function checkNumber(value: unknown, path: string, problems: Problem[]): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    problems.push({ path, message: `expected a number ≥ 0, found ${JSON.stringify(value)}` });
    return undefined;
  }
  return value;
}

function checkKeys(value: Record<string, unknown>, allowed: readonly string[], path: string, problems: Problem[]): void {
  for (const k of Object.keys(value)) if (!allowed.includes(k)) problems.push({ path: path === '' ? k : `${path}.${k}`, message: `unknown key; expected one of ${allowed.join(', ')}` });
}

/** Parses and validates contract text. Errors: CONFIG_INVALID with every problem. */
export function parseContract(text: string, source: string): DataContract {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100, uniqueKeys: true }) ?? {};
  } catch (error) {
    throw new CustodyError('CONFIG_INVALID', `${source}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  if (!isRecord(raw)) throw new CustodyError('CONFIG_INVALID', `${source}: expected a mapping at the top level`);
  const problems: Problem[] = [];
  const contract = defaultContract();
  checkKeys(raw, ['version', 'thresholds', 'columns', 'rows', 'freeze'], '', problems);
  if (raw['version'] !== undefined && raw['version'] !== 1) problems.push({ path: 'version', message: 'expected 1' });
  const names = Object.keys(DEFAULT_THRESHOLDS);
  if (raw['thresholds'] !== undefined) {
    if (!isRecord(raw['thresholds'])) problems.push({ path: 'thresholds', message: 'expected a mapping' });
    else {
      checkKeys(raw['thresholds'], names, 'thresholds', problems);
      for (const [k, v] of Object.entries(raw['thresholds'])) {
        const value = checkNumber(v, `thresholds.${k}`, problems);
        if (value !== undefined && names.includes(k)) contract.thresholds[k as ThresholdName] = value;
      }
    }
  }
  const columns = new Map<string, ColumnContract>();
  if (raw['columns'] !== undefined) {
    if (!isRecord(raw['columns'])) problems.push({ path: 'columns', message: 'expected a mapping of column name to settings' });
    else {
      for (const [name, setting] of Object.entries(raw['columns'])) {
        const path = `columns.${name}`;
        if (!isRecord(setting)) {
          problems.push({ path, message: 'expected a mapping' });
          continue;
        }
        checkKeys(setting, ['ignore', ...COLUMN_THRESHOLDS], path, problems);
        const entry: ColumnContract = { ignore: false, thresholds: {} };
        if (setting['ignore'] !== undefined) {
          if (typeof setting['ignore'] !== 'boolean') problems.push({ path: `${path}.ignore`, message: 'expected true or false' });
          else entry.ignore = setting['ignore'];
        }
        for (const k of COLUMN_THRESHOLDS) {
          if (setting[k] === undefined) continue;
          const value = checkNumber(setting[k], `${path}.${k}`, problems);
          if (value !== undefined) entry.thresholds[k] = value;
        }
        columns.set(name, entry);
      }
    }
  }
  contract.columns = columns;
  if (raw['rows'] !== undefined) {
    if (!isRecord(raw['rows'])) problems.push({ path: 'rows', message: 'expected a mapping with min and/or max' });
    else {
      checkKeys(raw['rows'], ['min', 'max'], 'rows', problems);
      for (const k of ['min', 'max'] as const) {
        const v = raw['rows'][k];
        if (v === undefined) continue;
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) problems.push({ path: `rows.${k}`, message: `expected a whole number ≥ 0, found ${JSON.stringify(v)}` });
        else contract.rows[k] = v;
      }
    }
  }
  if (raw['freeze'] !== undefined) {
    const freeze = raw['freeze'];
    if (!isRecord(freeze)) problems.push({ path: 'freeze', message: 'expected a mapping: {content: true, schema: true, columns: [...]}' });
    else {
      checkKeys(freeze, ['content', 'schema', 'columns'], 'freeze', problems);
      for (const k of ['content', 'schema'] as const) {
        if (freeze[k] === undefined) continue;
        if (typeof freeze[k] !== 'boolean') problems.push({ path: `freeze.${k}`, message: 'expected true or false' });
        else contract.freeze[k] = freeze[k];
      }
      if (freeze['columns'] !== undefined) {
        if (!Array.isArray(freeze['columns']) || !freeze['columns'].every((c) => typeof c === 'string')) problems.push({ path: 'freeze.columns', message: 'expected a list of column names' });
        else contract.freeze.columns = freeze['columns'] as string[];
      }
    }
  }
  if (problems.length > 0) throw new CustodyError('CONFIG_INVALID', `${source} has ${problems.length} problem(s):\n${formatProblems(problems)}`, { details: { problems } });
  return contract;
}

export const MAX_CONTRACT_BYTES = 1024 * 1024;

/** Reads a contract file (a regular file of bounded size). Errors: CONFIG_NOT_FOUND, SPECIAL_FILE, INPUT_LIMIT, CONFIG_INVALID. */
export async function loadContract(path: string): Promise<DataContract> {
  let data: Buffer;
  try {
    data = await readRegularFile(path, { maxBytes: MAX_CONTRACT_BYTES });
  } catch (error) {
    if (isCustodyError(error, 'PATH_NOT_FOUND')) throw new CustodyError('CONFIG_NOT_FOUND', `cannot read contract ${path}: ${error.message}`, { cause: error });
    throw error;
  }
  return parseContract(data.toString('utf8'), path);
}
