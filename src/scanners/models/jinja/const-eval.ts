/**
 * A bounded constant folder for Jinja expressions. Payloads that know a scanner looks for `__class__`
 * build the name at render time instead: `u ~ u ~ 'class' ~ u ~ u` after `{% set u = '_' %}`,
 * `dict(__=1)|join`, `'%c%c' % (95, 95)`, `'%s'|format('_')`, `'XclassX'|replace('X', '__')`,
 * `'{0}{0}'.format('_')`, `{% set c %}__class__{% endset %}`. This module evaluates the string parts
 * of such expressions — literals, `set` variables, concatenation, repetition, printf and `str.format`
 * formatting, and the string filters — and hands every computed string, and every key used to look
 * up an attribute or item, to a callback. It never runs anything: unknown values stay unknown.
 */

export interface EvalToken {
  type: 'name' | 'string' | 'number' | 'op';
  value: string;
  raw: string;
  index: number;
}

export interface EvalTag {
  kind: 'expression' | 'statement';
  tokens: EvalToken[];
  start: number;
  end: number;
}

type Value =
  | { t: 'str'; s: string; computed: boolean }
  | { t: 'num'; n: number }
  | { t: 'list'; items: Value[] }
  | { t: 'dict'; keys: string[] }
  | undefined;

export interface ComputedString {
  /** The string's value (clipped to the evaluator's bound). */
  value: string;
  /** True when the string is used as an item/attribute key (`x[k]`, `attr(k)`, `map(attribute=k)`). */
  asKey: boolean;
  start: EvalToken;
  end: EvalToken;
}

const MAX_STRING = 4096;
const MAX_ITEMS = 256;
const MAX_DEPTH = 64;

class Stop extends Error {}

const str = (s: string, computed = true): Value => ({ t: 'str', s: s.slice(0, MAX_STRING), computed });

function asText(v: Value): string | undefined {
  if (v === undefined) return undefined;
  if (v.t === 'str') return v.s;
  if (v.t === 'num') return String(v.n);
  return undefined;
}

function asList(v: Value): Value[] | undefined {
  if (v === undefined) return undefined;
  if (v.t === 'list') return v.items;
  if (v.t === 'dict') return v.keys.map((k) => str(k, false));
  if (v.t === 'str') return [...v.s].slice(0, MAX_ITEMS).map((c) => str(c, false));
  return undefined;
}

