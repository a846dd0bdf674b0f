import { foldTemplateStrings, type ComputedString } from './const-eval.js';

/**
 * A bounded, linear scanner for Jinja templates (chat templates in GGUF files and tokenizer configs).
 * It tokenizes the template the way Jinja's lexer does — text, `{{ … }}`, `{% … %}`, `{# … #}`,
 * `{% raw %}` — and looks at the expression tokens for the constructs that server-side template
 * injection payloads use to leave the template and reach Python: dunder attribute walks
 * (`__class__`, `__subclasses__`, `__globals__`, …), the `attr` filter, strings that build such names
 * by escapes, concatenation or `%c` formatting, and the template globals (`cycler`, `joiner`,
 * `lipsum`, `self`, `request`, `config`, …) whose attributes lead to module globals. Renderers that
 * do not sandbox chat templates (llama-cpp-python before 0.2.72, CVE-2024-34359) run such payloads
 * as the user who loads the model; sandboxed ones still differ in what they block.
 *
 * It never evaluates anything. Benign chat templates (loops over messages, `raise_exception`,
 * `namespace`, `strip`, `tojson`, `bos_token`) produce no findings.
 */

export type JinjaSeverity = 'critical' | 'high' | 'medium';

export interface JinjaIssue {
  /** Short machine-readable kind: `dunder`, `attr-filter`, `global`, `escape`, `concat`, … */
  kind: string;
  /** The construct as written (clipped). */
  construct: string;
  /** Why it matters. */
  detail: string;
  severity: JinjaSeverity;
  /** 1-based line and column within the template. */
  line: number;
  column: number;
  /** UTF-16 index within the template string. */
  index: number;
}

export interface JinjaScanResult {
  issues: JinjaIssue[];
  /** Set when the template could not be tokenized to the end (unterminated tag or string). */
  error?: { message: string; line: number; column: number };
  /** True when a limit stopped the scan early (template length, tokens or issues). */
  truncated: boolean;
}

export interface JinjaLimits {
  maxChars: number;
  maxTokens: number;
  maxIssues: number;
}

const DEFAULT_JINJA_LIMITS: JinjaLimits = { maxChars: 4 * 1024 * 1024, maxTokens: 1_000_000, maxIssues: 100 };

type TokenType = 'name' | 'string' | 'number' | 'op';

interface Token {
  type: TokenType;
  /** Name, operator, number text, or the decoded value of a string. */
  value: string;
  /** The token as written. */
  raw: string;
  index: number;
  /** For strings: escapes that decode to letters, digits or underscores. */
  hiddenEscape?: boolean;
}

/** Template globals whose attributes lead to Python module globals or framework state. */
const RISKY_GLOBALS = new Set(['cycler', 'joiner', 'lipsum', 'url_for', 'get_flashed_messages', 'config', 'request', 'session', 'self']);
/** Globals that chat templates use legitimately, but never with an attribute walk. */
const WALKABLE_GLOBALS = new Set(['namespace', 'range', 'dict', 'raise_exception', 'strftime_now']);
/** Attribute names that only payloads use. */
const DANGEROUS_ATTRIBUTES = new Set([
  'popen', 'system', 'eval', 'exec', 'spawn', 'subprocess', 'os', 'import_module', 'load_module', 'builtins', 'getattr', 'globals',
  'check_output', 'check_call', 'mro', 'subclasses', 'func_globals', 'f_globals', 'f_locals', 'f_back', 'gi_frame', 'gi_code', 'cr_frame', 'ag_frame', 'tb_frame',
  'im_func', 'func_code', 'co_code', 'environ', 'getenv', 'modules', 'application', 'read_text', 'write_text', 'open_resource',
]);
/** String values that only payloads use (as subscripts or `attr` arguments). */
const DANGEROUS_STRINGS = new Set(['os', 'popen', 'subprocess', 'eval', 'exec', 'builtins', 'import_module', 'getattr', 'globals', 'check_output', 'mro', 'subclasses', 'environ', 'sys', 'modules', 'application', 'getenv']);
const INCLUDE_STATEMENTS = new Set(['include', 'import', 'extends', 'from']);

const DUNDER = /__[A-Za-z0-9_]*[A-Za-z0-9]__|__(?:class|mro|subclasses|globals|builtins|init|base|bases|import|dict|getitem|getattribute|loader|self|func|code|reduce|call|name|module|spec|doc)/;

function isDunderName(name: string): boolean {
  return name.length > 4 && name.startsWith('__') && name.endsWith('__');
}

class Positions {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  at(index: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] as number) <= index) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: index - (this.starts[lo] as number) + 1 };
  }
}

