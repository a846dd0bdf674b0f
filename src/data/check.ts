import { computeFingerprint, compareFindings, type Finding, type Location } from '../core/finding.js';
import { CustodyError } from '../core/errors.js';
import { formatMessage, type AnyRule, type ReportInput } from '../core/rule.js';
import { SEVERITIES, type Severity } from '../core/severity.js';
import { hashArtifact, type Manifest } from '../integrity/index.js';
import type { CategoricalComparison, CheckAnalysis, ExampleSet, NumericComparison, OutlierComparison, RowDiff, TriggerToken } from './analysis.js';
import { defaultContract, thresholdFor, type DataContract } from './contract.js';
import { sqlIdent, sqlString, withEngine, type DataEngine, type EngineOptions } from './engine.js';
import { computeContentHash } from './fingerprint.js';
import { canonicalDupSql, featureColumns, hasTokenSql, nearSignatureSql, profileTable, QUANTILE_LEVELS, unnestTokensSql, type DataProfile } from './profile.js';
import { dataRules } from './rules.js';
import { binCounts } from './stats.js';
import { resolveDataSource, type DataFormat } from './source.js';
import { canonicalValueSql, describeRow, isNumericKind, loadTable, type ColumnInfo, type LoadedTable } from './table.js';

export interface CheckOptions extends EngineOptions {
  /** The baseline profile (from `custody data profile`), or leave it out and give `baselineData`. */
  baseline?: DataProfile;
  /** The baseline's data: profiled here when no profile is given; needed for the row diff (--key). Must match the profile's digest. */
  baselineData?: string;
  contract?: DataContract;
  key?: string;
  label?: string;
  format?: DataFormat;
  /** The candidate's path as findings show it (default: the path given). */
  displayPath?: string;
  onStep?: (step: string) => void;
}

export interface DataCheckSummary {
  files: number;
  bytes: number;
  findings: number;
  bySeverity: Record<Severity, number>;
  baselined: number;
  durationMs: number;
  scanners: string[];
  rows: number;
  baselineRows: number;
}

export interface DataCheckResult {
  findings: Finding[];
  summary: DataCheckSummary;
  analysis: CheckAnalysis;
  /** The candidate's OMS manifest (its root digest names it in attestations). */
  manifest: Manifest;
}

const MAX_EXAMPLES = 100;

/**
 * Checks a candidate dataset against a baseline: profiles the candidate the same way, measures every
 * comparison (and, with a key and the baseline's data, the row diff), then runs the data rules.
 * Throws coded errors for what cannot be read at all; rows that cannot be read are a finding.
 */
