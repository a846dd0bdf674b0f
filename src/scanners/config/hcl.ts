/**
 * A tolerant HCL2 reader for Terraform: blocks with labels, attributes, and expression values reduced to
 * what rules need — literal strings (without interpolation), numbers, booleans, null, tuples and objects
 * (including `jsonencode({...})`), and anything else kept as raw text. Comments (`#`, `//`, `/* *\/`),
 * quoted strings with `${…}` templates, and heredocs (`<<EOF`, `<<-EOF`) are honoured. Every attribute and
 * block carries its line. Input it cannot read becomes a problem with a line, never an exception.
 */

export type HclValue =
  | { kind: 'string'; value: string; line: number }
  | { kind: 'number'; value: number; line: number }
  | { kind: 'bool'; value: boolean; line: number }
  | { kind: 'null'; line: number }
  | { kind: 'tuple'; items: HclValue[]; line: number }
  | { kind: 'object'; entries: { key: string; value: HclValue; line: number }[]; line: number }
  /** A template with interpolation, a reference, a call other than jsonencode, an operator expression. */
  | { kind: 'expr'; text: string; line: number };

export interface HclAttribute {
  name: string;
  value: HclValue;
  line: number;
}

export interface HclBlock {
  type: string;
  labels: string[];
  attributes: HclAttribute[];
  blocks: HclBlock[];
  line: number;
}

export interface HclFile {
  body: HclBlock;
  problems: { message: string; line: number }[];
}

const MAX_DEPTH = 100;

class Reader {
  pos = 0;
  line = 1;
  readonly problems: HclFile['problems'] = [];

  constructor(readonly text: string) {}

  peek(offset = 0): string {
    return this.text[this.pos + offset] ?? '';
  }

  advance(count = 1): void {
    for (let i = 0; i < count && this.pos < this.text.length; i++) {
      if (this.text[this.pos] === '\n') this.line++;
      this.pos++;
    }
  }

  /** Skips spaces, tabs and comments; newlines too when `newlines` is set. Returns whether a newline was passed. */
  skip(newlines: boolean): boolean {
    let sawNewline = false;
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r') this.advance();
      else if (c === '\n' && newlines) {
        sawNewline = true;
        this.advance();
      } else if (c === '#' || (c === '/' && this.peek(1) === '/')) {
        while (this.pos < this.text.length && this.peek() !== '\n') this.advance();
      } else if (c === '/' && this.peek(1) === '*') {
        const end = this.text.indexOf('*/', this.pos + 2);
        this.advance(end < 0 ? this.text.length - this.pos : end + 2 - this.pos);
      } else return sawNewline;
    }
  }

  identifier(): string | undefined {
    const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(this.text.slice(this.pos, this.pos + 256));
    if (!m) return undefined;
    this.advance(m[0].length);
    return m[0];
  }

  /** A quoted string; returns its literal value, or undefined (with the raw text) when it interpolates. */
  quoted(): { value?: string; raw: string } {
    const start = this.pos;
    this.advance(); // opening quote
    let value = '';
    let literal = true;
    while (this.pos < this.text.length) {
      const c = this.peek();
      if (c === '"') {
        this.advance();
        return literal ? { value, raw: this.text.slice(start, this.pos) } : { raw: this.text.slice(start, this.pos) };
      }
      if (c === '\n') break;
      if (c === '\\') {
        const next = this.peek(1);
        value += next === 'n' ? '\n' : next === 't' ? '\t' : next === 'r' ? '\r' : next;
        this.advance(2);
        continue;
      }
      if ((c === '$' || c === '%') && this.peek(1) === '{') {
        literal = false;
        this.advance(2);
        this.skipBalanced('{', '}', 1);
        continue;
      }
      value += c;
      this.advance();
    }
    this.problems.push({ message: 'unterminated string', line: this.line });
    return { raw: this.text.slice(start, this.pos) };
  }

  /** Skips to the bracket that closes `depth` open ones, honouring strings. */
  skipBalanced(open: string, close: string, depth: number): void {
    while (this.pos < this.text.length && depth > 0) {
      const c = this.peek();
      if (c === '"') {
        this.quoted();
        continue;
      }
      if (c === open) depth++;
      else if (c === close) depth--;
      this.advance();
    }
  }
}

