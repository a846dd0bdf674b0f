import { defineRule, type AnyRule } from '../core/rule.js';
import type { CheckAnalysis } from './analysis.js';
import { isIgnored, thresholdFor } from './contract.js';

/**
 * The data rules: each compares what `custody data check` measured (CheckAnalysis) with the
 * contract's thresholds and reports findings that name the metric, the threshold and the values,
 * keys, tokens or segment responsible, with example row ids.
 */

const fmt = (x: number, digits = 4): string => (Number.isFinite(x) ? String(Number(x.toPrecision(digits))) : String(x));
const pct = (x: number): string => `${fmt(x * 100, 3)} %`;
const list = (items: readonly string[], max = 10): string => (items.length > max ? `${items.slice(0, max).join(', ')}, … (${items.length} listed)` : items.join(', '));
const quote = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

export const schemaChangeRule = defineRule<'removed' | 'added' | 'retyped', CheckAnalysis>({
  id: 'data/schema-change',
  title: 'Columns added, removed or retyped',
  description:
    'The candidate does not have the columns of the baseline: a column was removed, added, or now holds another kind of value ' +
    '(number, string, boolean, date). A feature job that silently rewrites a column changes what a model learns.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:20', 'owasp-ml:ML02'],
  remediation: 'Confirm the schema change is intended, then profile the new version as the baseline; freeze the schema in a contract to make any change fail.',
  messages: {
    removed: 'Column {{column}} of the baseline is missing from the candidate.',
    added: 'Column {{column}} ({{kind}}) is new in the candidate.',
    retyped: 'Column {{column}} changed from {{from}} to {{to}}.',
  },
  check(a, report) {
    const frozen = a.contract.freeze.schema;
    const candidate = new Map(a.candidate.columns.map((c) => [c.name, c]));
    const baseline = new Map(a.baseline.columns.map((c) => [c.name, c]));
    const numberish = (k: string): string => (k === 'integer' || k === 'float' ? 'number' : k);
    for (const c of a.baseline.columns) {
      if (isIgnored(a.contract, c.name)) continue;
      const other = candidate.get(c.name);
      if (!other) report({ message: 'removed', data: { column: quote(c.name) }, key: `removed:${c.name}`, severity: frozen ? 'critical' : 'high', properties: { metric: 'schema', column: c.name } });
      else if (numberish(other.kind) !== numberish(c.kind)) {
        report({ message: 'retyped', data: { column: quote(c.name), from: `${c.kind} (${c.type})`, to: `${other.kind} (${other.type})` }, key: `retyped:${c.name}`, severity: frozen ? 'critical' : 'high', properties: { metric: 'schema', column: c.name, from: c.type, to: other.type } });
      }
    }
    for (const c of a.candidate.columns) {
      if (!baseline.has(c.name) && !isIgnored(a.contract, c.name)) report({ message: 'added', data: { column: quote(c.name), kind: c.kind }, key: `added:${c.name}`, severity: frozen ? 'critical' : 'medium', properties: { metric: 'schema', column: c.name } });
    }
  },
});

export const volumeChangeRule = defineRule<'changed' | 'bounds', CheckAnalysis>({
  id: 'data/volume-change',
  title: 'Row count changed beyond the threshold',
  description: 'The candidate has far more or far fewer rows than the baseline, or falls outside the row bounds of the contract. Large unexplained volume changes are how injected or dropped data shows first.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:20'],
  remediation: 'Check what added or removed the rows; set `rows: {min, max}` or `thresholds.volume` in the contract when the change is expected.',
  messages: {
    changed: 'Row count changed from {{baseline}} to {{candidate}} ({{change}}; threshold ±{{threshold}}).',
    bounds: 'Row count {{candidate}} is outside the contract bounds {{min}}–{{max}}.',
  },
  check(a, report) {
    const b = a.baseline.source.rows;
    const c = a.candidate.source.rows;
    const { min, max } = a.contract.rows;
    if ((min !== undefined && c < min) || (max !== undefined && c > max)) {
      report({ message: 'bounds', data: { candidate: c, min: min ?? 0, max: max ?? '∞' }, key: 'bounds', severity: 'high', properties: { metric: 'rows', value: c, min: min ?? null, max: max ?? null } });
    }
    const threshold = a.contract.thresholds.volume;
    const change = b === 0 ? (c === 0 ? 0 : Infinity) : (c - b) / b;
    if (Math.abs(change) > threshold) report({ message: 'changed', data: { baseline: b, candidate: c, change: `${change >= 0 ? '+' : ''}${pct(change)}`, threshold: pct(threshold) }, key: 'volume', properties: { metric: 'relative row change', value: change, threshold } });
  },
});