/** Python's printf-style `%` formatting for %s, %r, %c, %d, %i, %%; undefined when an argument is unknown. */
function printf(format: string, args: Value[]): string | undefined {
  let out = '';
  let k = 0;
  for (let i = 0; i < format.length; i++) {
    const ch = format[i] as string;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    let j = i + 1;
    while (j < format.length && /[-+ #0-9.]/.test(format[j] as string)) j++;
    const conv = format[j];
    i = j;
    if (conv === '%') {
      out += '%';
      continue;
    }
    const arg = args[k++];
    if (conv === 'c') {
      if (arg?.t === 'num' && arg.n >= 0 && arg.n <= 0x10ffff) out += String.fromCodePoint(Math.trunc(arg.n));
      else if (arg?.t === 'str') out += arg.s;
      else return undefined;
    } else {
      const text = asText(arg);
      if (text === undefined) return undefined;
      out += text;
    }
    if (out.length > MAX_STRING) break;
  }
  return out;
}

/** `str.format` with `{}`, `{0}` and `{name}` fields (no format specs beyond ignoring them). */
function braceFormat(format: string, args: Value[], kwargs: Map<string, Value>): string | undefined {
  let auto = 0;
  let failed = false;
  const out = format.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (whole, field: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const name = (field ?? '').split(/[!:]/)[0] as string;
    const value = name === '' ? args[auto++] : /^\d+$/.test(name) ? args[Number(name)] : kwargs.get(name);
    const text = asText(value);
    if (text === undefined) failed = true;
    return text ?? '';
  });
  return failed ? undefined : out;
}

const BINARY: Readonly<Record<string, number>> = {
  or: 1, and: 2, in: 4, '==': 4, '!=': 4, '<': 4, '>': 4, '<=': 4, '>=': 4, '+': 5, '-': 5, '~': 6, '*': 7, '/': 7, '//': 7, '%': 7, '**': 8,
};

class Parser {
  private depth = 0;

  constructor(
    private readonly tokens: readonly EvalToken[],
    public pos: number,
    private readonly env: Map<string, Value>,
    private readonly report: (found: ComputedString) => void,
  ) {}

  at(offset = 0): EvalToken | undefined {
    return this.tokens[this.pos + offset];
  }

  private take(): EvalToken {
    const token = this.tokens[this.pos];
    if (token === undefined) throw new Stop();
    this.pos++;
    return token;
  }

  private expect(value: string): void {
    if (this.at()?.value !== value) throw new Stop();
    this.pos++;
  }

  private last(): EvalToken {
    return (this.tokens[Math.max(0, this.pos - 1)] ?? this.tokens[0]) as EvalToken;
  }

  private computed(value: Value, start: EvalToken): Value {
    if (value?.t === 'str' && value.computed) this.report({ value: value.s, asKey: false, start, end: this.last() });
    return value;
  }

  private key(value: Value, start: EvalToken): void {
    if (value?.t === 'str') this.report({ value: value.s, asKey: true, start, end: this.last() });
    else if (value?.t === 'list') for (const item of value.items) this.key(item, start);
  }

  expression(): Value {
    if (++this.depth > MAX_DEPTH) throw new Stop();
    try {
      const start = this.at() as EvalToken;
      const value = this.binary(0);
      if (this.at()?.value === 'if') {
        this.pos++;
        this.binary(0);
        if (this.at()?.value === 'else') {
          this.pos++;
          this.expression();
        }
      }
      return this.computed(value, start);
    } finally {
      this.depth--;
    }
  }

  private binary(min: number): Value {
    const start = this.at() as EvalToken;
    let left = this.unary();
    for (;;) {
      let op = this.at()?.value;
      if (op === 'not' && this.at(1)?.value === 'in') op = 'in';
      if (op === undefined || this.at()?.type === 'string') {
        // Adjacent string literals concatenate: 'a' 'b'.
        if (this.at()?.type === 'string' && left?.t === 'str') {
          const right = this.unary();
          left = this.computed(str(left.s + (asText(right) ?? '')), start);
          continue;
        }
        return left;
      }
      const prec = BINARY[op];
      if (prec === undefined || prec <= min) return left;
      if (this.at()?.value === 'not') this.pos++;
      this.pos++;
      const right = this.binary(op === '**' ? prec - 1 : prec);
      left = this.computed(this.apply(op, left, right), start);
    }
  }

  private apply(op: string, left: Value, right: Value): Value {
    if (op === '~') {
      const a = asText(left);
      const b = asText(right);
      return a !== undefined && b !== undefined ? str(a + b) : undefined;
    }
    if (op === '+') {
      if (left?.t === 'num' && right?.t === 'num') return { t: 'num', n: left.n + right.n };
      if (left?.t === 'str' && right?.t === 'str') return str(left.s + right.s);
      if (left?.t === 'list' && right?.t === 'list') return { t: 'list', items: [...left.items, ...right.items].slice(0, MAX_ITEMS) };
      return undefined;
    }
    if (op === '*') {
      const [s, n] = left?.t === 'str' && right?.t === 'num' ? [left.s, right.n] : right?.t === 'str' && left?.t === 'num' ? [right.s, left.n] : [undefined, 0];
      if (s !== undefined) return str(s.repeat(Math.max(0, Math.min(Math.trunc(n), Math.ceil(MAX_STRING / Math.max(1, s.length))))));
      if (left?.t === 'num' && right?.t === 'num') return { t: 'num', n: left.n * right.n };
      return undefined;
    }
    if (op === '-' && left?.t === 'num' && right?.t === 'num') return { t: 'num', n: left.n - right.n };
    if (op === '%' && left?.t === 'str') {
      const args = right?.t === 'list' ? right.items : [right];
      const out = printf(left.s, args);
      return out === undefined ? undefined : str(out);
    }
    return undefined;
  }

  private unary(): Value {
    const token = this.at();
    if (token?.value === 'not' || token?.value === '-' || token?.value === '+') {
      this.pos++;
      const value = this.unary();
      return token.value === '-' && value?.t === 'num' ? { t: 'num', n: -value.n } : token.value === 'not' ? undefined : value;
    }
    const start = token as EvalToken;
    return this.postfix(this.primary(), start);
  }

  private primary(): Value {
    const token = this.take();
    if (token.type === 'string') return str(token.value, false);
    if (token.type === 'number') {
      const n = Number(token.value.replace(/_/g, ''));
      return Number.isFinite(n) ? { t: 'num', n } : undefined;
    }
    if (token.type === 'name') {
      if (token.value === 'dict' && this.at()?.value === '(') {
        const { kwargs } = this.args();
        return { t: 'dict', keys: [...kwargs.keys()] };
      }
      if (token.value === 'true' || token.value === 'True') return { t: 'num', n: 1 };
      if (token.value === 'false' || token.value === 'False') return { t: 'num', n: 0 };
      return this.env.get(token.value);
    }
    if (token.value === '(' || token.value === '[') {
      const close = token.value === '(' ? ')' : ']';
      const items: Value[] = [];
      let tuple = token.value === '[';
      while (this.at()?.value !== close) {
        items.push(this.expression());
        if (this.at()?.value === ',') {
          tuple = true;
          this.pos++;
        } else break;
      }
      this.expect(close);
      return tuple ? { t: 'list', items: items.slice(0, MAX_ITEMS) } : items[0];
    }
    if (token.value === '{') {
      while (this.at() !== undefined && this.at()?.value !== '}') {
        this.expression();
        if (this.at()?.value === ':') {
          this.pos++;
          this.expression();
        }
        if (this.at()?.value === ',') this.pos++;
        else break;
      }
      this.expect('}');
      return undefined;
    }
    throw new Stop();
  }

  private args(): { args: Value[]; kwargs: Map<string, Value> } {
    this.expect('(');
    const args: Value[] = [];
    const kwargs = new Map<string, Value>();
    while (this.at() !== undefined && this.at()?.value !== ')') {
      if (this.at()?.value === '*' || this.at()?.value === '**') this.pos++;
      const name = this.at();
      if (name?.type === 'name' && this.at(1)?.value === '=') {
        this.pos += 2;
        const start = this.at() as EvalToken;
        const value = this.expression();
        if (name.value === 'attribute') this.key(value, start);
        kwargs.set(name.value, value);
      } else {
        args.push(this.expression());
      }
      if (this.at()?.value === ',') this.pos++;
      else break;
    }
    this.expect(')');
    return { args, kwargs };
  }

  private postfix(value: Value, origin: EvalToken): Value {
    let current = value;
    for (;;) {
      const token = this.at();
      if (token?.value === '.') {
        this.pos++;
        const name = this.take();
        if (this.at()?.value === '(') {
          const { args, kwargs } = this.args();
          current = this.computed(this.method(current, name.value, args, kwargs), origin);
        } else current = undefined;
      } else if (token?.value === '[') {
        this.pos++;
        const start = this.at() as EvalToken;
        if (this.at()?.value === ':') {
          current = undefined;
        } else {
          const key = this.expression();
          this.key(key, start);
          const items = current?.t === 'str' || current?.t === 'list' ? asList(current) : undefined;
          current = key?.t === 'num' && items !== undefined ? items.at(Math.trunc(key.n)) : undefined;
        }
        // Slices (`x[a:b]`) and anything else up to the matching bracket: skipped.
        for (let nest = 0; this.at() !== undefined && (nest > 0 || this.at()?.value !== ']'); this.pos++) {
          const v = this.at()?.value;
          if (v === '[' || v === '(' || v === '{') nest++;
          else if (v === ']' || v === ')' || v === '}') nest--;
        }
        this.expect(']');
      } else if (token?.value === '(') {
        this.args();
        current = undefined;
      } else if (token?.value === '|') {
        this.pos++;
        const name = this.take();
        const start = this.at() ?? name;
        const { args, kwargs } = this.at()?.value === '(' ? this.args() : { args: [], kwargs: new Map<string, Value>() };
        if (name.value === 'attr') for (const arg of args) this.key(arg, start);
        current = this.computed(this.filter(current, name.value, args, kwargs), origin);
      } else if (token?.value === 'is') {
        this.pos++;
        if (this.at()?.value === 'not') this.pos++;
        this.take();
        if (this.at()?.value === '(') this.args();
        else if (this.at() !== undefined && (this.at()?.type === 'string' || this.at()?.type === 'number')) this.primary();
        current = undefined;
      } else return current;
    }
  }

  private method(self: Value, name: string, args: Value[], kwargs: Map<string, Value>): Value {
    if (self?.t !== 'str') return undefined;
    const s = self.s;
    if (name === 'format') {
      const out = braceFormat(s, args, kwargs);
      return out === undefined ? undefined : str(out);
    }
    if (name === 'join') {
      const parts = asList(args[0])?.map(asText);
      return parts === undefined || parts.some((p) => p === undefined) ? undefined : str(parts.join(s));
    }
    return this.stringOp(s, name, args);
  }

  private filter(self: Value, name: string, args: Value[], kwargs: Map<string, Value>): Value {
    switch (name) {
      case 'join': {
        const parts = asList(self)?.map(asText);
        const sep = args[0] === undefined ? '' : asText(args[0]);
        return parts === undefined || sep === undefined || parts.some((p) => p === undefined) ? undefined : str(parts.join(sep));
      }
      case 'format': {
        if (self?.t !== 'str') return undefined;
        const out = kwargs.size > 0 ? undefined : printf(self.s, args);
        return out === undefined ? undefined : str(out);
      }
      case 'list':
        return self?.t === 'list' ? self : (() => {
          const items = asList(self);
          return items === undefined ? undefined : { t: 'list' as const, items };
        })();
      case 'first':
      case 'last': {
        const items = asList(self);
        return items === undefined ? undefined : name === 'first' ? items[0] : items.at(-1);
      }
      case 'reverse':
        if (self?.t === 'str') return str([...self.s].reverse().join(''));
        return self?.t === 'list' ? { t: 'list', items: [...self.items].reverse() } : undefined;
      case 'string':
        return self?.t === 'str' ? self : self?.t === 'num' ? str(String(self.n)) : undefined;
      case 'sort':
        return self?.t === 'list' ? self : undefined;
      default:
        return self?.t === 'str' ? this.stringOp(self.s, name, args) : undefined;
    }
  }

  private stringOp(s: string, name: string, args: Value[]): Value {
    switch (name) {
      case 'lower':
        return str(s.toLowerCase());
      case 'upper':
        return str(s.toUpperCase());
      case 'title':
      case 'capitalize':
      case 'trim':
      case 'strip':
        return str(name === 'trim' || name === 'strip' ? s.trim() : s);
      case 'replace': {
        const from = asText(args[0]);
        const to = asText(args[1]);
        if (from === undefined || to === undefined) return undefined;
        return str(from === '' ? s : s.split(from).join(to));
      }
      default:
        return undefined;
    }
  }
}

/** Where a statement's expression starts, and the name it assigns (for `set`). */
function statementExpression(tokens: readonly EvalToken[]): { from: number; assign?: string } {
  const head = tokens[0]?.value;
  if (head === 'set' && tokens[1]?.type === 'name' && tokens[2]?.value === '=') return { from: 3, assign: tokens[1].value };
  if (head === 'set' || head === 'with') {
    const eq = tokens.findIndex((t) => t.value === '=');
    return { from: eq < 0 ? tokens.length : eq + 1 };
  }
  if (head === 'for') {
    const cut = tokens.findIndex((t) => t.value === 'in');
    return { from: cut < 0 ? tokens.length : cut + 1 };
  }
  return { from: 1 };
}

/**
 * Folds the constant string parts of every tag in order, with `set` variables carried from one tag to
 * the next (control flow ignored: the last assignment wins). Calls `report` for every computed string
 * and every lookup key. Bounded by the token count of the template.
 */
export function foldTemplateStrings(text: string, tags: readonly EvalTag[], report: (found: ComputedString) => void): void {
  const env = new Map<string, Value>();
  const nextEndset: number[] = new Array<number>(tags.length).fill(-1);
  for (let t = tags.length - 2, next = -1; t >= 0; t--) {
    const after = tags[t + 1] as EvalTag;
    if (after.kind === 'statement' && after.tokens[0]?.value === 'endset') next = t + 1;
    nextEndset[t] = next;
  }
  for (let t = 0; t < tags.length; t++) {
    const tag = tags[t] as EvalTag;
    const tokens = tag.tokens;
    if (tag.kind === 'statement') {
      const head = tokens[0];
      // {% set name %}body{% endset %}: the body is a string.
      if (head?.value === 'set' && tokens[1]?.type === 'name' && tokens.length === 2) {
        const end = nextEndset[t] ?? -1;
        if (end > 0) {
          const body = text.slice(tag.end, (tags[end] as EvalTag).start).trim();
          env.set(tokens[1].value, str(body, false));
          if (body.length <= 64) report({ value: body, asKey: false, start: head, end: tokens[1] });
        }
        continue;
      }
      if (head?.value === 'for') {
        for (let k = 1; k < tokens.length && tokens[k]?.value !== 'in'; k++) if (tokens[k]?.type === 'name') env.delete((tokens[k] as EvalToken).value);
      }
    }
    const { from, assign } = tag.kind === 'statement' ? statementExpression(tokens) : { from: 0 };
    let pos = from;
    let first = true;
    // Evaluate the expression; when parsing stops early, restart after the stopping token so that
    // every part of the tag is still looked at.
    while (pos < tokens.length) {
      const parser = new Parser(tokens, pos, env, report);
      let value: Value;
      try {
        value = parser.expression();
      } catch {
        value = undefined;
      }
      if (first && assign !== undefined) {
        if (value === undefined) env.delete(assign);
        else env.set(assign, value);
      }
      first = false;
      pos = Math.max(pos + 1, parser.pos);
    }
  }
}
