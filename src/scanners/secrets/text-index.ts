/**
 * Memoised searches over one document, so that the work done at every prefilter hit stays bounded and a
 * hostile line (a megabyte of `password=`, of `-----BEGIN PRIVATE KEY-----`, of `AKIA`) costs time linear
 * in its length. Hits arrive in increasing order; each search remembers how far it has looked, so text
 * is read again only when a query goes backwards (rare, and then within a fixed bound).
 */

interface ForwardMemo {
  /** The first occurrence that starts at or after `from` is `at`; -1: none starts in [from, scannedEnd). */
  from: number;
  at: number;
  scannedEnd: number;
}

interface BackwardMemo {
  /** Every occurrence that starts before `scannedTo` has been seen; `last` is the latest of them (-1: none). */
  scannedTo: number;
  last: number;
  /** The first occurrence at or after `scannedTo`, once known (-2: not looked for yet, -1: none). */
  next: number;
}

/** How far back a query that goes backwards may look before giving up (such queries are rare). */
const BACKWARD_FALLBACK = 4096;

/** What the text of a line holds before a position: open quotes and an inline comment marker (` // `, ` # `). */
export interface LineFacts {
  readonly doubleQuoted: boolean;
  readonly singleQuoted: boolean;
  readonly inlineComment: boolean;
  /** Only blanks between the line start and the position. */
  readonly atLineStart: boolean;
}

export class TextIndex {
  private readonly forward = new Map<string, ForwardMemo>();
  /** Quote parity and the first inline comment of the line being read, up to `at`. */
  private readonly line = { start: -1, at: 0, dq: false, sq: false, commentEnd: -1, firstText: -1 };
  /** One value per key for the line last asked about (context that every name on a line shares). */
  private readonly perLine = new Map<string, { lineStart: number; value: string }>();
  private readonly backward = new Map<string, BackwardMemo>();
  /** Newlines around the line cursor: `prevNl` < cursor ≤ `nextNl` (text.length when none). */
  private prevNl = -1;
  private nextNl = -2;

  constructor(readonly text: string) {}

  /** Start of the line holding `pos`, but no further back than `pos - limit`. */
  lineStart(pos: number, limit: number): number {
    const text = this.text;
    if (this.nextNl === -2) this.nextNl = nlAt(text, 0);
    if (pos <= this.prevNl) {
      // A query behind the cursor: a bounded look back.
      const floor = Math.max(0, pos - limit);
      const nl = text.lastIndexOf('\n', pos - 1);
      return nl >= floor ? nl + 1 : floor;
    }
    while (this.nextNl < pos) {
      this.prevNl = this.nextNl;
      this.nextNl = nlAt(text, this.nextNl + 1);
    }
    return Math.max(this.prevNl + 1, pos - limit);
  }

  /**
   * Open quotes and inline comments in [lineStart, upTo): unescaped `"` and `'` counted, and whether a ` // ` or
   * ` # ` (blank on both sides) ends before `upTo`. Positions that increase along a line reuse the scan so far.
   */
  lineFacts(lineStart: number, upTo: number): LineFacts {
    const text = this.text;
    const st = this.line;
    if (st.start !== lineStart || upTo < st.at) {
      st.start = lineStart;
      st.at = lineStart;
      st.dq = false;
      st.sq = false;
      st.commentEnd = -1;
      st.firstText = -1;
    }
    let i = st.at;
    for (; i < upTo; i++) {
      const c = text.charCodeAt(i);
      if (st.firstText < 0 && c !== 32 && c !== 9) st.firstText = i;
      if (c === 92 /* \ */) {
        i++;
        continue;
      }
      if (c === 34) st.dq = !st.dq;
      else if (c === 39) st.sq = !st.sq;
      else if (st.commentEnd < 0 && (c === 32 || c === 9) && i + 2 < text.length) {
        const a = text.charCodeAt(i + 1);
        const b = text.charCodeAt(i + 2);
        if (a === 35 /* # */ && (b === 32 || b === 9 || b === 10 || b === 13)) st.commentEnd = i + 3;
        else if (a === 47 && b === 47 && i + 3 < text.length && /\s/.test(text[i + 3]!)) st.commentEnd = i + 4;
      }
    }
    st.at = Math.max(i, upTo);
    return { doubleQuoted: st.dq, singleQuoted: st.sq, inlineComment: st.commentEnd >= 0 && st.commentEnd <= upTo, atLineStart: st.firstText < 0 || st.firstText >= upTo };
  }

  private readonly brackets = { lineStart: -1, at: 0, before: -1, stack: [] as number[] };

  /**
   * The innermost `(` or `{` still open at `pos` (on the line that starts at `lineStart`, or before it within `reach`
   * characters), or -1. Brackets opened before the line are found once per line by walking back; along the line a
   * stack is kept, so that positions that increase along one long line cost nothing more.
   */
  enclosingOpen(lineStart: number, pos: number, reach: number): number {
    const text = this.text;
    const st = this.brackets;
    if (st.lineStart !== lineStart || pos < st.at) {
      st.lineStart = lineStart;
      st.at = lineStart;
      st.stack.length = 0;
      st.before = -1;
      let depth = 0;
      for (let i = lineStart - 1; i >= Math.max(0, lineStart - reach); i--) {
        const c = text.charCodeAt(i);
        if (c === 41 || c === 125) depth++;
        else if (c === 40 || c === 123) {
          if (depth === 0) {
            st.before = i;
            break;
          }
          depth--;
        }
      }
    }
    for (let i = st.at; i < pos; i++) {
      const c = text.charCodeAt(i);
      if (c === 40 || c === 123) {
        st.stack.push(i);
        // Bounded memory on hostile runs of brackets: the innermost ones are the ones asked about.
        if (st.stack.length > 2048) st.stack.splice(0, 1024);
      } else if (c === 41 || c === 125) {
        if (st.stack.length > 0) st.stack.pop();
        else st.before = -1;
      }
    }
    st.at = Math.max(st.at, pos);
    const open = st.stack.length > 0 ? st.stack[st.stack.length - 1]! : st.before;
    return open >= pos - reach ? open : -1;
  }