export async function checkDataset(candidatePath: string, options: CheckOptions): Promise<DataCheckResult> {
  const started = Date.now();
  if (!options.baseline && options.baselineData === undefined) throw new CustodyError('USAGE', 'a data check needs a baseline profile or the baseline data');
  const contract = options.contract ?? defaultContract();
  const source = await resolveDataSource(candidatePath, options.format === undefined ? {} : { format: options.format });
  const baseSource = options.baselineData === undefined ? undefined : await resolveDataSource(options.baselineData, options.format === undefined ? {} : { format: options.format });
  const manifest = await hashArtifact(candidatePath);
  let baseManifest: Manifest | undefined;
  if (options.baselineData !== undefined) {
    baseManifest = await hashArtifact(options.baselineData);
    if (options.baseline && options.baseline.source.digest.sha256 !== baseManifest.rootDigest) {
      throw new CustodyError('DIGEST_MISMATCH', `${options.baselineData} is not the data the baseline profile was made from: its digest is sha256:${baseManifest.rootDigest}, the profile records sha256:${options.baseline.source.digest.sha256}`);
    }
  }

  const analysis = await withEngine(options, async (engine) => {
    await engine.restrictAccess([...source.parts, ...(baseSource?.parts ?? [])].map((p) => p.absPath));
    options.onStep?.(`reading the candidate (${source.parts.length} ${source.format} part(s))`);
    const cand = await loadTable(engine, source, 'cand');
    let base: LoadedTable | undefined;
    let baseline = options.baseline;
    const key = options.key ?? baseline?.options.key;
    const label = options.label ?? baseline?.options.label;
    if (baseSource) {
      options.onStep?.(`reading the baseline data (${baseSource.parts.length} ${baseSource.format} part(s))`);
      base = await loadTable(engine, baseSource, 'base');
      if (base.rejected.count > 0) {
        throw new CustodyError('PARSE_ERROR', `${baseSource.path}: ${base.rejected.count} row(s) of the baseline cannot be read; fix the baseline first`, { details: { examples: base.rejected.examples.slice(0, 20) } });
      }
      if (!baseline) {
        options.onStep?.('profiling the baseline');
        baseline = await profileTable(engine, base, { ...(key === undefined ? {} : { key }), ...(label === undefined ? {} : { label }) });
        baseline.source.digest = { sha256: baseManifest?.rootDigest ?? '' };
        baseline.source.files = baseSource.parts.map((p) => ({ name: p.name, size: p.size, sha256: baseManifest?.resources.find((r) => r.name === p.name || baseManifest?.kind === 'file')?.digest ?? '' }));
      }
    }
    if (!baseline) throw new CustodyError('INTERNAL', 'no baseline');
    const has = (name: string | undefined): boolean => name !== undefined && cand.columns.some((c) => c.name === name);
    if (key !== undefined && !has(key)) throw new CustodyError('USAGE', `the candidate has no key column ${JSON.stringify(key)}`);
    options.onStep?.('profiling the candidate');
    const candidate = await profileTable(engine, cand, {
      ...(key === undefined ? {} : { key }),
      ...(label !== undefined && has(label) ? { label } : {}),
      text: baseline.options.text.filter((t) => cand.columns.some((c) => c.name === t && c.kind === 'string')),
      segments: baseline.options.segments.filter(has),
      forCheck: true,
    });
    candidate.source.digest = { sha256: manifest.rootDigest };
    options.onStep?.('comparing');
    return analyse(engine, { candidatePath: options.displayPath ?? candidatePath, cand, base, baseline, candidate, contract, key, label: label !== undefined && has(label) ? label : undefined });
  });

  const findings = runRules(analysis);
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) bySeverity[f.severity] += 1;
  return {
    findings,
    summary: { files: source.parts.length, bytes: source.parts.reduce((s, p) => s + p.size, 0), findings: findings.length, bySeverity, baselined: 0, durationMs: Date.now() - started, scanners: ['data'], rows: analysis.candidate.source.rows, baselineRows: analysis.baseline.source.rows },
    analysis,
    manifest,
  };
}

/** Runs every data rule over an analysis and builds the findings (sorted). */
export function runRules(analysis: CheckAnalysis, rules: readonly AnyRule[] = dataRules): Finding[] {
  const findings: Finding[] = [];
  for (const rule of rules) {
    const report = (input: ReportInput<string>): void => void findings.push(buildDataFinding(rule, analysis.path, input));
    void rule.check(analysis, report);
  }
  return findings.sort(compareFindings);
}

export function buildDataFinding(rule: AnyRule, path: string, input: ReportInput<string>): Finding {
  const location: Location = { path };
  const template = rule.messages[input.message] ?? input.message;
  const message = formatMessage(template, input.data);
  const finding: Finding = {
    ruleId: rule.id,
    scanner: rule.scanner,
    severity: input.severity ?? rule.severity,
    confidence: input.confidence ?? rule.confidence,
    title: rule.title,
    message,
    location,
    remediation: rule.remediation,
    docs: rule.docs,
    fingerprint: computeFingerprint(rule.id, location, input.key ?? message),
    tags: rule.tags,
  };
  if (input.evidence !== undefined) finding.evidence = input.evidence;
  if (input.properties !== undefined) finding.properties = input.properties;
  return finding;
}

interface AnalyseInput {
  candidatePath: string;
  cand: LoadedTable;
  base: LoadedTable | undefined;
  baseline: DataProfile;
  candidate: DataProfile;
  contract: DataContract;
  key: string | undefined;
  label: string | undefined;
}

function num(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : typeof value === 'number' ? value : Number(value ?? NaN);
}

/** Row ids for examples: the key's canonical value, or `part row N`. */
function rowIdSql(table: LoadedTable, key: ColumnInfo | undefined): string {
  return key ? canonicalValueSql(key) : 'rowid';
}

