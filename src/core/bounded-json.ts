import { CustodyError, type ErrorCode } from './errors.js';

/**
 * JSON.parse with bounds checked first. JSON.parse has none: a 100 MB document nested a few million
 * deep, or millions of empty objects, exhausts the heap and aborts the process (an uncatchable
 * `bad_alloc`), so no error code would ever be printed. A linear pre-scan over the bytes measures the
 * nesting depth and counts values (every `{`, `[` and `,` outside strings, an upper bound on what
 * JSON.parse allocates objects for) and refuses with INPUT_LIMIT before anything is parsed.
 */

export interface JsonBounds {
  /** Deepest nesting of objects and arrays accepted. */
  maxDepth: number;
  /** Most values (objects, arrays and separated elements) accepted. */
  maxValues: number;
  /** Largest input accepted, in bytes (checked first). */
  maxBytes?: number;
}

export interface JsonOptions extends JsonBounds {
  /** What the input is, for messages: `signature model.sig`. */
  what: string;
  /** Code for input that is not JSON (default PARSE_ERROR). Bounds are always INPUT_LIMIT. */
  invalidCode?: ErrorCode;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/** Depth and value count of a JSON text, in one pass; stops as soon as a bound is passed. */
export function measureJson(bytes: Uint8Array, bounds: JsonBounds): { depth: number; values: number; exceeded?: 'depth' | 'values' } {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let depth = 0;
  let deepest = 0;
  let values = 1;
  let i = 0;
  const length = buffer.length;
  while (i < length) {
    const c = buffer[i] as number;
    if (c === QUOTE) {
      // Skip the string natively: find the next quote not escaped by an odd run of backslashes.
      let end = buffer.indexOf(QUOTE, i + 1);
      while (end !== -1) {
        let backslashes = 0;
        for (let k = end - 1; k > i && buffer[k] === BACKSLASH; k--) backslashes++;
        if (backslashes % 2 === 0) break;
        end = buffer.indexOf(QUOTE, end + 1);
      }
      if (end === -1) break; // unterminated: JSON.parse reports it
      i = end + 1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      values++;
      if (depth > deepest) deepest = depth;
      if (depth > bounds.maxDepth) return { depth, values, exceeded: 'depth' };
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    else if (c === COMMA) values++;
    if (values > bounds.maxValues) return { depth: deepest, values, exceeded: 'values' };
    i++;
  }
  return { depth: deepest, values };
}

/** Parses JSON within bounds: INPUT_LIMIT past one, `invalidCode` when it is not JSON. */
export function parseJsonBounded(input: string | Uint8Array, options: JsonOptions): unknown {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (options.maxBytes !== undefined && bytes.byteLength > options.maxBytes) {
    throw new CustodyError('INPUT_LIMIT', `${options.what} is ${bytes.byteLength} bytes, over the limit of ${options.maxBytes} bytes`, {
      details: { limit: 'bytes', size: bytes.byteLength, max: options.maxBytes },
    });
  }
  const measured = measureJson(bytes, options);
  if (measured.exceeded === 'depth') {
    throw new CustodyError('INPUT_LIMIT', `${options.what} nests JSON deeper than ${options.maxDepth} levels; it is not read`, { details: { limit: 'depth', max: options.maxDepth } });
  }
  if (measured.exceeded === 'values') {
    throw new CustodyError('INPUT_LIMIT', `${options.what} holds more than ${options.maxValues} JSON values; it is not read`, { details: { limit: 'values', max: options.maxValues } });
  }
  try {
    return JSON.parse(typeof input === 'string' ? input : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as unknown;
  } catch (error) {
    // V8's message quotes the text around the error, which may hold a secret: keep the position only.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new CustodyError(options.invalidCode ?? 'PARSE_ERROR', `${options.what} is not valid JSON${position === undefined ? '' : ` (at character ${position})`}`);
  }
}