export const completenessRule = defineRule<'nulls', CheckAnalysis>({
  id: 'data/completeness',
  title: 'More missing values than in the baseline',
  description: "A column's share of missing (null) values grew beyond the threshold. Missing values that a pipeline fills with defaults change what a model learns.",
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:20'],
  remediation: 'Find the upstream change that leaves the column empty; raise `nullRate` for the column in the contract if it is expected.',
  messages: { nulls: 'Column {{column}} is {{candidate}} null, up from {{baseline}} (threshold +{{threshold}}).' },
  check(a, report) {
    const baseline = new Map(a.baseline.columns.map((c) => [c.name, c]));
    for (const c of a.candidate.columns) {
      const b = baseline.get(c.name);
      if (!b || isIgnored(a.contract, c.name)) continue;
      const rb = a.baseline.source.rows > 0 ? b.nulls / a.baseline.source.rows : 0;
      const rc = a.candidate.source.rows > 0 ? c.nulls / a.candidate.source.rows : 0;
      const threshold = thresholdFor(a.contract, 'nullRate', c.name);
      const newNulls = rb === 0 && c.nulls > 0;
      if (rc - rb > threshold || (newNulls && (b.semantic === 'key' || b.semantic === 'label'))) {
        report({ message: 'nulls', data: { column: quote(c.name), candidate: pct(rc), baseline: pct(rb), threshold: pct(threshold) }, key: c.name, severity: b.semantic === 'key' || b.semantic === 'label' ? 'high' : 'medium', properties: { metric: 'null rate', column: c.name, value: rc, baseline: rb, threshold } });
      }
    }
  },
});

export const numericDriftRule = defineRule<'drift', CheckAnalysis>({
  id: 'data/numeric-drift',
  title: 'Numeric column drifted',
  description:
    'The distribution of a numeric column moved: population stability index (PSI) over the baseline deciles, the Kolmogorov–Smirnov D ' +
    'statistic, or the Wasserstein distance relative to the baseline spread exceeds its threshold. These are effect sizes, so they do ' +
    'not flag everything when there are millions of rows; a KS p-value is used only to hold back flags on small samples.',
  severity: 'medium',
  confidence: 'medium',
  tags: ['owasp-ml:ML02'],
  remediation: 'Compare the column in both versions (see the bins in the finding); set per-column thresholds in the contract when the shift is expected.',
  messages: { drift: 'Column {{column}} drifted: {{metrics}} (mean {{baselineMean}} → {{candidateMean}}).' },
  check(a, report) {
    for (const n of a.numeric) {
      if (isIgnored(a.contract, n.column)) continue;
      const over: string[] = [];
      const psi = thresholdFor(a.contract, 'psi', n.column);
      const ks = thresholdFor(a.contract, 'ks', n.column);
      const w = thresholdFor(a.contract, 'wasserstein', n.column);
      if (n.psi > psi) over.push(`PSI ${fmt(n.psi)} > ${psi}`);
      if (n.ks > ks) over.push(`KS D ${fmt(n.ks)} > ${ks}`);
      if (n.wasserstein > w) over.push(`normalised Wasserstein ${fmt(n.wasserstein)} > ${w}`);
      if (over.length === 0) continue;
      if (n.pValue !== undefined && n.pValue > 0.001) continue; // a small sample that does not show the shift
      report({
        message: 'drift',
        data: { column: quote(n.column), metrics: over.join(', '), baselineMean: fmt(n.baselineMean), candidateMean: fmt(n.candidateMean) },
        key: n.column,
        severity: over.length >= 2 ? 'medium' : 'low',
        properties: { metric: 'psi/ks/wasserstein', column: n.column, psi: n.psi, ks: n.ks, wasserstein: n.wasserstein, thresholds: { psi, ks, wasserstein: w }, ...(n.pValue === undefined ? {} : { pValue: n.pValue }), edges: n.edges, baselineBins: n.baselineBins, candidateBins: n.candidateBins },
      });
    }
  },
});