class TokenizeError extends Error {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

const THREE_CHAR_OPS = ['**=', '//='];
const TWO_CHAR_OPS = ['**', '//', '==', '!=', '<=', '>=', '+=', '-='];

/** Decodes a Jinja string literal body the way Python's `unicode-escape` codec does (bounded). */
function decodeString(body: string): { value: string; hiddenEscape: boolean } {
  let value = '';
  let hiddenEscape = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (ch !== '\\' || i + 1 >= body.length) {
      value += ch;
      continue;
    }
    const next = body[i + 1] as string;
    let decoded: string | undefined;
    let used = 1;
    if (next === 'x' || next === 'u' || next === 'U') {
      const width = next === 'x' ? 2 : next === 'u' ? 4 : 8;
      const hex = body.slice(i + 2, i + 2 + width);
      if (hex.length === width && /^[0-9A-Fa-f]+$/.test(hex)) {
        const code = Number.parseInt(hex, 16);
        decoded = code <= 0x10ffff ? String.fromCodePoint(code) : '';
        used = 1 + width;
      }
    } else if (next >= '0' && next <= '7') {
      const oct = /^[0-7]{1,3}/.exec(body.slice(i + 1, i + 4))?.[0] ?? next;
      decoded = String.fromCharCode(Number.parseInt(oct, 8));
      used = oct.length;
    } else if (next === 'N' && body[i + 2] === '{') {
      const close = body.indexOf('}', i + 3);
      if (close > 0 && close - i < 80) {
        const name = body.slice(i + 3, close).toUpperCase();
        decoded = name === 'LOW LINE' ? '_' : /^LATIN (?:SMALL|CAPITAL) LETTER ([A-Z])$/.exec(name)?.[1] ?? '?';
        used = close - i;
      }
    } else {
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
      decoded = simple[next];
      if (decoded === undefined) decoded = `\\${next}`;
    }
    if (decoded === undefined) {
      value += ch;
      continue;
    }
    if (next !== 'n' && next !== 't' && next !== 'r' && /[A-Za-z0-9_]/.test(decoded) && !['\\', "'", '"'].includes(next)) hiddenEscape = true;
    value += decoded;
    i += used;
  }
  return { value, hiddenEscape };
}

interface Tag {
  kind: 'expression' | 'statement';
  tokens: Token[];
  /** Index of the opening `{` and just past the closing delimiter. */
  start: number;
  end: number;
}

/** Splits a template into tags and tokenizes each; stops at the limits. */
function tokenizeTemplate(text: string, limits: JinjaLimits): { tags: Tag[]; truncated: boolean; error?: TokenizeError } {
  const tags: Tag[] = [];
  let tokenCount = 0;
  let i = 0;
  let rawUntilEnd = false;
  while (i < text.length) {
    const open = text.indexOf('{', i);
    if (open < 0 || open + 1 >= text.length) break;
    const kind = text[open + 1];
    if (kind !== '{' && kind !== '%' && kind !== '#') {
      i = open + 1;
      continue;
    }
    if (kind === '#') {
      const close = text.indexOf('#}', open + 2);
      if (close < 0) return { tags, truncated: false, error: new TokenizeError('unterminated comment', open) };
      i = close + 2;
      continue;
    }
    let j = open + 2;
    if (text[j] === '-' || text[j] === '+') j++;
    const tokens: Token[] = [];
    const closer = kind === '{' ? '}}' : '%}';
    const stack: string[] = [];
    let closed = false;
    while (j < text.length) {
      const ch = text[j] as string;
      if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
        j++;
        continue;
      }
      if (stack.length === 0 && (text.startsWith(closer, j) || ((ch === '-' || ch === '+') && text.startsWith(closer, j + 1)))) {
        j += ch === '-' || ch === '+' ? 3 : 2;
        closed = true;
        break;
      }
      if (++tokenCount > limits.maxTokens) return { tags, truncated: true };
      if (/[A-Za-z_]/.test(ch)) {
        let k = j + 1;
        while (k < text.length && /[A-Za-z0-9_]/.test(text[k] as string)) k++;
        const name = text.slice(j, k);
        tokens.push({ type: 'name', value: name, raw: name, index: j });
        j = k;
      } else if (/[0-9]/.test(ch)) {
        let k = j + 1;
        while (k < text.length && /[0-9_.eE]/.test(text[k] as string)) k++;
        tokens.push({ type: 'number', value: text.slice(j, k), raw: text.slice(j, k), index: j });
        j = k;
      } else if (ch === '"' || ch === "'") {
        let k = j + 1;
        while (k < text.length && text[k] !== ch) k += text[k] === '\\' ? 2 : 1;
        if (k >= text.length) return { tags, truncated: false, error: new TokenizeError('unterminated string', j) };
        const { value, hiddenEscape } = decodeString(text.slice(j + 1, k));
        const token: Token = { type: 'string', value, raw: text.slice(j, k + 1), index: j };
        if (hiddenEscape) token.hiddenEscape = true;
        tokens.push(token);
        j = k + 1;
      } else {
        const op = THREE_CHAR_OPS.find((o) => text.startsWith(o, j)) ?? TWO_CHAR_OPS.find((o) => text.startsWith(o, j)) ?? ch;
        if (op === '(' || op === '[' || op === '{') stack.push(op);
        else if (op === ')' || op === ']' || op === '}') stack.pop();
        tokens.push({ type: 'op', value: op, raw: op, index: j });
        j += op.length;
      }
    }
    if (!closed) {
      tags.push({ kind: kind === '{' ? 'expression' : 'statement', tokens, start: open, end: j });
      return { tags, truncated: false, error: new TokenizeError(`unterminated ${kind === '{' ? '{{' : '{%'} tag`, open) };
    }
    tags.push({ kind: kind === '{' ? 'expression' : 'statement', tokens, start: open, end: j });
    i = j;
    // {% raw %} … {% endraw %}: the body is text.
    const first = tokens[0];
    if (kind === '%' && first?.type === 'name' && first.value === 'raw') {
      const end = /\{%[-+]?\s*endraw\s*[-+]?%\}/g;
      end.lastIndex = i;
      const match = end.exec(text);
      if (!match) {
        rawUntilEnd = true;
        break;
      }
      i = match.index + match[0].length;
    }
  }
  if (rawUntilEnd) return { tags, truncated: false, error: new TokenizeError('unterminated raw block', i) };
  return { tags, truncated: false };
}