  /** `compute()` once per line for `key`: names on one line share what is around the line (enclosing calls, YAML parents). */
  perLineValue(key: string, lineStart: number, compute: () => string): string {
    const known = this.perLine.get(key);
    if (known !== undefined && known.lineStart === lineStart) return known.value;
    const value = compute();
    this.perLine.set(key, { lineStart, value });
    return value;
  }

  /**
   * First index of `needle` in [from, from + span) (the match may run past the span); -1 if none.
   * Increasing `from` reuses what earlier queries found.
   */
  nextIndex(needle: string, from: number, span: number): number {
    const text = this.text;
    const limit = Math.min(text.length, from + span);
    let memo = this.forward.get(needle);
    if (memo !== undefined && memo.from <= from) {
      if (memo.at >= from) return memo.at < limit ? memo.at : -1;
      if (memo.at === -1 && from < memo.scannedEnd) {
        if (limit <= memo.scannedEnd) return -1;
        const at = searchForward(text, needle, memo.scannedEnd, limit);
        memo.at = at;
        memo.scannedEnd = at >= 0 ? at : limit;
        return at;
      }
    }
    const at = searchForward(text, needle, from, limit);
    if (memo === undefined) {
      memo = { from, at, scannedEnd: at >= 0 ? at : limit };
      this.forward.set(needle, memo);
    } else {
      memo.from = from;
      memo.at = at;
      memo.scannedEnd = at >= 0 ? at : limit;
    }
    return at;
  }

  private readonly classes = new Map<string, ClassMemo>();

  /**
   * The nearest characters of a class around `pos` (say, quotes and newlines): the last one before `pos` (but not
   * below `floor`; -1 if none) and the first at or after it (but not at or past `limit`; -1 if none). `key` names the
   * class; increasing positions reuse earlier scans.
   */
  around(key: string, isMember: (c: number) => boolean, pos: number, floor: number, limit: number): { before: number; after: number } {
    const text = this.text;
    let memo = this.classes.get(key);
    if (memo === undefined || pos < memo.scannedTo) {
      // First use, or a query behind the cursor: scan back within the floor to restart.
      let last = -1;
      for (let i = pos - 1; i >= floor; i--) {
        if (isMember(text.charCodeAt(i))) {
          last = i;
          break;
        }
      }
      memo = { scannedTo: pos, last, next: -2 };
      this.classes.set(key, memo);
    }
    if (memo.next === -2 || memo.next < pos) {
      let i = memo.next === -2 ? memo.scannedTo : memo.next;
      // Advance past `pos`, remembering the last member before it.
      while (i < text.length) {
        if (isMember(text.charCodeAt(i))) {
          if (i >= pos) break;
          memo.last = i;
        }
        i++;
      }
      memo.next = i;
    }
    memo.scannedTo = pos;
    const before = memo.last >= floor ? memo.last : -1;
    const after = memo.next < limit && memo.next < text.length ? memo.next : -1;
    return { before, after };
  }

  /** Last index of `needle` that starts in [floor, before); -1 if none. Increasing `before` reuses earlier work. */
  prevIndex(needle: string, before: number, floor: number): number {
    const text = this.text;
    let memo = this.backward.get(needle);
    if (memo === undefined) {
      memo = { scannedTo: 0, last: -1, next: -2 };
      this.backward.set(needle, memo);
    }
    if (before < memo.scannedTo) {
      // Behind the cursor: the memo cannot answer; look back within a bound.
      const from = Math.max(floor, before - BACKWARD_FALLBACK);
      const at = text.slice(from, before).lastIndexOf(needle);
      return at < 0 ? -1 : from + at;
    }
    if (memo.next === -2) memo.next = text.indexOf(needle, memo.scannedTo);
    while (memo.next >= 0 && memo.next < before) {
      memo.last = memo.next;
      memo.next = text.indexOf(needle, memo.next + 1);
    }
    memo.scannedTo = before;
    return memo.last >= floor ? memo.last : -1;
  }
}

/** A memo for searches by character class: the nearest matching character before a cursor, and the next one after it. */
interface ClassMemo {
  scannedTo: number;
  last: number;
  /** First matching index at or after `scannedTo`, once known (-2: not looked for, text.length: none). */
  next: number;
}

function nlAt(text: string, from: number): number {
  const nl = text.indexOf('\n', from);
  return nl < 0 ? text.length : nl;
}

function searchForward(text: string, needle: string, from: number, limit: number): number {
  const start = Math.max(0, from);
  if (start >= limit) return -1;
  const at = text.slice(start, limit + needle.length - 1).indexOf(needle);
  return at < 0 ? -1 : start + at;
}