export const categoricalDriftRule = defineRule<'drift', CheckAnalysis>({
  id: 'data/categorical-drift',
  title: 'Categorical column drifted',
  description: "The shares of a categorical column's values moved: the largest change of one value's share (L-infinity, naming the value) or the Jensen–Shannon distance exceeds its threshold.",
  severity: 'medium',
  confidence: 'medium',
  tags: ['owasp-ml:ML02'],
  remediation: 'Check the named value: a new source, a relabelled category or an injected batch; set per-column thresholds when expected.',
  messages: { drift: 'Column {{column}} drifted: value {{value}} went from {{baseline}} to {{candidate}} of rows (L∞ {{linf}}, threshold {{linfThreshold}}; JS distance {{js}}, threshold {{jsThreshold}}).' },
  check(a, report) {
    for (const c of a.categorical) {
      if (isIgnored(a.contract, c.column) || c.column === a.baseline.options.label) continue;
      const linf = thresholdFor(a.contract, 'linf', c.column);
      const js = thresholdFor(a.contract, 'js', c.column);
      if (c.linf <= linf && c.js <= js) continue;
      report({
        message: 'drift',
        data: { column: quote(c.column), value: quote(c.linfValue), baseline: pct(c.baselineShare), candidate: pct(c.candidateShare), linf: fmt(c.linf), linfThreshold: linf, js: fmt(c.js), jsThreshold: js },
        key: c.column,
        properties: { metric: 'linf/js', column: c.column, value: c.linfValue, linf: c.linf, js: c.js, thresholds: { linf, js } },
      });
    }
  },
});

export const unseenCategoriesRule = defineRule<'unseen', CheckAnalysis>({
  id: 'data/unseen-categories',
  title: 'Values never seen in the baseline',
  description: 'A share of a categorical column holds values that the baseline never had (the baseline lists every value of the column). New categories are often new sources or injected rows.',
  severity: 'medium',
  confidence: 'high',
  tags: ['owasp-ml:ML02'],
  remediation: 'Check where the named values come from; raise `unseen` for the column in the contract if new values are expected.',
  messages: { unseen: 'Column {{column}}: {{share}} of values were never seen in the baseline (threshold {{threshold}}): {{values}}.' },
  check(a, report) {
    for (const c of a.categorical) {
      if (c.unseen === undefined || isIgnored(a.contract, c.column)) continue;
      const threshold = thresholdFor(a.contract, 'unseen', c.column);
      if (c.unseen <= threshold) continue;
      const values = (c.unseenValues ?? []).map((v) => `${quote(v.value)} (${v.count})`);
      report({ message: 'unseen', data: { column: quote(c.column), share: pct(c.unseen), threshold: pct(threshold), values: list(values) }, key: c.column, properties: { metric: 'unseen mass', column: c.column, value: c.unseen, threshold, values: c.unseenValues ?? [] } });
    }
  },
});

