/** CVSS v3.0/v3.1 base scores from a vector string (FIRST's specification, §7.1 and Appendix A). */

const WEIGHTS = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  C: { H: 0.56, L: 0.22, N: 0 },
} as const;

function roundUp(value: number): number {
  const scaled = Math.round(value * 100000);
  return scaled % 10000 === 0 ? scaled / 100000 : (Math.floor(scaled / 10000) + 1) / 10;
}

/** The base score of a `CVSS:3.x/AV:…` vector, or undefined when it is not one. */
export function cvss3BaseScore(vector: string): number | undefined {
  if (!/^CVSS:3\.[01]\//.test(vector)) return undefined;
  const metrics = new Map<string, string>();
  for (const part of vector.split('/').slice(1)) {
    const [key, value] = part.split(':');
    if (key !== undefined && value !== undefined) metrics.set(key, value);
  }
  const get = <T extends Record<string, number>>(table: T, key: string): number | undefined => {
    const v = metrics.get(key);
    return v !== undefined && v in table ? table[v as keyof T] : undefined;
  };
  const scope = metrics.get('S');
  const av = get(WEIGHTS.AV, 'AV');
  const ac = get(WEIGHTS.AC, 'AC');
  const ui = get(WEIGHTS.UI, 'UI');
  const pr = metrics.get('PR');
  const c = get(WEIGHTS.C, 'C');
  const i = get(WEIGHTS.C, 'I');
  const a = get(WEIGHTS.C, 'A');
  if (av === undefined || ac === undefined || ui === undefined || c === undefined || i === undefined || a === undefined || (scope !== 'U' && scope !== 'C')) return undefined;
  const changed = scope === 'C';
  const prWeight = pr === 'N' ? 0.85 : pr === 'L' ? (changed ? 0.68 : 0.62) : pr === 'H' ? (changed ? 0.5 : 0.27) : undefined;
  if (prWeight === undefined) return undefined;
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability = 8.22 * av * ac * prWeight * ui;
  if (impact <= 0) return 0;
  return changed ? roundUp(Math.min(1.08 * (impact + exploitability), 10)) : roundUp(Math.min(impact + exploitability, 10));
}
