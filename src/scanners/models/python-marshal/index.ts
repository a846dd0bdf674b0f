/**
 * A bounded reader of Python `marshal` data, enough to say what a marshalled code object (a Keras
 * Lambda layer's function, say) would call. It decodes the object stream (code objects of Python
 * 3.7–3.13, strings, tuples, refs, numbers, containers) without executing anything, and collects
 * every code object's `co_names` (globals and attributes it touches) and string constants.
 *
 * The stream does not say which Python wrote it, and the code-object layout changed in 3.8
 * (`co_posonlyargcount`) and 3.11 (`co_qualname`, `co_localspluskinds`, `co_exceptiontable`), so each
 * layout is tried in turn and the first that decodes the whole stream consistently wins.
 */

export interface MarshalDescription {
  /** Every `co_names` entry of every code object (nested ones too), first-seen order, unique. */
  names: string[];
  /** Every str constant of every code object, first-seen order, unique (clipped to 200 chars). */
  consts: string[];
  /** Set when the data could not be decoded; `names`/`consts` then hold what was read before. */
  error?: string;
  /** The code-object layout that decoded the data: `3.11+`, `3.8-3.10` or `3.7`. */
  layout?: string;
  /** Names of the code objects (`co_name`), e.g. `<lambda>`. */
  functions?: string[];
}

export interface MarshalLimits {
  /** Deepest nesting of containers and code objects. */
  maxDepth: number;
  /** Most objects decoded in total. */
  maxObjects: number;
  /** Largest marshal input accepted. */
  maxBytes: number;
}

const DEFAULT_MARSHAL_LIMITS: MarshalLimits = { maxDepth: 64, maxObjects: 200_000, maxBytes: 16 * 1024 * 1024 };

const LAYOUTS = ['3.11+', '3.8-3.10', '3.7'] as const;
type Layout = (typeof LAYOUTS)[number];

class MarshalError extends Error {}

type Value =
  | { t: 'none' | 'null' | 'bool' | 'int' | 'float' | 'other' }
  | { t: 'str'; v: string }
  | { t: 'bytes'; length: number }
  | { t: 'seq'; items: Value[] }
  | { t: 'code'; name: string };

const NULL_VALUE: Value = { t: 'null' };
const FLAG_REF = 0x80;
const MAX_CONST_CHARS = 200;

class Reader {
  private pos = 0;
  private objects = 0;
  private readonly refs: (Value | undefined)[] = [];
  readonly names = new Set<string>();
  readonly consts = new Set<string>();
  readonly functions = new Set<string>();

  constructor(
    private readonly bytes: Buffer,
    private readonly layout: Layout,
    private readonly limits: MarshalLimits,
  ) {}