function clipConstruct(text: string): string {
  let out = '';
  for (const ch of text.slice(0, 81)) out += ch < ' ' ? ' ' : ch;
  return out.length > 80 ? `${out.slice(0, 80)}…` : out;
}

class Analyzer {
  readonly issues: JinjaIssue[] = [];
  private readonly seen = new Set<string>();
  truncated = false;

  constructor(
    private readonly text: string,
    private readonly positions: Positions,
    private readonly limits: JinjaLimits,
    private readonly locals: ReadonlySet<string>,
  ) {}

  add(kind: string, severity: JinjaSeverity, start: Token, end: Token, detail: string): void {
    const dedupe = `${kind}:${start.index}`;
    if (this.seen.has(dedupe)) return;
    this.seen.add(dedupe);
    if (this.issues.length >= this.limits.maxIssues) {
      this.truncated = true;
      return;
    }
    const { line, column } = this.positions.at(start.index);
    const construct = clipConstruct(this.text.slice(start.index, end.index + end.raw.length));
    this.issues.push({ kind, severity, construct, detail, line, column, index: start.index });
  }

  /** A string the template builds at render time (see const-eval.ts), or a key it looks up. */
  computedString(found: ComputedString): void {
    const { value, asKey, start, end } = found;
    if (start === end && start.type === 'string') return; // a plain literal: analyzeString has seen it
    const seen = `computed\0${asKey}\0${value}`;
    if (this.seen.has(seen)) return;
    if (DUNDER.test(value) || (asKey && DANGEROUS_STRINGS.has(value))) this.seen.add(seen);
    if (DUNDER.test(value)) {
      this.add(asKey ? 'computed-key' : 'computed', 'critical', start, end, `builds the name ${clipConstruct(value)} at render time`);
    } else if (asKey && DANGEROUS_STRINGS.has(value)) {
      this.add('computed-key', 'high', start, end, `looks up ${value}, built at render time, which only code-execution payloads use`);
    }
  }