async function fetchIds(engine: DataEngine, table: LoadedTable, key: ColumnInfo | undefined, sql: string, what: string): Promise<string[]> {
  const rows = await engine.query(sql, what);
  return rows.rows.map(([id]) => (key ? String(id) : describeRow(table, num(id))));
}

async function analyse(engine: DataEngine, input: AnalyseInput): Promise<CheckAnalysis> {
  const { cand, base, baseline, candidate, contract } = input;
  const c = sqlIdent(cand.table);
  const key = input.key === undefined ? undefined : cand.columns.find((col) => col.name === input.key);
  const label = input.label === undefined ? undefined : cand.columns.find((col) => col.name === input.label);
  const id = rowIdSql(cand, key);
  const nb = Math.max(1, baseline.source.rows);
  const nc = Math.max(1, cand.rows);

  // Numeric drift.
  const numeric: NumericComparison[] = [];
  for (const bcol of baseline.columns) {
    const ccol = cand.columns.find((x) => x.name === bcol.name);
    const cprof = candidate.columns.find((x) => x.name === bcol.name);
    if (!bcol.numeric || bcol.semantic !== 'numeric' || !ccol || !isNumericKind(ccol.kind) || !cprof?.numeric || cprof.numeric.quantiles.length === 0) continue;
    const b = bcol.numeric;
    const x = `CAST(${sqlIdent(ccol.name)} AS DOUBLE)`;
    const counts = await binCounts(engine, `SELECT ${x} AS v FROM ${c} WHERE isfinite(${x})`, b.bins.edges, b.quantiles);
    const bTotal = b.bins.counts.reduce((s, v) => s + v, 0);
    const eps = 1e-4;
    let psi = 0;
    for (const [i, bc] of b.bins.counts.entries()) {
      const pb = Math.max(eps, bTotal > 0 ? bc / bTotal : 0);
      const pc = Math.max(eps, counts.n > 0 ? (counts.bins[i] ?? 0) / counts.n : 0);
      psi += (pc - pb) * Math.log(pc / pb);
    }
    let ks = 0;
    for (const [i, fb] of b.cdf.entries()) ks = Math.max(ks, Math.abs(fb - (counts.n > 0 ? (counts.cdf[i] ?? 0) / counts.n : 0)));
    const scale = b.std > 0 ? b.std : b.max - b.min > 0 ? b.max - b.min : 1;
    let w = 0;
    for (let k = 1; k < QUANTILE_LEVELS.length - 1; k += 1) w += Math.abs((b.quantiles[k] ?? 0) - (cprof.numeric.quantiles[k] ?? 0));
    w = w / (QUANTILE_LEVELS.length - 2) / scale;
    const ne = (bTotal * counts.n) / Math.max(1, bTotal + counts.n);
    numeric.push({
      column: bcol.name,
      psi,
      ks,
      wasserstein: w,
      baselineMean: b.mean,
      candidateMean: cprof.numeric.mean,
      candidateCount: counts.n,
      ...(ne < 1000 ? { pValue: kolmogorovPValue(ks, ne) } : {}),
      edges: b.bins.edges,
      baselineBins: b.bins.counts,
      candidateBins: counts.bins,
    });
  }

  // Categorical drift and unseen values.
  const categorical: CategoricalComparison[] = [];
  for (const bcol of baseline.columns) {
    const ccol = cand.columns.find((x) => x.name === bcol.name);
    if (!bcol.top || !ccol || (bcol.semantic !== 'categorical' && bcol.semantic !== 'boolean') || bcol.count === 0) continue;
    const v = canonicalValueSql(ccol);
    const listed = bcol.top.values.map((x) => x.value);
    const inList = listed.length > 0 ? `${v} IN (${listed.map((x) => sqlString(x)).join(', ')})` : 'false';
    const rows = await engine.query(`SELECT ${v} AS v, count(*) FROM ${c} WHERE ${inList} GROUP BY v`, `counting values of ${ccol.name}`);
    const candCounts = new Map((rows.rows as [string, bigint][]).map(([value, n]) => [value, Number(n)]));
    const [tot] = await engine.objects(`SELECT count(${sqlIdent(ccol.name)}) AS n FROM ${c}`, `counting ${ccol.name}`);
    const total = num(tot?.['n']);
    if (total === 0) continue;
    const unseenRows = await engine.query(`SELECT ${v} AS v, count(*) AS n FROM ${c} WHERE ${sqlIdent(ccol.name)} IS NOT NULL AND NOT (${inList}) GROUP BY v ORDER BY n DESC, v LIMIT 10`, `finding new values of ${ccol.name}`);
    const outside = total - [...candCounts.values()].reduce((s, n) => s + n, 0);
    const pb = new Map(bcol.top.values.map((x) => [x.value, x.count / bcol.count]));
    let worst = { value: '', b: 0, c: 0 };
    const consider = (value: string, b: number, cc: number): void => {
      if (Math.abs(cc - b) > Math.abs(worst.c - worst.b) || (Math.abs(cc - b) === Math.abs(worst.c - worst.b) && value < worst.value)) worst = { value, b, c: cc };
    };
    for (const value of listed) consider(value, pb.get(value) ?? 0, (candCounts.get(value) ?? 0) / total);
    if (bcol.top.complete) for (const [value, n] of unseenRows.rows as [string, bigint][]) consider(value, 0, Number(n) / total);
    // JS distance over the listed values plus one bucket for everything else.
    const pOther = Math.max(0, 1 - [...pb.values()].reduce((s, p) => s + p, 0));
    const P = [...listed.map((value) => pb.get(value) ?? 0), pOther];
    const Q = [...listed.map((value) => (candCounts.get(value) ?? 0) / total), outside / total];
    categorical.push({
      column: bcol.name,
      linf: Math.abs(worst.c - worst.b),
      linfValue: worst.value,
      baselineShare: worst.b,
      candidateShare: worst.c,
      js: jsDistance(P, Q),
      ...(bcol.top.complete ? { unseen: outside / total, unseenValues: (unseenRows.rows as [string, bigint][]).map(([value, n]) => ({ value, count: Number(n) })) } : {}),
    });
  }

  // Duplicates and conflicting labels.
  const dupThreshold = contract.thresholds.duplicates;
  const exactCount = candidate.duplicates.exact;
  const canonCount = candidate.duplicates.canonical;
  const all = featureColumns(cand, key, label, true);
  const dupExamples = async (canonical: boolean): Promise<string[]> => {
    const part = all.map((col) => (canonical ? canonicalDupSql(col) : sqlIdent(col.name))).join(', ');
    return fetchIds(engine, cand, key, `SELECT id FROM (SELECT ${id} AS id, rowid AS r, row_number() OVER (PARTITION BY ${part} ORDER BY rowid) AS rn FROM ${c}) WHERE rn > 1 ORDER BY r LIMIT ${MAX_EXAMPLES}`, 'listing duplicated rows');
  };
  const duplicates = {
    exact: { count: exactCount, examples: all.length > 0 && exactCount / nc - baseline.duplicates.exact / nb > dupThreshold ? await dupExamples(false) : [] },
    canonical: { count: canonCount, examples: all.length > 0 && canonCount / nc - baseline.duplicates.canonical / nb > dupThreshold && canonCount > exactCount ? await dupExamples(true) : [] },
  };
  const conflicts: ExampleSet & { groups: number } = { count: candidate.duplicates.conflictingRows, groups: candidate.duplicates.conflictingGroups, examples: [] };
  const features = featureColumns(cand, key, label, false);
  if (label && features.length > 0 && conflicts.count / nc - baseline.duplicates.conflictingRows / nb > contract.thresholds.conflicts) {
    const part = features.map((f) => sqlIdent(f.name)).join(', ');
    conflicts.examples = await fetchIds(
      engine,
      cand,
      key,
      `SELECT id FROM (SELECT ${id} AS id, rowid AS r, count(DISTINCT ${sqlIdent(label.name)}) OVER (PARTITION BY ${part}) AS l, min(rowid) OVER (PARTITION BY ${part}) AS g FROM ${c}) WHERE l > 1 ORDER BY g, r LIMIT ${MAX_EXAMPLES}`,
      'listing rows with conflicting labels',
    );
  }

  // Duplicate keys.
  let duplicateKeys: ExampleSet | undefined;
  if (key) {
    const k = sqlIdent(key.name);
    const [row] = await engine.objects(`SELECT count(*) - count(DISTINCT ${k}) AS n FROM ${c}`, 'counting duplicate keys');
    const count = num(row?.['n']);
    duplicateKeys = { count, examples: count > 0 ? await fetchIds(engine, cand, key, `SELECT ${id} FROM ${c} GROUP BY ${k} HAVING count(*) > 1 ORDER BY ${k} LIMIT ${MAX_EXAMPLES}`, 'listing duplicate keys') : [] };
  }

  const triggers = label ? await findTriggers(engine, cand, key, label, baseline, candidate, contract) : [];
  const outliers = label ? await compareOutliers(engine, cand, key, label, baseline, contract) : [];

  // Row diff and label flips (needs the baseline rows and a key).
  let rowDiff: RowDiff | undefined;
  if (key && base) rowDiff = await diffRows(engine, base, cand, key, label, contract);

  // Near duplicates among added rows (with a row diff) or all rows.
  const nearFeatures = features.filter((f) => candidate.columns.find((p) => p.name === f.name)?.semantic !== 'identifier');
  let nearDuplicates: CheckAnalysis['nearDuplicates'];
  if (nearFeatures.length > 0) {
    const addedSql = rowDiff && key && base ? `SELECT * FROM ${c} WHERE ${sqlIdent(key.name)} NOT IN (SELECT ${sqlIdent(key.name)} FROM ${sqlIdent(base.table)} WHERE ${sqlIdent(key.name)} IS NOT NULL)` : `SELECT * FROM ${c}`;
    const population = rowDiff ? rowDiff.added : cand.rows;
    const sig = nearSignatureSql(nearFeatures);
    const [row] = await engine.objects(`SELECT count(*) AS clusters, coalesce(sum(n), 0) AS rows FROM (SELECT count(*) AS n FROM (${addedSql}) GROUP BY ${sig} HAVING count(*) >= 3)`, 'grouping near-duplicate rows');
    const rows = num(row?.['rows']);
    const baselineRate = baseline.nearDuplicates.rowsInClusters / nb;
    let examples: string[] = [];
    if (population > 0 && rows / population - baselineRate > contract.thresholds.nearDuplicates) {
      examples = await fetchIds(engine, cand, key, `SELECT id FROM (SELECT ${id} AS id, rowid AS r, count(*) OVER (PARTITION BY ${sig}) AS n FROM (${addedSql.replace('SELECT *', 'SELECT *, rowid')})) WHERE n >= 3 ORDER BY n DESC, r LIMIT ${MAX_EXAMPLES}`, 'listing near-duplicate rows');
    }
    nearDuplicates = { rows, clusters: num(row?.['clusters']), population, baselineRate, examples, among: rowDiff ? 'added rows' : 'all rows' };
  }

  // Frozen content.
  let content: CheckAnalysis['content'];
  if (contract.freeze.content) {
    const baseHash = baseline.source.contentHash?.sha256 ?? (base ? (await computeContentHash(engine, base)).sha256 : undefined);
    if (baseHash === undefined) throw new CustodyError('USAGE', 'the contract freezes the content, but the baseline profile has no content hash: profile it with --content-hash, or give the baseline data');
    content = { baseline: baseHash, candidate: (await computeContentHash(engine, cand)).sha256 };
  }

  return {
    path: input.candidatePath,
    baseline,
    candidate,
    contract,
    unreadable: cand.rejected,
    numeric,
    categorical,
    duplicates,
    conflicts,
    ...(duplicateKeys ? { duplicateKeys } : {}),
    triggers,
    outliers,
    ...(nearDuplicates ? { nearDuplicates } : {}),
    ...(rowDiff ? { rowDiff } : {}),
    ...(content ? { content } : {}),
  };
}