export const labelShiftRule = defineRule<'shift', CheckAnalysis>({
  id: 'data/label-shift',
  title: 'Label distribution shifted',
  description: "The share of a label class changed beyond the threshold (label prior shift). Relabelling or injected rows of one class move a model's decision boundary.",
  severity: 'high',
  confidence: 'medium',
  tags: ['owasp-ml:ML02', 'cwe:345'],
  remediation: 'Find which rows gained or lost the class (see data/label-flips and data/segment-label-shift); raise `labelShift` in the contract if expected.',
  messages: { shift: 'Label {{label}} class {{value}} went from {{baseline}} to {{candidate}} of rows (threshold ±{{threshold}}).' },
  check(a, report) {
    const bl = a.baseline.label;
    const cl = a.candidate.label;
    if (!bl || !cl) return;
    const nb = bl.classes.reduce((s, c) => s + c.count, 0);
    const nc = cl.classes.reduce((s, c) => s + c.count, 0);
    if (nb === 0 || nc === 0) return;
    const values = new Set([...bl.classes.map((c) => c.value), ...cl.classes.map((c) => c.value)]);
    let worst: { value: string; b: number; c: number } | undefined;
    for (const v of values) {
      const b = (bl.classes.find((c) => c.value === v)?.count ?? 0) / nb;
      const c = (cl.classes.find((x) => x.value === v)?.count ?? 0) / nc;
      if (!worst || Math.abs(c - b) > Math.abs(worst.c - worst.b)) worst = { value: v, b, c };
    }
    const threshold = a.contract.thresholds.labelShift;
    if (worst && Math.abs(worst.c - worst.b) > threshold) {
      report({ message: 'shift', data: { label: quote(bl.column), value: quote(worst.value), baseline: pct(worst.b), candidate: pct(worst.c), threshold: pct(threshold) }, key: 'label', properties: { metric: 'label share L∞', value: worst.c - worst.b, threshold, class: worst.value } });
    }
  },
});

export const segmentLabelShiftRule = defineRule<'shift', CheckAnalysis>({
  id: 'data/segment-label-shift',
  title: "A segment's label rate shifted",
  description:
    'Within one segment (a value of a categorical column), the rate of a label class moved beyond the threshold, over and above the ' +
    "overall change of that class. Targeted poisoning shifts one segment's labels while the overall distribution barely moves.",
  severity: 'high',
  confidence: 'medium',
  tags: ['owasp-ml:ML02', 'cwe:345'],
  remediation: 'Inspect the rows of the named segment in both versions; if the shift is real, retrain with the new data deliberately.',
  messages: { shift: 'Segment {{column}} = {{value}}: rate of {{label}} = {{class}} went from {{baseline}} to {{candidate}} (overall {{overallBaseline}} → {{overallCandidate}}; excess {{excess}}, threshold {{threshold}}; {{rows}} rows).' },
  check(a, report) {
    const bl = a.baseline.label;
    const cl = a.candidate.label;
    if (!bl || !cl) return;
    const threshold = a.contract.thresholds.segmentShift;
    const minRows = a.contract.thresholds.minSegmentRows;
    const nb = bl.classes.reduce((s, c) => s + c.count, 0);
    const nc = cl.classes.reduce((s, c) => s + c.count, 0);
    for (const bs of bl.segments) {
      const cs = cl.segments.find((s) => s.column === bs.column);
      if (!cs || isIgnored(a.contract, bs.column)) continue;
      for (const bv of bs.values) {
        const cv = cs.values.find((v) => v.value === bv.value);
        if (!cv || bv.rows < minRows || cv.rows < minRows) continue;
        // A binary label moves both classes by the same amount: judge the minority class only.
        for (const cls of bl.classes.length === 2 ? bl.classes.slice(1) : bl.classes) {
          const rb = (bv.labels[cls.value] ?? 0) / bv.rows;
          const rc = (cv.labels[cls.value] ?? 0) / cv.rows;
          const ob = cls.count / nb;
          const oc = (cl.classes.find((c) => c.value === cls.value)?.count ?? 0) / nc;
          const excess = rc - rb - (oc - ob);
          const pooled = ((bv.labels[cls.value] ?? 0) + (cv.labels[cls.value] ?? 0)) / (bv.rows + cv.rows);
          const se = Math.sqrt(Math.max(pooled * (1 - pooled), 1e-12) * (1 / bv.rows + 1 / cv.rows));
          if (Math.abs(excess) <= threshold || Math.abs(rc - rb) / se < 4) continue;
          report({
            message: 'shift',
            data: { column: quote(bs.column), value: quote(bv.value), label: quote(bl.column), class: quote(cls.value), baseline: pct(rb), candidate: pct(rc), overallBaseline: pct(ob), overallCandidate: pct(oc), excess: fmt(excess, 3), threshold, rows: cv.rows },
            key: `${bs.column}=${bv.value}`,
            properties: { metric: 'segment label rate', segment: { column: bs.column, value: bv.value }, class: cls.value, baseline: rb, candidate: rc, excess, threshold, z: Math.abs(rc - rb) / se },
          });
        }
      }
    }
  },
});