  analyzeTag(tag: Tag): void {
    const tokens = tag.tokens;
    const first = tokens[0];
    if (tag.kind === 'statement' && first?.type === 'name' && INCLUDE_STATEMENTS.has(first.value)) {
      this.add('include', 'high', first, tokens[Math.min(tokens.length - 1, 2)] ?? first, `{% ${first.value} %} loads another template through the renderer's loader (file access)`);
    }
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as Token;
      const prev = tokens[i - 1];
      const next = tokens[i + 1];
      if (token.type === 'name') this.analyzeName(tokens, i, prev, next);
      else if (token.type === 'string') this.analyzeString(tokens, i);
      else if (token.value === '[' && next?.type === 'number' && tokens[i + 2]?.value === ']' && this.followsStringFilter(tokens, i)) {
        this.add('char-harvest', 'high', token, tokens[i + 2] as Token, 'picks single characters out of an object\'s string form, a way to build forbidden names');
      }
    }
  }

  private analyzeName(tokens: Token[], i: number, prev: Token | undefined, next: Token | undefined): void {
    const token = tokens[i] as Token;
    const name = token.value;
    const afterDot = prev?.value === '.';
    const afterPipe = prev?.value === '|';
    if (isDunderName(name)) {
      this.add('dunder', 'critical', afterDot ? (prev as Token) : token, token, `reaches Python object internals through ${name}`);
      return;
    }
    if (afterDot && name.startsWith('_')) {
      this.add('private-attribute', 'high', prev as Token, token, `reads the private attribute ${name}`);
      return;
    }
    if (afterDot && DANGEROUS_ATTRIBUTES.has(name)) {
      this.add('dangerous-attribute', 'high', prev as Token, token, `calls or reads ${name}, which only code-execution payloads use`);
      return;
    }
    if (afterPipe && name === 'attr') {
      this.add('attr-filter', 'high', prev as Token, tokens[i + 3] ?? next ?? token, 'the attr filter reads arbitrary attributes, the usual way around attribute filters');
      return;
    }
    if (!afterDot && !afterPipe && name === 'attr' && next?.value === '(') {
      this.add('attr-filter', 'high', token, tokens[i + 2] ?? next, 'attr(...) reads arbitrary attributes, the usual way around attribute filters');
      return;
    }
    if (afterPipe && name === 'format' && this.precedingFormatHasChar(tokens, i)) {
      this.add('format-char', 'high', prev as Token, token, "'%c' formatting builds characters from numbers, a way to spell forbidden names");
      return;
    }
    if (afterDot || afterPipe) return;
    if (tokens[i - 1]?.value === '(' && tokens[i - 2]?.type === 'name' && tokens[i - 3]?.value === '|') return;
    const walks = next?.value === '.' || next?.value === '[' || (next?.value === '|' && tokens[i + 2]?.value === 'attr');
    if (this.locals.has(name)) return;
    if (RISKY_GLOBALS.has(name)) {
      if (walks) this.add('global', 'high', token, tokens[i + 2] ?? next ?? token, `walks the template global ${name}, whose attributes lead to Python module globals`);
      else if (this.isReference(tokens, i)) this.add('global', 'medium', token, token, `refers to the template global ${name}, which chat templates do not need`);
      return;
    }
    if (WALKABLE_GLOBALS.has(name) && next?.value === '.') {
      this.add('global', 'high', token, tokens[i + 2] ?? next, `walks the attributes of ${name}, which chat templates do not need`);
    }
  }

  /** Not a keyword argument name (`namespace(config=1)`). */
  private isReference(tokens: Token[], i: number): boolean {
    return tokens[i + 1]?.value !== '=';
  }

  private precedingFormatHasChar(tokens: Token[], i: number): boolean {
    for (let k = i - 1; k >= 0 && k >= i - 8; k--) {
      const t = tokens[k] as Token;
      if (t.type === 'string' && t.value.includes('%c')) return true;
    }
    return false;
  }

  private followsStringFilter(tokens: Token[], i: number): boolean {
    let k = i - 1;
    while (k >= 0 && (tokens[k] as Token).value === ')') k--;
    const filter = tokens[k];
    return filter?.type === 'name' && (filter.value === 'string' || filter.value === 'list') && tokens[k - 1]?.value === '|';
  }

  private analyzeString(tokens: Token[], i: number): void {
    const token = tokens[i] as Token;
    const value = token.value;
    if (DUNDER.test(value)) {
      this.add('dunder-string', 'critical', token, token, `the string names Python object internals (${clipConstruct(value)})`);
      return;
    }
    if (token.hiddenEscape) {
      this.add('escape', 'high', token, token, 'escape sequences spell letters or underscores, a way to hide names from filters');
    }
    if (DANGEROUS_STRINGS.has(value) && this.isSubscriptOrAttrArgument(tokens, i)) {
      this.add('dangerous-string', 'high', token, token, `looks up ${value}, which only code-execution payloads use`);
    }
    if (/^_{2,}$/.test(value) || (value.length > 2 && (value.startsWith('__') || value.endsWith('__')))) {
      this.add('dunder-fragment', 'high', token, token, 'a string beginning or ending with a double underscore, a piece of a dunder name');
    }
    if (value.includes('_') && tokens[i + 1]?.value === '*' && tokens[i + 2]?.type === 'number') {
      this.add('repeat', 'high', token, tokens[i + 2] as Token, 'repeats underscores to build a dunder name');
    }
    // Concatenations of literals: 'a' ~ 'b', 'a' + 'b', 'a' 'b', ['a', 'b']|join.
    const prev = tokens[i - 1];
    const startsRun = !(prev?.type === 'string' || ((prev?.value === '~' || prev?.value === '+') && tokens[i - 2]?.type === 'string'));
    if (startsRun) {
      let joined = value;
      let k = i;
      while (k + 1 < tokens.length) {
        const op = tokens[k + 1] as Token;
        if (op.type === 'string') {
          joined += op.value;
          k += 1;
        } else if ((op.value === '~' || op.value === '+') && tokens[k + 2]?.type === 'string') {
          joined += (tokens[k + 2] as Token).value;
          k += 2;
        } else break;
      }
      if (k > i && DUNDER.test(joined)) {
        this.add('concat', 'critical', token, tokens[k] as Token, `string pieces join to ${clipConstruct(joined)}`);
      }
    }
    if (prev?.value === '[' || prev?.value === '(') this.checkJoinedList(tokens, i);
  }

  private checkJoinedList(tokens: Token[], i: number): void {
    let joined = '';
    let k = i;
    for (; k < tokens.length; k += 2) {
      const t = tokens[k] as Token;
      if (t.type !== 'string') return;
      joined += t.value;
      const sep = tokens[k + 1];
      if (sep?.value === ']' || sep?.value === ')') break;
      if (sep?.value !== ',') return;
    }
    if (tokens[k + 2]?.value === '|' && tokens[k + 3]?.value === 'join' && DUNDER.test(joined)) {
      this.add('concat', 'critical', tokens[i] as Token, tokens[k + 3] as Token, `joined list builds ${clipConstruct(joined)}`);
    }
  }

  private isSubscriptOrAttrArgument(tokens: Token[], i: number): boolean {
    const prev = tokens[i - 1];
    if (prev?.value === '[') return true;
    return prev?.value === '(' && tokens[i - 2]?.value === 'attr';
  }
}

