/**
 * The keyword prefilter as an Aho–Corasick automaton over case-folded characters: one pass over the text finds
 * every position where some keyword starts, in time linear in the text and independent of how many keywords
 * there are (a regular-expression alternation slows down with each keyword it gains). Callers re-check the exact
 * keyword (case, for case-sensitive ones) at each position.
 */

export interface KeywordAutomaton {
  /** Character class of each UTF-16 code unit (case folded); every character no keyword uses is class 0. */
  readonly classes: Uint8Array;
  readonly classCount: number;
  /** Next state by state × class, stored as `state × classCount` (the row offset of the next state). */
  readonly delta: Int32Array;
  /** States are numbered so that those where some keyword ends come last: their rows start here. */
  readonly terminalFrom: number;
  /** Keyword lengths that end in each state (own and by failure links): `lengths[offsets[s] … offsets[s + 1])`. */
  readonly offsets: Int32Array;
  readonly lengths: Int32Array;
  readonly maxLength: number;
}

function fold(code: number): number {
  return code >= 65 && code <= 90 ? code + 32 : code;
}

/** Builds the automaton for `keywords` (matched ignoring ASCII case). */
export function buildAutomaton(keywords: readonly string[]): KeywordAutomaton {
  // Classes: one per distinct folded character that keywords use, 0 for every other character.
  const classes = new Uint8Array(65536);
  let classCount = 1;
  for (const keyword of keywords) {
    for (let i = 0; i < keyword.length; i++) {
      const c = fold(keyword.charCodeAt(i));
      if (c >= 256) throw new Error(`keyword ${keyword} has a character outside Latin-1`);
      if (classes[c] === 0) classes[c] = classCount++;
    }
  }
  for (let c = 65; c <= 90; c++) classes[c] = classes[c + 32]!;
  if (classCount > 255) throw new Error('too many keyword characters');
  // Trie.
  const next: number[][] = [new Array<number>(classCount).fill(-1)];
  const own: number[][] = [[]];
  let maxLength = 0;
  for (const keyword of keywords) {
    let s = 0;
    for (let i = 0; i < keyword.length; i++) {
      const k = classes[fold(keyword.charCodeAt(i))]!;
      let t = next[s]![k]!;
      if (t < 0) {
        t = next.length;
        next.push(new Array<number>(classCount).fill(-1));
        own.push([]);
        next[s]![k] = t;
      }
      s = t;
    }
    if (!own[s]!.includes(keyword.length)) own[s]!.push(keyword.length);
    maxLength = Math.max(maxLength, keyword.length);
  }
  // Failure links, breadth first; the transition table becomes a full DFA.
  const states = next.length;
  const fail = new Int32Array(states);
  const outputs: number[][] = own.map((o) => [...o]);
  const queue: number[] = [];
  for (let k = 0; k < classCount; k++) {
    const t = next[0]![k]!;
    if (t < 0) next[0]![k] = 0;
    else {
      fail[t] = 0;
      queue.push(t);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const s = queue[head]!;
    for (const len of outputs[fail[s]!]!) if (!outputs[s]!.includes(len)) outputs[s]!.push(len);
    for (let k = 0; k < classCount; k++) {
      const t = next[s]![k]!;
      if (t < 0) next[s]![k] = next[fail[s]!]![k]!;
      else {
        fail[t] = next[fail[s]!]![k]!;
        queue.push(t);
      }
    }
  }
  // Number the states with no keyword ending first (the start state stays 0), so that one comparison tells a terminal state.
  const id = new Int32Array(states);
  let count = 0;
  for (let s = 0; s < states; s++) if (outputs[s]!.length === 0) id[s] = count++;
  const terminalFrom = count * classCount;
  for (let s = 0; s < states; s++) if (outputs[s]!.length > 0) id[s] = count++;
  const delta = new Int32Array(states * classCount);
  for (let s = 0; s < states; s++) for (let k = 0; k < classCount; k++) delta[id[s]! * classCount + k] = id[next[s]![k]!]! * classCount;
  const byId: number[][] = new Array<number[]>(states);
  for (let s = 0; s < states; s++) byId[id[s]!] = outputs[s]!;
  const offsets = new Int32Array(states + 1);
  for (let s = 0; s < states; s++) offsets[s + 1] = offsets[s]! + byId[s]!.length;
  const lengths = new Int32Array(offsets[states]!);
  for (let s = 0; s < states; s++) lengths.set(byId[s]!, offsets[s]!);
  return { classes, classCount, delta, terminalFrom, offsets, lengths, maxLength };
}

/**
 * Calls `visit(start)` for every position where a keyword starts, in increasing order, each position once.
 * `visit` returns false to stop the scan (a deadline); the scan then returns the position it stopped at.
 */
export function scanKeywordStarts(automaton: KeywordAutomaton, text: string, visit: (start: number) => boolean): number | undefined {
  const { classes, classCount, delta, terminalFrom, offsets, lengths, maxLength } = automaton;
  // Starts are final once the scan is `maxLength` past them: a ring of pending flags, processed in order.
  const size = 1 << Math.ceil(Math.log2(maxLength + 1));
  const mask = size - 1;
  const pending = new Uint8Array(size);
  let flagged = 0;
  // Every pending start is at or after nextStart (set when the first one is flagged).
  let nextStart = 0;
  let row = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    if (flagged === 0) {
      // The common case, nothing pending: only the state moves until a keyword ends.
      while (i < n && (row = delta[row + classes[text.charCodeAt(i)]!]!) < terminalFrom) i++;
      if (i >= n) break;
      if (nextStart < i - maxLength + 1) nextStart = i - maxLength + 1;
    } else row = delta[row + classes[text.charCodeAt(i)]!]!;
    if (row >= terminalFrom) {
      const state = row / classCount;
      for (let j = offsets[state]!, to = offsets[state + 1]!; j < to; j++) {
        const start = i - lengths[j]! + 1;
        if (pending[start & mask] === 0) {
          pending[start & mask] = 1;
          flagged++;
        }
      }
    }
    for (const final = i - maxLength + 1; nextStart <= final; nextStart++) {
      if (pending[nextStart & mask] === 0) continue;
      pending[nextStart & mask] = 0;
      flagged--;
      if (!visit(nextStart)) return nextStart;
      if (flagged === 0) {
        nextStart++;
        break;
      }
    }
  }
  for (; nextStart < n && flagged > 0; nextStart++) {
    if (pending[nextStart & mask] === 0) continue;
    pending[nextStart & mask] = 0;
    flagged--;
    if (!visit(nextStart)) return nextStart;
  }
  return undefined;
}