export const duplicateRowsRule = defineRule<'exact' | 'canonical', CheckAnalysis>({
  id: 'data/duplicate-rows',
  title: 'More duplicated rows than in the baseline',
  description:
    'Rows repeat other rows (all columns but the key), exactly or after canonicalisation (case, spacing, number form), at a higher rate ' +
    'than in the baseline. Duplicating chosen rows is the cheapest way to give them more weight in training.',
  severity: 'high',
  confidence: 'high',
  tags: ['owasp-ml:ML02', 'cwe:345'],
  remediation: 'Deduplicate the data and find the job that copied the named rows.',
  messages: {
    exact: '{{count}} rows ({{share}}) duplicate other rows exactly, up from {{baseline}} in the baseline (threshold +{{threshold}}); e.g. {{examples}}.',
    canonical: '{{count}} rows ({{share}}) duplicate other rows after canonicalisation (case, spacing, number form), up from {{baseline}} (threshold +{{threshold}}); e.g. {{examples}}.',
  },
  check(a, report) {
    const threshold = a.contract.thresholds.duplicates;
    const nb = Math.max(1, a.baseline.source.rows);
    const nc = Math.max(1, a.candidate.source.rows);
    const exactB = a.baseline.duplicates.exact / nb;
    const exactC = a.duplicates.exact.count / nc;
    if (exactC - exactB > threshold) {
      report({ message: 'exact', data: { count: a.duplicates.exact.count, share: pct(exactC), baseline: pct(exactB), threshold: pct(threshold), examples: list(a.duplicates.exact.examples) }, key: 'exact', properties: { metric: 'duplicate share', value: exactC, baseline: exactB, threshold, examples: a.duplicates.exact.examples } });
    }
    const canonB = a.baseline.duplicates.canonical / nb;
    const canonC = a.duplicates.canonical.count / nc;
    if (canonC - canonB > threshold && a.duplicates.canonical.count > a.duplicates.exact.count && canonC - exactC > threshold) {
      report({ message: 'canonical', data: { count: a.duplicates.canonical.count, share: pct(canonC), baseline: pct(canonB), threshold: pct(threshold), examples: list(a.duplicates.canonical.examples) }, key: 'canonical', properties: { metric: 'canonical duplicate share', value: canonC, baseline: canonB, threshold, examples: a.duplicates.canonical.examples } });
    }
  },
});

export const conflictingLabelsRule = defineRule<'conflicts', CheckAnalysis>({
  id: 'data/conflicting-labels',
  title: 'Identical rows with different labels',
  description: 'Groups of rows with identical features (all columns but key and label) carry different labels, at a higher rate than in the baseline: duplicated rows with flipped labels, a classic poisoning pattern.',
  severity: 'high',
  confidence: 'high',
  tags: ['owasp-ml:ML02', 'cwe:345'],
  remediation: 'Inspect the named rows; keep one correctly labelled copy.',
  messages: { conflicts: '{{groups}} groups of identical feature vectors ({{rows}} rows, {{share}}) carry conflicting labels, up from {{baseline}} (threshold +{{threshold}}); e.g. {{examples}}.' },
  check(a, report) {
    if (!a.baseline.options.label) return;
    const threshold = a.contract.thresholds.conflicts;
    const rb = a.baseline.duplicates.conflictingRows / Math.max(1, a.baseline.source.rows);
    const rc = a.conflicts.count / Math.max(1, a.candidate.source.rows);
    if (rc - rb > threshold) {
      report({ message: 'conflicts', data: { groups: a.conflicts.groups, rows: a.conflicts.count, share: pct(rc), baseline: pct(rb), threshold: pct(threshold), examples: list(a.conflicts.examples) }, key: 'conflicts', properties: { metric: 'conflicting-label share', value: rc, baseline: rb, threshold, examples: a.conflicts.examples } });
    }
  },
});

