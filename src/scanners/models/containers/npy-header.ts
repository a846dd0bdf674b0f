/*
 * The .npy header: magic `\x93NUMPY`, version (1.0, 2.0, 3.0), header length (2 or 4 bytes), then a
 * Python dict literal such as `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`. numpy
 * reads it with ast.literal_eval; we parse the same small literal language by hand (never eval),
 * bounded in length and depth.
 */

export const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
/** Largest header we parse (numpy itself refuses more than 10,000 bytes unless told otherwise). */
export const MAX_NPY_HEADER = 1024 * 1024;
const MAX_DEPTH = 32;

export type PyValue = string | number | boolean | null | PyValue[] | { tuple: PyValue[] } | Map<string, PyValue>;

export class NpyError extends Error {
  /** `version`: the header has a version numpy does not know; `header`: anything else. */
  constructor(
    message: string,
    readonly kind: 'version' | 'header' = 'header',
  ) {
    super(message);
  }
}

/** Parses a Python literal (dict, tuple, list, str, int, float, True/False/None). Throws NpyError. */
export function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new NpyError(`${what} at character ${pos}`);
  };
  const skip = (): void => {
    while (pos < text.length && /\s/.test(text[pos] ?? '')) pos++;
  };
  const value = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    skip();
    const c = text[pos];
    if (c === undefined) return fail('unexpected end');
    if (c === '{') return dict(depth);
    if (c === '(') return sequence(depth, ')');
    if (c === '[') return sequence(depth, ']');
    if (c === "'" || c === '"') return string();
    if (/[-+0-9.]/.test(c)) return number();
    const word = /^[A-Za-z_]+/.exec(text.slice(pos, pos + 16))?.[0];
    if (word === 'True' || word === 'False' || word === 'None') {
      pos += word.length;
      return word === 'None' ? null : word === 'True';
    }
    return fail(`unexpected ${JSON.stringify(c)}`);
  };
  const dict = (depth: number): Map<string, PyValue> => {
    pos++;
    const out = new Map<string, PyValue>();
    for (;;) {
      skip();
      if (text[pos] === '}') {
        pos++;
        return out;
      }
      const key = value(depth + 1);
      if (typeof key !== 'string') fail('dict key is not a string');
      skip();
      if (text[pos] !== ':') fail("expected ':'");
      pos++;
      out.set(key as string, value(depth + 1));
      skip();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== '}') fail("expected ',' or '}'");
    }
  };
  const sequence = (depth: number, close: ')' | ']'): PyValue => {
    pos++;
    const items: PyValue[] = [];
    let comma = false;
    for (;;) {
      skip();
      if (text[pos] === close) {
        pos++;
        if (close === ']') return items;
        // `(x)` is x; `(x,)` and `()` are tuples.
        return items.length === 1 && !comma ? (items[0] as PyValue) : { tuple: items };
      }
      items.push(value(depth + 1));
      skip();
      if (text[pos] === ',') {
        pos++;
        comma = true;
      } else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
    }
  };
  const string = (): string => {
    const quote = text[pos];
    pos++;
    let out = '';
    while (pos < text.length) {
      const c = text[pos++] as string;
      if (c === quote) return out;
      if (c === '\n') fail('newline in string');
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[pos++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"' };
      if (e !== undefined && simple[e] !== undefined) out += simple[e];
      else if (e === 'x' || e === 'u') {
        const width = e === 'x' ? 2 : 4;
        const digits = text.slice(pos, pos + width);
        if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== width) fail('bad escape');
        out += String.fromCharCode(parseInt(digits, 16));
        pos += width;
      } else fail('unsupported escape');
    }
    return fail('unterminated string');
  };
  const number = (): number => {
    const match = /^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)L?/.exec(text.slice(pos, pos + 64));
    if (!match) return fail('bad number');
    pos += match[0].length;
    return Number(match[0].replace(/L$/, ''));
  };
  const result = value(0);
  skip();
  if (pos !== text.length) fail('trailing characters');
  return result;
}

export interface NpyHeader {
  version: string;
  /** Offset of the array data. */
  dataStart: number;
  descr: PyValue;
  fortranOrder: boolean;
  shape: number[];
  /** The dtype holds Python objects: the data is a pickle. */
  hasObjects: boolean;
  /** Bytes per element, when the dtype has no objects. */
  itemSize: number;
  /** Human-readable descr for messages. */
  descrText: string;
}

interface Dtype {
  itemSize: number;
  hasObjects: boolean;
}

const TYPESTR = /^([<>|=])?([?bBhHiIlLqQpPefdgFDGSaUVOMmuc])(\d*)(\[[A-Za-z0-9]+\])?$/;
const DEFAULT_SIZES: Readonly<Record<string, number>> = { '?': 1, b: 1, B: 1, h: 2, H: 2, i: 4, I: 4, l: 8, L: 8, q: 8, Q: 8, p: 8, P: 8, e: 2, f: 4, d: 8, g: 16, F: 8, D: 16, G: 32, O: 8 };

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function shapeOf(value: PyValue | undefined): number[] | undefined {
  if (typeof value === 'number') return [value];
  const items = value !== null && typeof value === 'object' && 'tuple' in value ? value.tuple : Array.isArray(value) ? value : undefined;
  if (!items) return undefined;
  const dims: number[] = [];
  for (const d of items) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) return undefined;
    dims.push(d);
  }
  return dims;
}