/**
 * Names the template binds itself (`set`, `for`, `macro` parameters, `with`, `import … as`): a local
 * called `config` or `self` is not the global of that name.
 */
function collectLocals(tags: readonly Tag[]): Set<string> {
  const locals = new Set<string>();
  for (const tag of tags) {
    if (tag.kind !== 'statement') continue;
    const tokens = tag.tokens;
    const head = tokens[0]?.value;
    if (head === 'set' || head === 'for' || head === 'with') {
      const stop = head === 'for' ? 'in' : '=';
      for (let k = 1; k < tokens.length; k++) {
        const t = tokens[k] as Token;
        if (t.value === stop || (head === 'set' && t.value === '%')) break;
        if (t.type === 'name' && tokens[k - 1]?.value !== '.') locals.add(t.value);
      }
    } else if (head === 'macro' || head === 'call') {
      for (let k = 1; k < tokens.length; k++) {
        const t = tokens[k] as Token;
        if (t.type === 'name' && (tokens[k - 1]?.value === '(' || tokens[k - 1]?.value === ',') && tokens[k + 1]?.value !== '.') locals.add(t.value);
      }
      if (head === 'macro' && tokens[1]?.type === 'name') locals.add(tokens[1].value);
    }
    for (let k = 1; k < tokens.length; k++) if (tokens[k - 1]?.value === 'as' && tokens[k]?.type === 'name') locals.add((tokens[k] as Token).value);
  }
  for (const name of ['loop', 'caller', 'varargs', 'kwargs']) locals.add(name);
  return locals;
}

/** Scans a Jinja template for constructs that reach Python internals. Never throws. */
export function scanJinjaTemplate(text: string, limits: JinjaLimits = DEFAULT_JINJA_LIMITS): JinjaScanResult {
  const clipped = text.length > limits.maxChars;
  const source = clipped ? text.slice(0, limits.maxChars) : text;
  const positions = new Positions(source);
  const { tags, truncated, error } = tokenizeTemplate(source, limits);
  const analyzer = new Analyzer(source, positions, limits, collectLocals(tags));
  for (const tag of tags) analyzer.analyzeTag(tag);
  foldTemplateStrings(source, tags, (found) => analyzer.computedString(found));
  const result: JinjaScanResult = { issues: analyzer.issues, truncated: clipped || truncated || analyzer.truncated };
  if (error) result.error = { message: error.message, ...positions.at(error.index) };
  return result;
}
