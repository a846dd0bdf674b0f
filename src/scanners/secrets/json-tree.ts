/**
 * A small JSON parser that keeps byte offsets, for notebooks: it validates the whole document, builds
 * nodes only for containers near the top (cells, outputs, mime bundles), records every other value
 * as a span, and skips long strings (base64 images) with `indexOf` instead of reading them.
 * Bounded in depth and time; errors carry the offset where reading stopped.
 */

export type JsonNode = JsonObject | JsonArray | JsonLeaf;

export interface JsonObject {
  readonly type: 'object';
  readonly start: number;
  readonly end: number;
  readonly keys: string[];
  readonly values: JsonNode[];
}

export interface JsonArray {
  readonly type: 'array';
  readonly start: number;
  readonly end: number;
  readonly items: JsonNode[];
}

/** A value below the node-building depth, or a scalar: only its span is kept. */
export interface JsonLeaf {
  readonly type: 'string' | 'number' | 'literal' | 'object-span' | 'array-span';
  readonly start: number;
  readonly end: number;
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

/** The document is larger or deeper than the parser reads: nesting past `maxDepth`, or more than `maxNodes` kept values. */
export class JsonLimitError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
    this.name = 'JsonLimitError';
  }
}

export class JsonDeadlineError extends Error {
  constructor(readonly offset: number) {
    super(`time budget exhausted at byte ${offset}`);
    this.name = 'JsonDeadlineError';
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

export interface ParseOptions {
  /** Containers at this depth or deeper are kept as spans (root is depth 0). */
  readonly buildDepth: number;
  readonly maxDepth: number;
  /** Values kept as nodes (items and members of containers above `buildDepth`): bounds memory by count, not only by size. */
  readonly maxNodes: number;
  readonly deadline: number;
}

export function parseJsonTree(text: string, options: ParseOptions): JsonNode {
  const parser = new Parser(text, options);
  const p = parser.ws(0);
  const node = parser.value(p, 0);
  const end = parser.ws(node.end);
  if (end !== text.length) throw new JsonSyntaxError('unexpected data after the top-level value', end);
  return node;
}

class Parser {
  private steps = 0;
  private nodes = 0;

  constructor(
    private readonly text: string,
    private readonly options: ParseOptions,
  ) {}

  ws(p: number): number {
    const t = this.text;
    while (p < t.length) {
      const c = t.charCodeAt(p);
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
      p++;
    }
    return p;
  }

  private tick(p: number): void {
    if (++this.steps % 4096 === 0 && Date.now() > this.options.deadline) throw new JsonDeadlineError(p);
  }

  /** Counts a value kept in a built container. */
  private keep(p: number): void {
    if (++this.nodes > this.options.maxNodes) throw new JsonLimitError(`more than ${this.options.maxNodes} values in cells, outputs and metadata`, p);
  }

  value(p: number, depth: number): JsonNode {
    this.tick(p);
    const t = this.text;
    const c = t.charCodeAt(p);
    if (c === 34) return { type: 'string', start: p, end: this.stringEnd(p) };
    if (c === 123 || c === 91) {
      if (depth >= this.options.maxDepth) throw new JsonLimitError(`nesting deeper than ${this.options.maxDepth}`, p);
      const build = depth < this.options.buildDepth;
      return c === 123 ? this.object(p, depth, build) : this.array(p, depth, build);
    }
    if (c === 116 && t.startsWith('true', p)) return { type: 'literal', start: p, end: p + 4 };
    if (c === 102 && t.startsWith('false', p)) return { type: 'literal', start: p, end: p + 5 };
    if (c === 110 && t.startsWith('null', p)) return { type: 'literal', start: p, end: p + 4 };
    NUMBER.lastIndex = p;
    const m = NUMBER.exec(t);
    if (m && m[0].length > 0) return { type: 'number', start: p, end: p + m[0].length };
    throw new JsonSyntaxError(p >= t.length ? 'unexpected end of data' : `unexpected character ${JSON.stringify(t[p])}`, p);
  }

  /** Offset just past the closing quote of the string starting at `p`. */
  stringEnd(p: number): number {
    const t = this.text;
    let i = p + 1;
    for (;;) {
      const q = t.indexOf('"', i);
      if (q < 0) throw new JsonSyntaxError('unterminated string', p);
      let backslashes = 0;
      for (let k = q - 1; k > p && t.charCodeAt(k) === 92; k--) backslashes++;
      if (backslashes % 2 === 0) return q + 1;
      i = q + 1;
    }
  }

  private object(start: number, depth: number, build: boolean): JsonNode {
    const t = this.text;
    const keys: string[] = [];
    const values: JsonNode[] = [];
    let p = this.ws(start + 1);
    if (t.charCodeAt(p) === 125) return build ? { type: 'object', start, end: p + 1, keys, values } : { type: 'object-span', start, end: p + 1 };
    for (;;) {
      if (t.charCodeAt(p) !== 34) throw new JsonSyntaxError('expected a string key', p);
      const keyEnd = this.stringEnd(p);
      if (build) keys.push(decodeKey(t, p, keyEnd));
      p = this.ws(keyEnd);
      if (t.charCodeAt(p) !== 58) throw new JsonSyntaxError("expected ':'", p);
      p = this.ws(p + 1);
      const v = this.value(p, depth + 1);
      if (build) {
        this.keep(p);
        values.push(v);
      }
      p = this.ws(v.end);
      const c = t.charCodeAt(p);
      if (c === 44) {
        p = this.ws(p + 1);
        continue;
      }
      if (c === 125) return build ? { type: 'object', start, end: p + 1, keys, values } : { type: 'object-span', start, end: p + 1 };
      throw new JsonSyntaxError("expected ',' or '}'", p);
    }
  }

  private array(start: number, depth: number, build: boolean): JsonNode {
    const t = this.text;
    const items: JsonNode[] = [];
    let p = this.ws(start + 1);
    if (t.charCodeAt(p) === 93) return build ? { type: 'array', start, end: p + 1, items } : { type: 'array-span', start, end: p + 1 };
    for (;;) {
      const v = this.value(p, depth + 1);
      if (build) {
        this.keep(p);
        items.push(v);
      }
      p = this.ws(v.end);
      const c = t.charCodeAt(p);
      if (c === 44) {
        p = this.ws(p + 1);
        continue;
      }
      if (c === 93) return build ? { type: 'array', start, end: p + 1, items } : { type: 'array-span', start, end: p + 1 };
      throw new JsonSyntaxError("expected ',' or ']'", p);
    }
  }
}

function decodeKey(text: string, start: number, end: number): string {
  const raw = text.slice(start, end);
  if (!raw.includes('\\')) return raw.slice(1, -1);
  try {
    return JSON.parse(raw) as string;
  } catch {
    throw new JsonSyntaxError('invalid escape in key', start);
  }
}

/** The value of `key`; with duplicate keys the last one, as Python's `json` (and so Jupyter) reads them. */
export function getKey(node: JsonNode | undefined, key: string): JsonNode | undefined {
  if (node?.type !== 'object') return undefined;
  const i = node.keys.lastIndexOf(key);
  return i < 0 ? undefined : node.values[i];
}

/** Text scanned for secrets with a map from its offsets back to offsets in the raw file. */
export interface MappedText {
  toString(): string;
  /** Raw file offset of text offset `v`. */
  toRaw(v: number): number;
}

/** A span of the raw file scanned as it stands (a JSON value read as text): offsets map one to one. */
export class RawSpan implements MappedText {
  constructor(
    private readonly raw: string,
    private readonly start: number,
    private readonly end: number,
  ) {}

  toString(): string {
    return this.raw.slice(this.start, this.end);
  }

  toRaw(v: number): number {
    return this.start + v;
  }
}

/**
 * Text assembled from decoded JSON strings, with a map back to offsets in the raw file: checkpoints
 * (virtual offset, raw offset) at every string start, escape and inserted line break; between two
 * checkpoints the mapping is linear.
 */
export class VirtualText implements MappedText {
  private readonly parts: string[] = [];
  private length = 0;
  private readonly virt: number[] = [];
  private readonly raw: number[] = [];

  private mark(raw: number): void {
    const n = this.virt.length;
    if (n > 0 && this.virt[n - 1] === this.length) this.raw[n - 1] = raw;
    else {
      this.virt.push(this.length);
      this.raw.push(raw);
    }
  }

  private push(s: string): void {
    this.parts.push(s);
    this.length += s.length;
  }

  /**
   * Appends the decoded JSON string whose opening quote is at `start` (`end` is past the closing quote).
   * Reads only the string itself, so that many short strings cost their length, not the file's.
   */
  appendString(text: string, start: number, end: number): void {
    const base = start + 1;
    const body = text.slice(base, end - 1);
    this.mark(base);
    let i = 0;
    for (;;) {
      const bs = body.indexOf('\\', i);
      const runEnd = bs < 0 ? body.length : bs;
      if (runEnd > i) this.push(body.slice(i, runEnd));
      if (bs < 0) break;
      const e = body[bs + 1];
      let next = bs + 2;
      switch (e) {
        case 'n':
          this.push('\n');
          break;
        case 't':
          this.push('\t');
          break;
        case 'r':
          this.push('\r');
          break;
        case 'b':
        case 'f':
          this.push(' ');
          break;
        case 'u': {
          const code = Number.parseInt(body.slice(bs + 2, bs + 6), 16);
          next = bs + 6;
          if (code === 0x1b) {
            // ANSI escape sequence (coloured tracebacks): drop `ESC [ params letter`.
            const ansi = /^\[[0-9;?]{0,32}[A-Za-z]/.exec(body.slice(next, next + 40));
            if (ansi) next += ansi[0].length;
          } else this.push(Number.isNaN(code) ? '?' : String.fromCharCode(code));
          break;
        }
        default:
          this.push(e ?? '');
      }
      i = next;
      this.mark(base + i);
    }
  }

  /** Inserts a line break that has no counterpart in the raw file (between array elements). */
  appendBreak(rawAt: number): void {
    this.mark(rawAt);
    this.push('\n');
  }

  endsWithNewline(): boolean {
    const last = this.parts[this.parts.length - 1];
    return last === undefined || last.endsWith('\n');
  }

  toString(): string {
    return this.parts.join('');
  }

  toRaw(v: number): number {
    let lo = 0;
    let hi = this.virt.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.virt[mid]! <= v) lo = mid;
      else hi = mid - 1;
    }
    return (this.raw[lo] ?? 0) + (v - (this.virt[lo] ?? 0));
  }
}