async function findTriggers(engine: DataEngine, cand: LoadedTable, key: ColumnInfo | undefined, label: ColumnInfo, baseline: DataProfile, candidate: DataProfile, contract: DataContract): Promise<TriggerToken[]> {
  const c = sqlIdent(cand.table);
  const lv = `coalesce(${canonicalValueSql(label)}, '<null>')`;
  const out: TriggerToken[] = [];
  const nc = Math.max(1, cand.rows);
  const classShare = new Map((candidate.label?.classes ?? []).map((x) => [x.value, x.count / nc]));
  const { triggerRows, triggerSurge, triggerPurity } = contract.thresholds;
  for (const tp of baseline.tokens) {
    const col = cand.columns.find((x) => x.name === tp.column && x.kind === 'string');
    const ctp = candidate.tokens.find((x) => x.column === tp.column);
    if (!col || !ctp || tp.rows === 0) continue;
    const ref = sqlIdent(col.name);
    const rows = await engine.query(
      `WITH t AS (${unnestTokensSql(c, ref, { sql: lv, alias: 'l' })}),
            g AS (SELECT tok, l, count(*) AS n FROM t GROUP BY tok, l),
            s AS (SELECT tok, sum(n) AS total, max(n) AS top FROM g GROUP BY tok HAVING sum(n) >= ${Math.max(1, Math.floor(triggerRows))} AND max(n) >= ${triggerPurity} * sum(n))
       SELECT s.tok, s.total, min(g.l), s.top FROM s JOIN g ON g.tok = s.tok AND g.n = s.top GROUP BY s.tok, s.total, s.top ORDER BY s.total DESC, s.tok LIMIT 10000`,
      `counting tokens of ${col.name} by label`,
    );
    const vocab = new Map(tp.vocabulary);
    const candidates: TriggerToken[] = [];
    for (const [tok, totalRaw, l, topRaw] of rows.rows as [string, bigint, string, bigint][]) {
      const total = Number(totalRaw);
      const top = Number(topRaw);
      const baseRows = vocab.get(tok) ?? tp.cutoff - 1;
      const expected = (Math.max(baseRows, 1) / tp.rows) * ctp.rows;
      const surge = total / Math.max(expected, 1);
      const purity = top / total;
      const p = classShare.get(l) ?? 0;
      const z = p > 0 && p < 1 ? (top - total * p) / Math.sqrt(total * p * (1 - p)) : Infinity;
      if (surge < triggerSurge || purity < triggerPurity || purity - p < 0.2 || z < 5) continue;
      candidates.push({ column: col.name, token: tok, rows: total, label: l, labelRows: top, expected, surge, purity, labelShare: p, examples: [] });
    }
    for (const t of candidates.slice(0, 20)) {
      t.examples = await fetchIds(engine, cand, key, `SELECT ${rowIdSql(cand, key)} FROM ${c} WHERE ${hasTokenSql(ref, t.token)} ORDER BY ${key ? sqlIdent(key.name) : 'rowid'} LIMIT ${MAX_EXAMPLES}`, `listing rows with token ${t.token}`);
      out.push(t);
    }
  }
  return out;
}