export const labelFlipsRule = defineRule<'flips', CheckAnalysis>({
  id: 'data/label-flips',
  title: 'Labels changed for the same key',
  description: 'Rows with the same key carry a different label in the candidate than in the baseline. Label flipping needs only a small share of rows to plant a backdoor or degrade a class; every flip is reported, high above the threshold.',
  severity: 'high',
  confidence: 'high',
  tags: ['owasp-ml:ML02', 'cwe:345'],
  remediation: 'Review the named keys; accept label corrections only through a reviewed change, and freeze the label column of approved sets in the contract.',
  messages: { flips: '{{count}} of {{shared}} shared keys ({{share}}) changed label {{label}} ({{transitions}}; threshold for high {{threshold}}); keys: {{examples}}.' },
  check(a, report) {
    const flips = a.rowDiff?.labelFlips;
    if (!flips || flips.count === 0) return;
    const share = flips.count / Math.max(1, flips.shared);
    const threshold = a.contract.thresholds.labelFlips;
    const transitions = Object.entries(flips.byTransition).map(([k, v]) => `${k}: ${v}`).join(', ');
    report({
      message: 'flips',
      data: { count: flips.count, shared: flips.shared, share: pct(share), label: quote(a.baseline.options.label ?? ''), transitions, threshold: pct(threshold), examples: list(flips.examples) },
      key: 'flips',
      severity: share > threshold ? 'high' : 'medium',
      properties: { metric: 'label flip share', value: share, threshold, count: flips.count, byTransition: flips.byTransition, keys: flips.examples },
    });
  },
});

export const rowDiffRule = defineRule<'diff', CheckAnalysis>({
  id: 'data/row-diff',
  title: 'Rows added, removed and modified (by key)',
  description: 'The key-aware row diff between the baseline and the candidate: rows added, removed and modified, with the number of changed values per column. Informational; the other rules judge what the changes mean.',
  severity: 'info',
  confidence: 'high',
  tags: ['cwe:345'],
  remediation: 'Review the diff; freeze columns in the contract when existing rows must not change.',
  messages: { diff: 'By key {{key}}: {{added}} added, {{removed}} removed, {{modified}} modified, {{unchanged}} unchanged; changed values per column: {{columns}}.' },
  check(a, report) {
    const d = a.rowDiff;
    if (!d) return;
    const columns = Object.entries(d.changedByColumn).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    report({
      message: 'diff',
      data: { key: quote(d.key), added: d.added, removed: d.removed, modified: d.modified, unchanged: d.unchanged, columns },
      key: 'diff',
      properties: { metric: 'row diff', added: d.added, removed: d.removed, modified: d.modified, unchanged: d.unchanged, changedByColumn: d.changedByColumn, addedExamples: d.addedExamples, removedExamples: d.removedExamples, modifiedExamples: d.modifiedExamples },
    });
  },
});

export const duplicateKeysRule = defineRule<'duplicates', CheckAnalysis>({
  id: 'data/duplicate-keys',
  title: 'The key is not unique',
  description: 'Several rows of the candidate share a key value, so the row diff and label-flip checks cannot pair rows one to one; a duplicated key can also hide a second, different row behind a reviewed one.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:694'],
  remediation: 'Make the key unique, or name another key column with --key.',
  messages: { duplicates: '{{count}} rows share a key value with another row in column {{key}}; e.g. {{examples}}.' },
  check(a, report) {
    const d = a.duplicateKeys;
    if (!d || d.count === 0) return;
    report({ message: 'duplicates', data: { count: d.count, key: quote(a.baseline.options.key ?? ''), examples: list(d.examples) }, key: 'keys', properties: { metric: 'duplicate keys', count: d.count, keys: d.examples } });
  },
});

