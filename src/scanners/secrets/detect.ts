import { findAssignment } from './assign.js';
import { scanKeywordStarts } from './automaton.js';
import { ASSIGNMENT_RULES, KEYWORD_INDEX, type KeywordEntry } from './registry.js';
import { TextIndex } from './text-index.js';
import type { AssignmentMode, Candidate, RawCandidate, ScanDoc, SecretDoc } from './types.js';

export interface DetectOutcome {
  /** Non-overlapping candidates, sorted by offset. */
  readonly candidates: Candidate[];
  /** Set when the deadline passed: the offset the prefilter had reached. */
  readonly stoppedAt?: number;
}

const MODES: readonly AssignmentMode[] = ['name', 'context'];
/** Rules at this priority or below are generic: they run only when no provider rule claims an assignment. */
const GENERIC_PRIORITY = 1;
/** How many prefilter hits between deadline checks. */
const CHECK_EVERY = 512;

function keywordAt(text: string, pos: number, entry: KeywordEntry): boolean {
  if (!entry.ignoreCase) return text.startsWith(entry.keyword, pos);
  const lower = entry.lower;
  if (pos + lower.length > text.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = text.charCodeAt(pos + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Finds secrets in one document. One pass of the keyword automaton finds every position where some
 * rule could match; each rule's detector then reads a bounded window at that position,
 * and assignment keywords (`key`, `token`, `pass`…) run the assignment parser once per value.
 * Overlapping candidates keep the most specific rule.
 */
export function detectSecrets(source: SecretDoc, deadline: number): DetectOutcome {
  const doc: ScanDoc = { ...source, index: new TextIndex(source.text) };
  const { text } = doc;
  const raw: Candidate[] = [];
  const seenValues = new Set<number>();
  let hits = 0;
  const stoppedAt = scanKeywordStarts(KEYWORD_INDEX.automaton, text, (pos) => {
    if (++hits % CHECK_EVERY === 0 && Date.now() > deadline) return false;
    const first = text.charCodeAt(pos);
    const entries = KEYWORD_INDEX.byFirstCode[first >= 65 && first <= 90 ? first + 32 : first];
    if (entries === undefined) return true;
    for (const entry of entries) {
      if (!keywordAt(text, pos, entry)) continue;
      for (const { rule, detector } of entry.detectors) {
        detector.find(doc, pos, entry.keyword, (c: RawCandidate) => raw.push({ ...c, rule }));
      }
      if (entry.assignment) classifyAssignmentAt(doc, pos, seenValues, raw);
    }
    return true;
  });
  const candidates = resolveOverlaps(raw);
  return stoppedAt === undefined ? { candidates } : { candidates, stoppedAt };
}

function classifyAssignmentAt(doc: ScanDoc, pos: number, seen: Set<number>, out: Candidate[]): void {
  const a = findAssignment(doc, pos, doc.index);
  if (a === undefined || seen.has(a.valueStart)) return;
  seen.add(a.valueStart);
  // Provider rules first, by name then by context; the generic rule (lowest priority) only when none claims the value.
  for (const mode of MODES) {
    for (const rule of ASSIGNMENT_RULES) {
      if (rule.priority <= GENERIC_PRIORITY) continue;
      const verdict = rule.assignment!(a, doc, mode);
      if (verdict !== undefined) {
        out.push({ ...verdict, rule, start: a.valueStart, end: a.valueEnd, secret: a.value });
        return;
      }
    }
  }
  for (const rule of ASSIGNMENT_RULES) {
    if (rule.priority > GENERIC_PRIORITY) continue;
    const verdict = rule.assignment!(a, doc, 'name');
    if (verdict !== undefined) {
      out.push({ ...verdict, rule, start: a.valueStart, end: a.valueEnd, secret: a.value });
      return;
    }
  }
}

function better(a: Candidate, b: Candidate): boolean {
  if (a.rule.priority !== b.rule.priority) return a.rule.priority > b.rule.priority;
  const la = a.end - a.start;
  const lb = b.end - b.start;
  if (la !== lb) return la > lb;
  return a.start < b.start || (a.start === b.start && a.rule.id < b.rule.id);
}

/**
 * Keeps, among candidates whose spans overlap, the most specific (highest priority, then longest).
 * Works group by group: a group is a run of candidates (sorted by start) linked by overlaps.
 */
function resolveOverlaps(candidates: readonly Candidate[]): Candidate[] {
  if (candidates.length <= 1) return [...candidates];
  const sorted = [...candidates].sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Candidate[] = [];
  let group: Candidate[] = [];
  let groupEnd = -1;
  const flush = (): void => {
    if (group.length === 1) kept.push(group[0]!);
    else if (group.length > 1) {
      const ranked = group.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
      const accepted: Candidate[] = [];
      for (const c of ranked) {
        if (accepted.some((k) => k.start < c.end && c.start < k.end)) continue;
        accepted.push(c);
        if (accepted.length > 256) break; // pathological input: keep the best 256 of one overlap chain
      }
      accepted.sort((a, b) => a.start - b.start);
      kept.push(...accepted);
    }
    group = [];
  };
  for (const c of sorted) {
    if (c.start >= groupEnd) {
      flush();
      groupEnd = c.end;
    } else if (c.end > groupEnd) groupEnd = c.end;
    group.push(c);
  }
  flush();
  return kept;
}