async function compareOutliers(engine: DataEngine, cand: LoadedTable, key: ColumnInfo | undefined, label: ColumnInfo, baseline: DataProfile, contract: DataContract): Promise<OutlierComparison[]> {
  const c = sqlIdent(cand.table);
  const lv = `coalesce(${canonicalValueSql(label)}, '<null>')`;
  const out: OutlierComparison[] = [];
  const byColumn = new Map<string, typeof baseline.outliers>();
  for (const o of baseline.outliers) byColumn.set(o.column, [...(byColumn.get(o.column) ?? []), o]);
  for (const [column, entries] of byColumn) {
    const col = cand.columns.find((x) => x.name === column);
    if (!col || !isNumericKind(col.kind)) continue;
    const x = `CAST(${sqlIdent(column)} AS DOUBLE)`;
    const usable = entries.filter((e) => e.mad > 0);
    if (usable.length === 0) continue;
    const cond = `CASE ${usable.map((e) => `WHEN l = ${sqlString(e.label)} THEN abs(x - CAST(${JSON.stringify(e.median)} AS DOUBLE)) > ${6} * CAST(${JSON.stringify(e.mad)} AS DOUBLE)`).join(' ')} ELSE false END`;
    const rows = await engine.query(`SELECT l, count(*), count_if(${cond}) FROM (SELECT ${lv} AS l, ${x} AS x FROM ${c} WHERE isfinite(${x})) GROUP BY l ORDER BY l`, `counting outliers of ${column}`);
    for (const [l, nRaw, oRaw] of rows.rows as [string, bigint, bigint][]) {
      const e = usable.find((u) => u.label === l);
      if (!e) continue;
      const n = Number(nRaw);
      const o = Number(oRaw);
      const comparison: OutlierComparison = { column, label: l, baselineRate: e.rows > 0 ? e.outliers / e.rows : 0, candidateRate: n > 0 ? o / n : 0, candidateRows: n, outliers: o, examples: [] };
      if (comparison.candidateRate - comparison.baselineRate > thresholdFor(contract, 'outliers', column) && o >= 5) {
        comparison.examples = await fetchIds(
          engine,
          cand,
          key,
          `SELECT id FROM (SELECT ${rowIdSql(cand, key)} AS id, rowid AS r, ${lv} AS l, ${x} AS x FROM ${c} WHERE isfinite(${x})) WHERE l = ${sqlString(l)} AND abs(x - CAST(${JSON.stringify(e.median)} AS DOUBLE)) > 6 * CAST(${JSON.stringify(e.mad)} AS DOUBLE) ORDER BY r LIMIT ${MAX_EXAMPLES}`,
          `listing outliers of ${column}`,
        );
      }
      out.push(comparison);
    }
  }
  return out;
}

