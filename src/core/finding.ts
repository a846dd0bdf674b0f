import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Confidence, Severity } from './severity.js';

export interface Location {
  /** The path as given on the command line joined with the relative path (POSIX separators). */
  path: string;
  /** Path inside a container, `!`-separated for nesting: `archive/data.pkl`, `layer.tar!etc/key`. */
  member?: string;
  /** 1-based line in the file as stored. */
  line?: number;
  /** 1-based column. */
  column?: number;
  endLine?: number;
  /** Byte offset in the file (or in the member when `member` is set). */
  offset?: number;
}

export interface Finding {
  ruleId: string;
  scanner: string;
  severity: Severity;
  confidence: Confidence;
  title: string;
  message: string;
  location: Location;
  /** Redacted: never a raw secret. */
  evidence?: string;
  remediation: string;
  docs: string;
  fingerprint: string;
  tags: readonly string[];
  /** Extra structured facts (cell index, commit, deleted-in-layer…); values never raw secrets. */
  properties?: Record<string, unknown>;
}

/**
 * A fingerprint that survives line moves: rule, path, member and a key that the rule chooses
 * (for secrets, a salted hash of the value; otherwise the evidence or message). The path is
 * normalised, so `./repo/a.py` and `repo/a.py` share fingerprints (and baselines).
 */
export function computeFingerprint(ruleId: string, location: Location, key: string): string {
  const hash = createHash('sha256');
  hash.update(ruleId).update('\0').update(posix.normalize(location.path)).update('\0');
  hash.update(location.member ?? '').update('\0').update(key);
  return hash.digest('hex').slice(0, 32);
}

/** Orders findings by path, member, line, offset, then rule id, for stable output. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    cmp(a.location.path, b.location.path) ||
    cmp(a.location.member ?? '', b.location.member ?? '') ||
    (a.location.line ?? 0) - (b.location.line ?? 0) ||
    (a.location.offset ?? 0) - (b.location.offset ?? 0) ||
    cmp(a.ruleId, b.ruleId) ||
    cmp(a.fingerprint, b.fingerprint)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