  get offset(): number {
    return this.pos;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) throw new MarshalError(`truncated at byte ${this.pos} (needs ${n} more)`);
  }
  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }
  private i32(): number {
    this.need(4);
    const v = this.bytes.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  private length(): number {
    const n = this.i32();
    if (n < 0) throw new MarshalError(`negative length ${n} at byte ${this.pos - 4}`);
    this.need(n);
    return n;
  }
  private take(n: number): Buffer {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  read(depth: number): Value {
    if (depth > this.limits.maxDepth) throw new MarshalError(`nesting deeper than ${this.limits.maxDepth}`);
    if (++this.objects > this.limits.maxObjects) throw new MarshalError(`more than ${this.limits.maxObjects} objects`);
    const at = this.pos;
    const code = this.u8();
    const flag = (code & FLAG_REF) !== 0;
    const type = String.fromCharCode(code & ~FLAG_REF);
    let index = -1;
    if (flag) {
      index = this.refs.length;
      this.refs.push(undefined);
    }
    const value = this.readBody(type, at, depth);
    if (flag) this.refs[index] = value;
    return value;
  }

  private readBody(type: string, at: number, depth: number): Value {
    switch (type) {
      case '0':
        return NULL_VALUE;
      case 'N':
        return { t: 'none' };
      case 'F':
      case 'T':
        return { t: 'bool' };
      case 'S':
      case '.':
        return { t: 'other' };
      case 'i':
        this.i32();
        return { t: 'int' };
      case 'I':
        this.take(8);
        return { t: 'int' };
      case 'l': {
        const n = this.i32();
        const digits = Math.abs(n);
        if (digits > 1_000_000) throw new MarshalError(`long with ${digits} digits at byte ${at}`);
        this.take(digits * 2);
        return { t: 'int' };
      }
      case 'g':
        this.take(8);
        return { t: 'float' };
      case 'y':
        this.take(16);
        return { t: 'float' };
      case 'f':
        this.take(this.u8());
        return { t: 'float' };
      case 'x':
        this.take(this.u8());
        this.take(this.u8());
        return { t: 'float' };
      case 's': {
        const n = this.length();
        this.take(n);
        return { t: 'bytes', length: n };
      }
      case 't':
      case 'u':
        return { t: 'str', v: this.take(this.length()).toString('utf8') };
      case 'a':
      case 'A':
        return { t: 'str', v: this.take(this.length()).toString('latin1') };
      case 'z':
      case 'Z':
        return { t: 'str', v: this.take(this.u8()).toString('latin1') };
      case '(':
      case '[':
      case '<':
      case '>':
        return this.readItems(this.i32(), at, depth);
      case ')':
        return this.readItems(this.u8(), at, depth);
      case '{': {
        const items: Value[] = [];
        for (;;) {
          const key = this.read(depth + 1);
          if (key.t === 'null') break;
          items.push(key, this.read(depth + 1));
        }
        return { t: 'seq', items };
      }
      case 'r': {
        this.need(4);
        const index = this.bytes.readUInt32LE(this.pos);
        this.pos += 4;
        const target = this.refs[index];
        if (index >= this.refs.length) throw new MarshalError(`reference ${index} to an object not yet read at byte ${at}`);
        // A reference to an object still being read (a cycle) is legal in marshal; it has no value yet.
        return target ?? { t: 'other' };
      }
      case 'c':
        return this.readCode(depth);
      case ':':
        // Python 3.14 slice: start, stop, step.
        this.read(depth + 1);
        this.read(depth + 1);
        this.read(depth + 1);
        return { t: 'other' };
      default:
        throw new MarshalError(`unknown type code 0x${type.charCodeAt(0).toString(16)} at byte ${at}`);
    }
  }

  private readItems(count: number, at: number, depth: number): Value {
    if (count < 0) throw new MarshalError(`negative size ${count} at byte ${at}`);
    // Each item takes at least one byte, so a count larger than what is left is a lie.
    this.need(count);
    const items: Value[] = [];
    for (let i = 0; i < count; i++) items.push(this.read(depth + 1));
    return { t: 'seq', items };
  }

  private readCode(depth: number): Value {
    const intCount = this.layout === '3.8-3.10' ? 6 : 5;
    for (let i = 0; i < intCount; i++) this.i32();
    const code = this.read(depth + 1);
    if (code.t !== 'bytes') throw new MarshalError('co_code is not bytes');
    const consts = this.read(depth + 1);
    const names = this.read(depth + 1);
    if (consts.t !== 'seq' || names.t !== 'seq') throw new MarshalError('co_consts or co_names is not a tuple');
    const nameList = names.items.map((n) => {
      if (n.t !== 'str') throw new MarshalError('co_names holds a non-string');
      return n.v;
    });
    if (this.layout === '3.11+') {
      this.expectSeq(this.read(depth + 1), 'co_localsplusnames');
      if (this.read(depth + 1).t !== 'bytes') throw new MarshalError('co_localspluskinds is not bytes');
    } else {
      this.expectSeq(this.read(depth + 1), 'co_varnames');
      this.expectSeq(this.read(depth + 1), 'co_freevars');
      this.expectSeq(this.read(depth + 1), 'co_cellvars');
    }
    this.expectStr(this.read(depth + 1), 'co_filename');
    const name = this.expectStr(this.read(depth + 1), 'co_name');
    if (this.layout === '3.11+') this.expectStr(this.read(depth + 1), 'co_qualname');
    this.i32();
    if (this.read(depth + 1).t !== 'bytes') throw new MarshalError('line table is not bytes');
    if (this.layout === '3.11+' && this.read(depth + 1).t !== 'bytes') throw new MarshalError('co_exceptiontable is not bytes');

    for (const n of nameList) this.names.add(n);
    for (const c of consts.items) if (c.t === 'str') this.consts.add(c.v.length > MAX_CONST_CHARS ? `${c.v.slice(0, MAX_CONST_CHARS)}…` : c.v);
    this.functions.add(name);
    return { t: 'code', name };
  }

  private expectSeq(value: Value, field: string): void {
    if (value.t !== 'seq') throw new MarshalError(`${field} is not a tuple`);
  }
  private expectStr(value: Value, field: string): string {
    if (value.t !== 'str') throw new MarshalError(`${field} is not a string`);
    return value.v;
  }
}

/**
 * Decodes marshal data (normally one code object) and lists what it names. Never throws: a failure
 * is returned in `error`, with whatever names the best attempt had collected.
 */
export function describeMarshalledCode(bytes: Buffer, limits: MarshalLimits = DEFAULT_MARSHAL_LIMITS): MarshalDescription {
  if (bytes.length === 0) return { names: [], consts: [], error: 'empty marshal data' };
  if (bytes.length > limits.maxBytes) return { names: [], consts: [], error: `marshal data of ${bytes.length} bytes exceeds the ${limits.maxBytes}-byte limit` };
  let best: { reader: Reader; error: string } | undefined;
  for (const layout of LAYOUTS) {
    const reader = new Reader(bytes, layout, limits);
    try {
      const top = reader.read(0);
      if (reader.offset !== bytes.length) throw new MarshalError(`${bytes.length - reader.offset} trailing bytes after the object`);
      if (top.t !== 'code') throw new MarshalError('the data is not a code object');
      return { names: [...reader.names], consts: [...reader.consts], layout, functions: [...reader.functions] };
    } catch (error) {
      if (!(error instanceof MarshalError) && !(error instanceof RangeError)) throw error;
      const message = `${error.message} (as Python ${layout} layout)`;
      if (best === undefined || reader.offset > best.reader.offset) best = { reader, error: message };
    }
  }
  const reader = (best as { reader: Reader }).reader;
  return { names: [...reader.names], consts: [...reader.consts], functions: [...reader.functions], error: best?.error ?? 'not decodable' };
}

/**
 * Names that let code reach the operating system, the interpreter or the network. A marshalled
 * function whose `co_names` include any of these is reported as executing code on load.
 */
const DANGEROUS_PYTHON_NAMES: ReadonlySet<string> = new Set([
  '__import__', '__builtins__', '__globals__', '__subclasses__', '__code__', '__reduce__', '__getattribute__',
  'builtins', 'compile', 'eval', 'exec', 'execfile', 'getattr', 'setattr', 'globals', 'locals', 'vars', 'breakpoint', 'open', 'input',
  'os', 'posix', 'nt', 'system', 'popen', 'popen2', 'spawn', 'spawnl', 'spawnv', 'spawnve', 'execv', 'execve', 'execl', 'execvp', 'fork', 'kill', 'remove', 'unlink', 'rmdir', 'rmtree', 'chmod', 'putenv', 'environ',
  'subprocess', 'Popen', 'call', 'check_call', 'check_output', 'run', 'getoutput', 'getstatusoutput',
  'socket', 'connect', 'urllib', 'urlopen', 'urlretrieve', 'request', 'requests', 'http', 'httplib', 'ftplib', 'smtplib', 'telnetlib',
  'shutil', 'pty', 'importlib', 'import_module', 'ctypes', 'cffi', 'pickle', 'marshal', 'loads', 'runpy', 'code', 'webbrowser', 'sys', 'modules',
  'base64', 'b64decode', 'codecs', 'write', 'read_text', 'write_text', 'write_bytes', 'pathlib',
]);

/** The dangerous names a marshalled function refers to, in the order it names them. */
export function findDangerousNames(description: Pick<MarshalDescription, 'names'>): string[] {
  return description.names.filter((name) => DANGEROUS_PYTHON_NAMES.has(name));
}