/** An item size past 2^53 (or Infinity, from a 400-digit count) is no dtype numpy can load. */
function checkedSize(dtype: Dtype): Dtype {
  if (!Number.isSafeInteger(dtype.itemSize)) throw new NpyError('the dtype item size is too large');
  return dtype;
}

/** Size and object-ness of a descr (a typestr or a list of fields). Throws NpyError when it is not one. */
export function describeDtype(descr: PyValue, depth = 0): Dtype {
  if (depth > MAX_DEPTH) throw new NpyError('dtype nested too deep');
  if (typeof descr === 'string') {
    const match = TYPESTR.exec(descr);
    if (!match) throw new NpyError(`unknown dtype ${JSON.stringify(descr)}`);
    const kind = match[2] as string;
    if (kind === 'O') return { itemSize: 8, hasObjects: true };
    const count = match[3] === '' || match[3] === undefined ? undefined : Number(match[3]);
    if (kind === 'U') return checkedSize({ itemSize: 4 * (count ?? 0), hasObjects: false });
    const size = count ?? DEFAULT_SIZES[kind];
    if (size === undefined) throw new NpyError(`dtype ${JSON.stringify(descr)} has no size`);
    return checkedSize({ itemSize: size, hasObjects: false });
  }
  if (Array.isArray(descr)) {
    let itemSize = 0;
    let hasObjects = false;
    for (const field of descr) {
      const parts = field !== null && typeof field === 'object' && 'tuple' in field ? field.tuple : Array.isArray(field) ? field : undefined;
      if (!parts || parts.length < 2 || parts.length > 3) throw new NpyError('a structured dtype field is not (name, dtype[, shape])');
      const inner = describeDtype(parts[1] as PyValue, depth + 1);
      const sub = parts.length === 3 ? shapeOf(parts[2]) : [];
      if (!sub) throw new NpyError('a structured dtype field has a bad shape');
      itemSize += inner.itemSize * product(sub);
      hasObjects ||= inner.hasObjects;
    }
    return checkedSize({ itemSize, hasObjects });
  }
  throw new NpyError('descr is neither a type string nor a list of fields');
}

/** Parses the .npy header at the start of `data` (which must hold the whole header). Throws NpyError. */
export function parseNpyHeader(data: Buffer): NpyHeader {
  if (data.length < 10 || !data.subarray(0, 6).equals(NPY_MAGIC)) throw new NpyError('no .npy magic');
  const major = data[6] ?? 0;
  const minor = data[7] ?? 0;
  const version = `${major}.${minor}`;
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) throw new NpyError(`unknown version ${version}`, 'version');
  const lengthBytes = major === 1 ? 2 : 4;
  if (data.length < 8 + lengthBytes) throw new NpyError('truncated header length');
  const length = major === 1 ? data.readUInt16LE(8) : data.readUInt32LE(8);
  const start = 8 + lengthBytes;
  if (length > MAX_NPY_HEADER) throw new NpyError(`header of ${length} bytes is larger than ${MAX_NPY_HEADER}`);
  if (data.length < start + length) throw new NpyError('truncated header');
  const text = data.subarray(start, start + length).toString(major === 3 ? 'utf8' : 'latin1');
  const literal = parsePyLiteral(text.replace(/[\s\0]+$/, ''));
  if (!(literal instanceof Map)) throw new NpyError('header is not a dict');
  const keys = [...literal.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') throw new NpyError(`header keys are ${keys || 'missing'}, expected descr, fortran_order, shape`);
  const descr = literal.get('descr') as PyValue;
  const fortranOrder = literal.get('fortran_order');
  if (typeof fortranOrder !== 'boolean') throw new NpyError('fortran_order is not True or False');
  const rawShape = literal.get('shape');
  const shape = rawShape !== null && typeof rawShape === 'object' && 'tuple' in rawShape ? shapeOf(rawShape) : undefined;
  if (!shape) throw new NpyError('shape is not a tuple of non-negative integers');
  const dtype = describeDtype(descr);
  return {
    version,
    dataStart: start + length,
    descr,
    fortranOrder,
    shape,
    hasObjects: dtype.hasObjects,
    itemSize: dtype.itemSize,
    descrText: formatPyValue(descr).slice(0, 200),
  };
}

/** Renders a parsed literal back in Python syntax (for messages). */
export function formatPyValue(value: PyValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
  if (Array.isArray(value)) return `[${value.map(formatPyValue).join(', ')}]`;
  if (value instanceof Map) return `{${[...value].map(([k, v]) => `'${k}': ${formatPyValue(v)}`).join(', ')}}`;
  return `(${value.tuple.map(formatPyValue).join(', ')}${value.tuple.length === 1 ? ',' : ''})`;
}

/** Expected data bytes for a non-object array (may exceed Number.MAX_SAFE_INTEGER; then Infinity). */
export function expectedDataBytes(header: NpyHeader): number {
  const total = header.shape.reduce((a, b) => a * BigInt(b), BigInt(header.itemSize));
  return total > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(total);
}