async function diffRows(engine: DataEngine, base: LoadedTable, cand: LoadedTable, key: ColumnInfo, label: ColumnInfo | undefined, contract: DataContract): Promise<RowDiff> {
  const b = sqlIdent(base.table);
  const c = sqlIdent(cand.table);
  const k = sqlIdent(key.name);
  const bKey = base.columns.find((x) => x.name === key.name);
  if (!bKey) throw new CustodyError('USAGE', `the baseline data has no key column ${JSON.stringify(key.name)}`);
  const shared = cand.columns.filter((col) => col.name !== key.name && base.columns.some((x) => x.name === col.name));
  // Columns of one type on both sides compare as values; others by canonical text (an integer column
  // and a float column with the same numbers are the same data). Typed comparison spares a text copy
  // of every value of both versions.
  const sameType = (bcol: ColumnInfo, col: ColumnInfo): boolean => bcol.type === col.type && bcol.kind !== 'other';
  const changed = (col: ColumnInfo): string => {
    const bcol = base.columns.find((x) => x.name === col.name) ?? col;
    const ref = sqlIdent(col.name);
    return sameType(bcol, col) ? `(b.${ref} IS DISTINCT FROM c.${ref})` : `(${canonicalValueSql(bcol, `b.${ref}`)} IS DISTINCT FROM ${canonicalValueSql(col, `c.${ref}`)})`;
  };
  const typedKey = sameType(bKey, key);
  const bk = typedKey ? `b.${k}` : canonicalValueSql(bKey, `b.${k}`);
  const ck = typedKey ? `c.${k}` : canonicalValueSql(key, `c.${k}`);
  const anyChange = shared.length > 0 ? shared.map(changed).join(' OR ') : 'false';
  const labelIndex = label ? shared.findIndex((col) => col.name === label.name) : -1;
  const bLabel = label ? (base.columns.find((x) => x.name === label.name) ?? label) : undefined;
  const labels = label && bLabel && labelIndex >= 0
    ? `, CASE WHEN ${changed(label)} THEN coalesce(${canonicalValueSql(bLabel, `b.${sqlIdent(label.name)}`)}, '<null>') END AS bl, CASE WHEN ${changed(label)} THEN coalesce(${canonicalValueSql(label, `c.${sqlIdent(label.name)}`)}, '<null>') END AS cl`
    : '';
  await engine.run(
    `CREATE TEMP TABLE diff AS SELECT ${bk} AS bk, ${ck} AS ck, ${anyChange} AS modified${shared.map((col, i) => `, ${changed(col)} AS m${i}`).join('')}${labels}
     FROM (SELECT * FROM ${b} WHERE ${k} IS NOT NULL) b FULL OUTER JOIN (SELECT * FROM ${c} WHERE ${k} IS NOT NULL) c ON ${bk} = ${ck}`,
    'pairing rows by key',
  );
  const [counts] = await engine.objects(
    `SELECT count_if(bk IS NULL) AS added, count_if(ck IS NULL) AS removed, count_if(bk IS NOT NULL AND ck IS NOT NULL AND modified) AS modified, count_if(bk IS NOT NULL AND ck IS NOT NULL AND NOT modified) AS unchanged${shared.map((_, i) => `, count_if(bk IS NOT NULL AND ck IS NOT NULL AND m${i}) AS m${i}`).join('')} FROM diff`,
    'counting the row diff',
  );
  const changedByColumn: Record<string, number> = {};
  shared.forEach((col, i) => (changedByColumn[col.name] = num(counts?.[`m${i}`])));
  const ids = async (where: string, column: 'bk' | 'ck'): Promise<string[]> =>
    (await engine.query(`SELECT ${!typedKey ? column : column === 'bk' ? canonicalValueSql(bKey, 'bk') : canonicalValueSql(key, 'ck')} FROM (SELECT ${column} FROM diff WHERE ${where} ORDER BY ${column} LIMIT ${MAX_EXAMPLES})`, 'listing changed keys')).rows.map(([v]) => String(v));
  const diff: RowDiff = {
    key: key.name,
    added: num(counts?.['added']),
    removed: num(counts?.['removed']),
    modified: num(counts?.['modified']),
    unchanged: num(counts?.['unchanged']),
    changedByColumn,
    addedExamples: await ids('bk IS NULL', 'ck'),
    removedExamples: await ids('ck IS NULL', 'bk'),
    modifiedExamples: await ids('bk IS NOT NULL AND ck IS NOT NULL AND modified', 'ck'),
    frozenChanges: [],
  };
  if (label && labelIndex >= 0) {
    const transitions = await engine.query(`SELECT bl || ' → ' || cl AS t, count(*) FROM diff WHERE bk IS NOT NULL AND ck IS NOT NULL AND bl IS NOT NULL GROUP BY t ORDER BY t`, 'counting label flips');
    const byTransition = Object.fromEntries((transitions.rows as [string, bigint][]).map(([t, n]) => [t, Number(n)]));
    const count = Object.values(byTransition).reduce((s, n) => s + n, 0);
    diff.labelFlips = { count, shared: diff.modified + diff.unchanged, byTransition, examples: count > 0 ? await ids(`bk IS NOT NULL AND ck IS NOT NULL AND m${labelIndex}`, 'ck') : [] };
  }
  for (const name of contract.freeze.columns) {
    const i = shared.findIndex((col) => col.name === name);
    if (i < 0) continue;
    const count = changedByColumn[name] ?? 0;
    diff.frozenChanges.push({ column: name, count, examples: count > 0 ? await ids(`bk IS NOT NULL AND ck IS NOT NULL AND m${i}`, 'ck') : [] });
  }
  await engine.run('DROP TABLE diff', 'cleaning up');
  return diff;
}

/** Jensen–Shannon distance (base 2, in [0, 1]) between two distributions over the same buckets. */
export function jsDistance(p: readonly number[], q: readonly number[]): number {
  const sp = p.reduce((s, v) => s + v, 0) || 1;
  const sq = q.reduce((s, v) => s + v, 0) || 1;
  let d = 0;
  for (let i = 0; i < p.length; i += 1) {
    const a = (p[i] ?? 0) / sp;
    const b = (q[i] ?? 0) / sq;
    const m = (a + b) / 2;
    if (a > 0) d += 0.5 * a * Math.log2(a / m);
    if (b > 0) d += 0.5 * b * Math.log2(b / m);
  }
  return Math.sqrt(Math.max(0, d));
}

/** The asymptotic Kolmogorov p-value of a two-sample KS D with effective size `ne`. */
export function kolmogorovPValue(d: number, ne: number): number {
  if (ne <= 0 || d <= 0) return 1;
  const sq = Math.sqrt(ne);
  const lambda = (sq + 0.12 + 0.11 / sq) * d;
  let sum = 0;
  for (let j = 1; j <= 100; j += 1) {
    const term = 2 * (j % 2 === 1 ? 1 : -1) * Math.exp(-2 * j * j * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, sum));
}
