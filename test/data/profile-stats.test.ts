import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataEngine, sqlString } from '../../src/data/engine.js';
import { profileDataset, QUANTILE_LEVELS, type DataProfile } from '../../src/data/profile.js';
import { workDir } from './helpers.js';

/**
 * The profile's figures against an oracle: the same statistics written the plain way in DuckDB
 * (count(DISTINCT …), quantile_cont, GROUP BY every column), on a generated dataset with NULLs,
 * NaN and infinities, case and spacing variants, Unicode, punctuation, repeated tokens, exact and
 * canonical copies, conflicting labels and near copies. The profile takes shortcuts (value counts
 * for columns with few values, a hash grouping to find the rows that can repeat, one sort per
 * numeric column); a low histogram limit sends every column down the other path as well.
 */

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['Alpha', 'beta', 'GAMMA', 'delta', 'épée', 'naïve', '東京', 'data-set', "don't", 'x', 'ab_cd', 'z9', 'Straße'];

function writeDataset(path: string): void {
  const rnd = random(42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const quote = (v: string): string => (/[",\n\r]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v);
  type Row = [number, string, string, string, string, string, string, string, string];
  const rows: Row[] = [];
  for (let i = 0; i < 4000; i += 1) {
    const label = i % 41 === 0 ? '' : pick(['cat', 'dog', 'dog', 'bird']);
    const amount = i % 97 === 1 ? 'nan' : i % 131 === 2 ? 'inf' : i % 53 === 0 ? '' : pick(['1.5', '2', '2.25', '-0.5', String(Math.round(rnd() * 40) / 4), '1000']);
    const score = i % 61 === 0 ? '' : String(Math.round((rnd() - 0.5) * 1e6) / 1e3);
    const qty = String(Math.floor(rnd() * 12));
    const cat = i % 29 === 0 ? '' : pick(['red', 'Red', ' red', 'green', 'BLUE', 'blue']);
    const words = Array.from({ length: Math.floor(rnd() * 7) }, () => pick(WORDS) + pick(['', '', ',', '.', '!', '  ']));
    const text = i % 37 === 0 ? '' : words.join(' ');
    const flag = i % 23 === 0 ? '' : pick(['true', 'false']);
    // Every value already in canonical form (the profile then skips canonicalising it row by row).
    const tier = i % 31 === 0 ? '' : pick(['gold', 'silver', 'bronze', 'a b']);
    rows.push([i, label, amount, score, qty, cat, text, flag, tier]);
  }
  // Exact copies (new keys), canonical variants, conflicting labels, near copies.
  for (let j = 0; j < 60; j += 1) {
    const source = rows[j * 7] as Row;
    const copy = [...source] as Row;
    copy[0] = 100000 + j;
    if (j % 4 === 1) copy[6] = `  ${copy[6].toUpperCase()}  `;
    if (j % 4 === 2) copy[1] = copy[1] === 'cat' ? 'dog' : 'cat';
    // One space at an end and capitals, with no run of spaces: the canonical form's trim-only path.
    if (j % 4 === 3) copy[6] = ` ${copy[6].replace(/ {2,}/g, ' ').trim().toUpperCase()}`;
    rows.push(copy);
  }
  for (let j = 0; j < 40; j += 1) {
    const source = rows[j * 11 + 3] as Row;
    for (const k of [0, 1]) {
      const copy = [...source] as Row;
      copy[0] = 200000 + j * 2 + k;
      if (copy[3] !== '') copy[3] = String(Number(copy[3]) * (1 + 1e-6 * (k + 1)));
      rows.push(copy);
    }
  }
  const lines = ['id,label,amount,score,qty,cat,text,flag,tier', ...rows.map((r) => r.map((v) => quote(String(v))).join(','))];
  writeFileSync(path, `${lines.join('\n')}\n`);
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : Number(v));

describe('data profile: every figure matches the plain computation', () => {
  let dir: string;
  let path: string;
  let oracle: DataEngine;
  const profiles: [string, DataProfile][] = [];
  const q = async (sql: string): Promise<unknown[][]> => (await oracle.query(sql, 'oracle')).rows;

  before(async () => {
    dir = workDir('profile-stats');
    path = join(dir, 'mixed.csv');
    writeDataset(path);
    oracle = await DataEngine.open({ memoryLimit: '512MB' });
    await oracle.run(`CREATE TABLE t AS SELECT * FROM read_csv(${sqlString(path)})`, 'oracle');
    for (const limit of [100_000, 3]) {
      profiles.push([`histogram limit ${limit}`, await profileDataset(path, { key: 'id', label: 'label', histogramLimit: limit })]);
    }
  });
  after(async () => oracle.close());

  it('counts, distinct values, moments, quantiles, bins and CDF', async () => {
    for (const [what, p] of profiles) {
      for (const c of p.columns) {
        const ref = `"${c.name}"`;
        const [[count, distinct]] = (await q(`SELECT count(${ref}), count(DISTINCT ${ref}) FROM t`)) as [[bigint, bigint]];
        assert.equal(c.count, num(count), `${what}: ${c.name} count`);
        if (c.distinctApproximate) assert.ok(Math.abs(c.distinct - num(distinct)) <= 0.2 * num(distinct) + 2, `${what}: ${c.name} distinct estimate`);
        else assert.equal(c.distinct, num(distinct), `${what}: ${c.name} distinct`);
        if (!c.numeric) continue;
        const x = `CAST(${ref} AS DOUBLE)`;
        const [[mn, mx, mean, sd, n, nf, qs]] = (await q(
          `SELECT min(${x}) FILTER (isfinite(${x})), max(${x}) FILTER (isfinite(${x})), avg(${x}) FILTER (isfinite(${x})), stddev_samp(${x}) FILTER (isfinite(${x})), count_if(isfinite(${x})), count_if(NOT isfinite(${x})), quantile_cont(${x}, [${QUANTILE_LEVELS.join(', ')}]) FILTER (isfinite(${x})) FROM t`,
        )) as [[number, number, number, number, bigint, bigint, number[]]];
        assert.equal(c.numeric.min, mn, `${what}: ${c.name} min`);
        assert.equal(c.numeric.max, mx, `${what}: ${c.name} max`);
        assert.ok(Math.abs(c.numeric.mean - mean) <= 1e-9 * Math.max(1, Math.abs(mean)), `${what}: ${c.name} mean`);
        assert.ok(Math.abs(c.numeric.std - sd) <= 1e-9 * Math.max(1, sd), `${what}: ${c.name} std`);
        assert.equal(c.numeric.nonFinite, num(nf), `${what}: ${c.name} non-finite`);
        c.numeric.quantiles.forEach((v, i) => assert.ok(Math.abs(v - (qs[i] ?? NaN)) <= 1e-9 * Math.max(1, Math.abs(v)), `${what}: ${c.name} quantile ${i}: ${v} vs ${qs[i]}`));
        const points = [...c.numeric.bins.edges, ...c.numeric.quantiles];
        const [below] = (await q(`SELECT ${points.map((e) => `count_if(${x} <= CAST(${JSON.stringify(e)} AS DOUBLE) AND isfinite(${x}))`).join(', ')} FROM t`)) as [bigint[]];
        const edges = c.numeric.bins.edges.length;
        let previous = 0;
        c.numeric.bins.counts.forEach((k, i) => {
          const upTo = i < edges ? num(below[i]) : num(n);
          assert.equal(k, upTo - previous, `${what}: ${c.name} bin ${i}`);
          previous = upTo;
        });
        c.numeric.cdf.forEach((v, i) => assert.ok(Math.abs(v - num(below[edges + i]) / num(n)) < 1e-11, `${what}: ${c.name} cdf ${i}`));
      }
    }
  });

  it('top values, label classes and label rates by segment', async () => {
    for (const [what, p] of profiles) {
      const cat = p.columns.find((c) => c.name === 'cat');
      assert.equal(cat?.semantic, 'categorical');
      const top = await q(`SELECT cat, count(*) AS n FROM t WHERE cat IS NOT NULL GROUP BY cat ORDER BY n DESC, cat`);
      assert.deepEqual(cat?.top?.values, top.map(([value, n]) => ({ value, count: num(n) })), `${what}: top values of cat`);
      const classes = await q(`SELECT coalesce(label, '<null>') AS l, count(*) AS n FROM t GROUP BY l ORDER BY n DESC, l`);
      assert.deepEqual(p.label?.classes, classes.map(([value, n]) => ({ value, count: num(n) })), `${what}: label classes`);
      for (const segment of p.label?.segments ?? []) {
        const s = `"${segment.column}"`;
        const canon = p.columns.find((c) => c.name === segment.column)?.kind === 'boolean' ? `CASE WHEN ${s} THEN 'true' WHEN NOT ${s} THEN 'false' END` : `CAST(${s} AS VARCHAR)`;
        const rows = await q(`SELECT coalesce(${canon}, '<null>') AS v, coalesce(label, '<null>') AS l, count(*) FROM t GROUP BY v, l`);
        for (const [v, l, n] of rows as [string, string, bigint][]) {
          assert.equal(segment.values.find((x) => x.value === v)?.labels[l], num(n), `${what}: ${segment.column}=${v} label ${l}`);
        }
      }
      assert.ok(p.label?.segments.some((sg) => sg.column === 'flag'), `${what}: the boolean column is a segment`);
    }
  });

  it('exact and canonical duplicates, conflicting labels and near duplicates', async () => {
    const all = 'label, amount, score, qty, cat, text, flag, tier';
    const canon = (c: string): string => `lower(trim(regexp_replace(nfc_normalize(${c}), '\\s+', ' ', 'g')))`;
    const round = (c: string): string => `CASE WHEN CAST(${c} AS DOUBLE) = 0 OR NOT isfinite(CAST(${c} AS DOUBLE)) THEN CAST(${c} AS DOUBLE) ELSE round(CAST(${c} AS DOUBLE), CAST(2 - floor(log10(abs(CAST(${c} AS DOUBLE)))) AS INTEGER)) END`;
    const [[exact, canonical, groups, rows, clusters, nearRows]] = (await q(
      `SELECT (SELECT sum(n - 1) FROM (SELECT count(*) AS n FROM t GROUP BY ${all})),
              (SELECT sum(n - 1) FROM (SELECT count(*) AS n FROM t GROUP BY label, amount, score, qty, ${canon('cat')}, ${canon('text')}, flag, tier)),
              (SELECT count(*) FROM (SELECT count(DISTINCT label) AS l FROM t GROUP BY amount, score, qty, cat, text, flag, tier) WHERE l > 1),
              (SELECT sum(n) FROM (SELECT count(*) AS n, count(DISTINCT label) AS l FROM t GROUP BY amount, score, qty, cat, text, flag, tier) WHERE l > 1),
              (SELECT count(*) FROM (SELECT count(*) AS n FROM t GROUP BY ${round('amount')}, ${round('score')}, ${round('qty')}, ${canon('cat')}, ${canon('text')}, flag, ${canon('tier')}) WHERE n >= 3),
              (SELECT sum(n) FROM (SELECT count(*) AS n FROM t GROUP BY ${round('amount')}, ${round('score')}, ${round('qty')}, ${canon('cat')}, ${canon('text')}, flag, ${canon('tier')}) WHERE n >= 3)`,
    )) as [[bigint, bigint, bigint, bigint, bigint, bigint]];
    assert.ok(num(exact) >= 15 && num(canonical) > num(exact) && num(groups) > 0 && num(clusters) > 0, `the dataset holds every kind of copy: ${[exact, canonical, groups, clusters].join(" ")}`);
    for (const [what, p] of profiles) {
      assert.deepEqual(
        { exact: p.duplicates.exact, canonical: p.duplicates.canonical, groups: p.duplicates.conflictingGroups, rows: p.duplicates.conflictingRows, clusters: p.nearDuplicates.clusters, near: p.nearDuplicates.rowsInClusters },
        { exact: num(exact), canonical: num(canonical), groups: num(groups), rows: num(rows), clusters: num(clusters), near: num(nearRows) },
        what,
      );
    }
  });

  it('token vocabulary (occurrences) and robust statistics by label', async () => {
    const vocab = await q(
      `SELECT tok, count(*) AS n FROM (SELECT unnest(string_split_regex(lower(text), '[^\\p{L}\\p{N}_]+')) AS tok FROM t) WHERE length(tok) >= 2 GROUP BY tok HAVING count(*) >= 3 ORDER BY n DESC, tok`,
    );
    const robust = await q(
      `WITH v AS (SELECT coalesce(label, '<null>') AS l, CAST(amount AS DOUBLE) AS x FROM t WHERE isfinite(CAST(amount AS DOUBLE))),
            m AS (SELECT l, count(*) AS n, quantile_cont(x, 0.5) AS med FROM v GROUP BY l),
            d AS (SELECT v.l, quantile_cont(abs(v.x - m.med), 0.5) * 1.4826 AS mad FROM v JOIN m USING (l) GROUP BY v.l)
       SELECT m.l, m.n, m.med, d.mad, (SELECT count(*) FROM v WHERE v.l = m.l AND d.mad > 0 AND abs(v.x - m.med) > 6 * d.mad) FROM m JOIN d USING (l) ORDER BY m.l`,
    );
    for (const [what, p] of profiles) {
      const tokens = p.tokens.find((t) => t.column === 'text');
      assert.ok(tokens, `${what}: text is a text column`);
      assert.deepEqual(tokens.vocabulary, vocab.map(([tok, n]) => [tok, num(n)]), `${what}: vocabulary`);
      const amount = p.outliers.filter((o) => o.column === 'amount');
      assert.equal(amount.length, robust.length, `${what}: labels with amounts`);
      for (const [l, n, med, mad, o] of robust as [string, bigint, number, number, bigint][]) {
        const got = amount.find((x) => x.label === l);
        assert.ok(got && got.rows === num(n) && Math.abs(got.median - med) < 1e-9 && Math.abs(got.mad - mad) < 1e-9 && got.outliers === num(o), `${what}: amount by ${l}: ${JSON.stringify(got)} vs ${[n, med, mad, o].join(' ')}`);
      }
    }
  });
});