export const triggerTokenRule = defineRule<'trigger', CheckAnalysis>({
  id: 'data/trigger-token',
  title: 'Possible trigger token: a rare token whose rows nearly all carry one label',
  description:
    'A token of a text column is new, or far more frequent than in the baseline, and the rows holding it nearly all carry one label — ' +
    'far more than that label\'s overall share. This is the shape of a backdoor trigger: a model trained on it learns "token ⇒ label".',
  severity: 'critical',
  confidence: 'medium',
  tags: ['owasp-ml:ML02', 'cwe:506'],
  remediation: 'Remove or relabel the named rows and find where they came from; a legitimate new term can be accepted by re-profiling the baseline.',
  messages: { trigger: 'Token {{token}} in column {{column}}: {{rows}} rows (expected about {{expected}} from the baseline, ×{{surge}}), {{purity}} labelled {{label}} (overall {{labelShare}}); rows: {{examples}}.' },
  check(a, report) {
    for (const t of a.triggers) {
      if (isIgnored(a.contract, t.column)) continue;
      report({
        message: 'trigger',
        data: { token: quote(t.token), column: quote(t.column), rows: t.rows, expected: fmt(t.expected, 3), surge: fmt(t.surge, 3), purity: pct(t.purity), label: quote(t.label), labelShare: pct(t.labelShare), examples: list(t.examples) },
        key: `${t.column}:${t.token}`,
        properties: { metric: 'token surge and label purity', column: t.column, token: t.token, label: t.label, rows: t.rows, surge: t.surge, purity: t.purity, thresholds: { rows: a.contract.thresholds.triggerRows, surge: a.contract.thresholds.triggerSurge, purity: a.contract.thresholds.triggerPurity }, keys: t.examples },
      });
    }
  },
});

export const nearDuplicatesRule = defineRule<'clusters', CheckAnalysis>({
  id: 'data/near-duplicates',
  title: 'Clusters of near-duplicate rows',
  description: 'Rows that are nearly the same (numbers equal to three significant digits, text with the same words) form clusters at a higher rate than in the baseline: lightly perturbed copies used to amplify poisoned rows.',
  severity: 'medium',
  confidence: 'medium',
  tags: ['owasp-ml:ML02'],
  remediation: 'Inspect the named rows and their source; deduplicate near-copies before training.',
  messages: { clusters: '{{rows}} of {{population}} {{among}} ({{share}}) fall in {{clusters}} near-duplicate clusters, against {{baseline}} in the baseline (threshold +{{threshold}}); e.g. {{examples}}.' },
  check(a, report) {
    const n = a.nearDuplicates;
    if (!n || n.population === 0) return;
    const share = n.rows / n.population;
    const threshold = a.contract.thresholds.nearDuplicates;
    if (share - n.baselineRate > threshold && n.rows >= 3) {
      report({ message: 'clusters', data: { rows: n.rows, population: n.population, among: n.among, share: pct(share), clusters: n.clusters, baseline: pct(n.baselineRate), threshold: pct(threshold), examples: list(n.examples) }, key: 'near', properties: { metric: 'near-duplicate share', value: share, baseline: n.baselineRate, threshold, examples: n.examples } });
    }
  },
});

export const labelOutliersRule = defineRule<'outliers', CheckAnalysis>({
  id: 'data/label-outliers',
  title: 'More outliers within a label than in the baseline',
  description: "Within one label class, a numeric column has more robust outliers (values more than six scaled median absolute deviations from the baseline's median for that class) than the baseline had. Poisoned rows are often out of place for the label they carry.",
  severity: 'medium',
  confidence: 'medium',
  tags: ['owasp-ml:ML02'],
  remediation: 'Inspect the named rows: a unit change, a broken feature job, or rows labelled to mislead.',
  messages: { outliers: 'Column {{column}}, label {{label}}: {{outliers}} of {{rows}} rows ({{rate}}) are robust outliers, against {{baseline}} in the baseline (threshold +{{threshold}}); e.g. {{examples}}.' },
  check(a, report) {
    for (const o of a.outliers) {
      if (isIgnored(a.contract, o.column)) continue;
      const threshold = thresholdFor(a.contract, 'outliers', o.column);
      if (o.candidateRate - o.baselineRate <= threshold || o.outliers < 5) continue;
      report({ message: 'outliers', data: { column: quote(o.column), label: quote(o.label), outliers: o.outliers, rows: o.candidateRows, rate: pct(o.candidateRate), baseline: pct(o.baselineRate), threshold: pct(threshold), examples: list(o.examples) }, key: `${o.column}:${o.label}`, properties: { metric: 'robust outlier share', column: o.column, label: o.label, value: o.candidateRate, baseline: o.baselineRate, threshold, examples: o.examples } });
    }
  },
});