function parseValue(reader: Reader, depth: number): HclValue {
  reader.skip(false);
  const line = reader.line;
  if (depth > MAX_DEPTH) {
    reader.problems.push({ message: 'expression nested too deeply', line });
    return { kind: 'expr', text: '', line };
  }
  const start = reader.pos;
  const c = reader.peek();
  let value: HclValue | undefined;
  if (c === '"') {
    const q = reader.quoted();
    value = q.value === undefined ? { kind: 'expr', text: q.raw, line } : { kind: 'string', value: q.value, line };
  } else if (c === '<' && reader.peek(1) === '<') {
    const m = /^<<(-?)([A-Za-z_][A-Za-z0-9_]*)[ \t]*\r?\n/.exec(reader.text.slice(reader.pos, reader.pos + 256));
    if (m) {
      reader.advance(m[0].length);
      const lines: string[] = [];
      let closed = false;
      while (reader.pos < reader.text.length) {
        const end = reader.text.indexOf('\n', reader.pos);
        const raw = reader.text.slice(reader.pos, end < 0 ? reader.text.length : end);
        reader.advance((end < 0 ? reader.text.length : end + 1) - reader.pos);
        if (raw.trim() === m[2]) {
          closed = true;
          break;
        }
        lines.push(raw);
      }
      if (!closed) reader.problems.push({ message: `heredoc ${m[2]} is not closed`, line });
      const indent = m[1] === '-' ? Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^\s*/.exec(l)![0].length)) : 0;
      const body = lines.map((l) => l.slice(Number.isFinite(indent) ? indent : 0)).join('\n');
      value = /\$\{|%\{/.test(body) ? { kind: 'expr', text: body, line } : { kind: 'string', value: body, line };
    }
  } else if (c === '[') {
    reader.advance();
    const items: HclValue[] = [];
    for (;;) {
      reader.skip(true);
      if (reader.peek() === ']' || reader.pos >= reader.text.length) break;
      if (/^for\s/.test(reader.text.slice(reader.pos, reader.pos + 4))) {
        reader.skipBalanced('[', ']', 1);
        return { kind: 'expr', text: reader.text.slice(start, reader.pos), line };
      }
      items.push(parseValue(reader, depth + 1));
      reader.skip(true);
      if (reader.peek() === ',') reader.advance();
      else if (reader.peek() !== ']') {
        reader.skipBalanced('[', ']', 1);
        return { kind: 'expr', text: reader.text.slice(start, reader.pos), line };
      }
    }
    if (reader.peek() === ']') reader.advance();
    value = { kind: 'tuple', items, line };
  } else if (c === '{') {
    reader.advance();
    const entries: { key: string; value: HclValue; line: number }[] = [];
    for (;;) {
      reader.skip(true);
      if (reader.peek() === '}' || reader.pos >= reader.text.length) break;
      const keyLine = reader.line;
      if (/^for\s/.test(reader.text.slice(reader.pos, reader.pos + 4))) {
        reader.skipBalanced('{', '}', 1);
        return { kind: 'expr', text: reader.text.slice(start, reader.pos), line };
      }
      let key: string | undefined;
      if (reader.peek() === '"') key = reader.quoted().value;
      else if (reader.peek() === '(') {
        reader.advance();
        reader.skipBalanced('(', ')', 1);
      } else key = reader.identifier();
      reader.skip(false);
      if (reader.peek() !== '=' && reader.peek() !== ':') {
        reader.skipBalanced('{', '}', 1);
        return { kind: 'expr', text: reader.text.slice(start, reader.pos), line };
      }
      reader.advance();
      const entryValue = parseValue(reader, depth + 1);
      if (key !== undefined) entries.push({ key, value: entryValue, line: keyLine });
      reader.skip(false);
      if (reader.peek() === ',') reader.advance();
    }
    if (reader.peek() === '}') reader.advance();
    value = { kind: 'object', entries, line };
  } else {
    const word = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)(?![A-Za-z0-9_.([-])/.exec(reader.text.slice(reader.pos, reader.pos + 64))?.[0];
    if (word !== undefined) {
      reader.advance(word.length);
      value = word === 'true' || word === 'false' ? { kind: 'bool', value: word === 'true', line } : word === 'null' ? { kind: 'null', line } : { kind: 'number', value: Number(word), line };
    } else {
      const call = /^jsonencode\s*\(/.exec(reader.text.slice(reader.pos, reader.pos + 32));
      if (call) {
        reader.advance(call[0].length);
        const inner = parseValue(reader, depth + 1);
        reader.skip(true);
        if (reader.peek() === ')') {
          reader.advance();
          value = inner;
        } else reader.skipBalanced('(', ')', 1);
      }
    }
  }
  // Anything left on the expression (operators, references, calls, conditionals) makes it an expression.
  const restStart = reader.pos;
  let depthCount = 0;
  while (reader.pos < reader.text.length) {
    const ch = reader.peek();
    if (depthCount === 0 && (ch === '\n' || ch === ',' || ch === '}' || ch === ']' || ch === ')' || ch === '#' || (ch === '/' && (reader.peek(1) === '/' || reader.peek(1) === '*')))) break;
    if (ch === '"') {
      reader.quoted();
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') depthCount++;
    else if (ch === ')' || ch === ']' || ch === '}') depthCount--;
    reader.advance();
  }
  const rest = reader.text.slice(restStart, reader.pos).trim();
  if (value && rest === '') return value;
  return { kind: 'expr', text: reader.text.slice(start, reader.pos).trim(), line };
}

function parseBody(reader: Reader, block: HclBlock, depth: number, closing: boolean): void {
  for (;;) {
    reader.skip(true);
    if (reader.pos >= reader.text.length) {
      if (closing) reader.problems.push({ message: `block ${block.type} is not closed`, line: block.line });
      return;
    }
    if (reader.peek() === '}') {
      if (closing) {
        reader.advance();
        return;
      }
      reader.problems.push({ message: 'unexpected }', line: reader.line });
      reader.advance();
      continue;
    }
    const line = reader.line;
    const name = reader.identifier();
    if (!name) {
      reader.problems.push({ message: `unexpected character ${JSON.stringify(reader.peek())}`, line });
      while (reader.pos < reader.text.length && reader.peek() !== '\n') reader.advance();
      continue;
    }
    reader.skip(false);
    if (reader.peek() === '=' && reader.peek(1) !== '=') {
      reader.advance();
      block.attributes.push({ name, value: parseValue(reader, 0), line });
      continue;
    }
    const labels: string[] = [];
    for (;;) {
      reader.skip(false);
      if (reader.peek() === '"') labels.push(reader.quoted().value ?? '');
      else {
        const label = reader.identifier();
        if (label === undefined) break;
        labels.push(label);
      }
    }
    if (reader.peek() !== '{') {
      reader.problems.push({ message: `expected { after ${name}`, line });
      while (reader.pos < reader.text.length && reader.peek() !== '\n') reader.advance();
      continue;
    }
    reader.advance();
    const child: HclBlock = { type: name, labels, attributes: [], blocks: [], line };
    if (depth >= MAX_DEPTH) {
      reader.problems.push({ message: 'blocks nested too deeply', line });
      reader.skipBalanced('{', '}', 1);
    } else parseBody(reader, child, depth + 1, true);
    block.blocks.push(child);
  }
}

export function parseHcl(text: string): HclFile {
  const reader = new Reader(text);
  const body: HclBlock = { type: '', labels: [], attributes: [], blocks: [], line: 1 };
  parseBody(reader, body, 0, false);
  return { body, problems: reader.problems };
}

export function attribute(block: HclBlock, name: string): HclAttribute | undefined {
  for (let i = block.attributes.length - 1; i >= 0; i--) if (block.attributes[i]!.name === name) return block.attributes[i];
  return undefined;
}
