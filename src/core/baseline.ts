import { parseJsonBounded } from './bounded-json.js';
import { CustodyError } from './errors.js';
import type { Finding } from './finding.js';
import { readRegularFile, writeFileSafely } from './safe-fs.js';

/**
 * A baseline records the fingerprints of accepted findings so that only new ones are reported.
 * Fingerprints do not depend on line numbers, so a baseline survives edits that move code.
 */
export interface Baseline {
  version: 1;
  fingerprints: ReadonlySet<string>;
}

/** Bounds on a baseline file before it is parsed: about 350,000 findings fit in 64 MiB. */
const BASELINE_LIMITS = { maxBytes: 64 * 1024 * 1024, maxDepth: 16, maxValues: 4_000_000 } as const;

export async function readBaseline(path: string): Promise<Baseline> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, { maxBytes: BASELINE_LIMITS.maxBytes });
  } catch (error) {
    const code = error instanceof CustodyError && error.code !== 'PATH_NOT_FOUND' ? error.code : 'IO_ERROR';
    throw new CustodyError(code, `cannot read baseline ${path}: ${(error as Error).message}`, { cause: error });
  }
  const raw = parseJsonBounded(bytes, { ...BASELINE_LIMITS, what: `baseline ${path}`, invalidCode: 'BASELINE_INVALID' });
  const entries = (raw as { findings?: unknown })?.findings;
  if ((raw as { version?: unknown })?.version !== 1 || !Array.isArray(entries)) {
    throw new CustodyError('BASELINE_INVALID', `${path}: expected {"version":1,"findings":[{"fingerprint":…}]}; write one with --write-baseline`);
  }
  const fingerprints = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    const fp = (entry as { fingerprint?: unknown })?.fingerprint;
    if (typeof fp !== 'string' || !/^[0-9a-f]{16,64}$/.test(fp)) {
      throw new CustodyError('BASELINE_INVALID', `${path}: findings[${i}].fingerprint must be a hex string`);
    }
    fingerprints.add(fp);
  }
  return { version: 1, fingerprints };
}

/** Writes a baseline; entries keep rule and location so that reviewers can read the file. */
export async function writeBaseline(path: string, findings: readonly Finding[]): Promise<void> {
  const entries = findings.map((f) => ({
    fingerprint: f.fingerprint,
    ruleId: f.ruleId,
    path: f.location.path,
    ...(f.location.member ? { member: f.location.member } : {}),
  }));
  const body = `${JSON.stringify({ version: 1, findings: entries }, null, 2)}\n`;
  try {
    await writeFileSafely(path, body);
  } catch (error) {
    if (error instanceof CustodyError) throw new CustodyError(error.code, `cannot write baseline: ${error.message}`, { cause: error });
    throw new CustodyError('IO_ERROR', `cannot write baseline ${path}: ${(error as Error).message}`, { cause: error });
  }
}