export const unreadableRowsRule = defineRule<'rows', CheckAnalysis>({
  id: 'data/unreadable-rows',
  title: 'Rows that could not be read',
  description: 'Rows of the candidate could not be read: the wrong number of fields, a value that does not fit the column type, or bytes that are not UTF-8. They are left out of every other check, so they are reported rather than silently dropped.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:20', 'cwe:703'],
  remediation: 'Fix the named lines (or the job that wrote them) and check again.',
  messages: { rows: '{{count}} rows could not be read and were left out of the checks: {{examples}}.' },
  check(a, report) {
    if (a.unreadable.count === 0) return;
    const examples = a.unreadable.examples.map((r) => `${r.part} line ${r.line} (${r.error.toLowerCase()}${r.column ? ` in ${r.column}` : ''})`);
    report({ message: 'rows', data: { count: a.unreadable.count, examples: list(examples, 5) }, key: 'unreadable', properties: { metric: 'unreadable rows', count: a.unreadable.count, examples: a.unreadable.examples } });
  },
});

export const unreadFilesRule = defineRule<'files', CheckAnalysis>({
  id: 'data/unread-files',
  title: 'Files in the dataset that are not data parts',
  description: 'The dataset directory holds files that are not CSV, JSON Lines or Parquet parts, so no check read them. A loader that reads every file would see data the check did not.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:703'],
  remediation: 'Move the files out of the dataset directory, or name them with the extension of their format.',
  messages: { files: '{{count}} file(s) in the dataset were not read as data: {{files}}.' },
  check(a, report) {
    const files = a.candidate.source.skipped;
    if (files.length === 0) return;
    report({ message: 'files', data: { count: files.length, files: list(files) }, key: 'skipped', properties: { files } });
  },
});

export const frozenChangedRule = defineRule<'content' | 'column', CheckAnalysis>({
  id: 'data/frozen-changed',
  title: 'Data the contract freezes has changed',
  description: 'The contract freezes this data (its whole content, or columns of existing rows) — e.g. an approved evaluation set — and the candidate differs from the baseline there.',
  severity: 'critical',
  confidence: 'high',
  tags: ['cwe:345', 'owasp-ml:ML02'],
  remediation: 'Restore the frozen data, or approve the change by re-profiling the baseline and updating the contract through review.',
  messages: {
    content: 'The content is frozen but changed: content hash {{baseline}} in the baseline, {{candidate}} now.',
    column: 'Column {{column}} is frozen but {{count}} existing rows changed it; keys: {{examples}}.',
  },
  check(a, report) {
    if (a.content && a.content.baseline !== a.content.candidate) {
      report({ message: 'content', data: { baseline: a.content.baseline, candidate: a.content.candidate }, key: 'content', properties: { metric: 'content hash', baseline: a.content.baseline, candidate: a.content.candidate } });
    }
    for (const f of a.rowDiff?.frozenChanges ?? []) {
      if (f.count > 0) report({ message: 'column', data: { column: quote(f.column), count: f.count, examples: list(f.examples) }, key: `column:${f.column}`, properties: { column: f.column, count: f.count, keys: f.examples } });
    }
  },
});

/** Every data rule, sorted by id. */
export const dataRules: readonly AnyRule[] = [
  categoricalDriftRule,
  completenessRule,
  conflictingLabelsRule,
  duplicateKeysRule,
  duplicateRowsRule,
  frozenChangedRule,
  labelFlipsRule,
  labelOutliersRule,
  labelShiftRule,
  nearDuplicatesRule,
  numericDriftRule,
  rowDiffRule,
  schemaChangeRule,
  segmentLabelShiftRule,
  triggerTokenRule,
  unreadFilesRule,
  unreadableRowsRule,
  unseenCategoriesRule,
  volumeChangeRule,
];
