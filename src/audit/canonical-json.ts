import { CustodyError } from '../core/errors.js';

/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of a JSON value that the audit log
 * hashes. Object members are sorted by their names' UTF-16 code units, numbers are written as
 * ECMAScript writes them (`JSON.stringify` follows the same rules), strings escape only what JSON
 * requires, and there is no whitespace.
 *
 * Only JSON values are accepted: null, booleans, finite numbers, strings without lone surrogates
 * (I-JSON), arrays and plain objects. Anything else (undefined in an array, NaN, bigint, a Date, a
 * Map, a class instance, a cycle) is refused with AUDIT_ENTRY_INVALID rather than guessed at; object
 * members whose value is `undefined` are absent, as in JSON.stringify.
 */

export interface CanonicalJsonLimits {
  /** Deepest nesting of arrays and objects (default 64). */
  maxDepth?: number;
  /** Longest output in UTF-16 code units (default 1 MiB); refused past it. */
  maxLength?: number;
}

const DEFAULT_MAX_DEPTH = 64;
const DEFAULT_MAX_LENGTH = 1024 * 1024;
// A lone surrogate: a high one not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function canonicalJson(value: unknown, limits: CanonicalJsonLimits = {}): string {
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxLength = limits.maxLength ?? DEFAULT_MAX_LENGTH;
  const parts: string[] = [];
  let length = 0;
  const seen = new Set<object>();

  const emit = (text: string): void => {
    length += text.length;
    if (length > maxLength) throw new CustodyError('AUDIT_ENTRY_INVALID', `canonical JSON is longer than ${maxLength} characters`, { details: { limit: maxLength } });
    parts.push(text);
  };

  const writeString = (text: string, path: string): void => {
    if (LONE_SURROGATE.test(text)) throw new CustodyError('AUDIT_ENTRY_INVALID', `${path} holds a lone UTF-16 surrogate, which is not valid I-JSON`, { details: { path } });
    emit(JSON.stringify(text));
  };

  const write = (node: unknown, path: string, depth: number): void => {
    if (node === null) return emit('null');
    switch (typeof node) {
      case 'boolean':
        return emit(node ? 'true' : 'false');
      case 'number':
        if (!Number.isFinite(node)) throw new CustodyError('AUDIT_ENTRY_INVALID', `${path} is ${String(node)}, which JSON cannot represent`, { details: { path } });
        return emit(JSON.stringify(node));
      case 'string':
        return writeString(node, path);
      case 'object':
        break;
      default:
        throw new CustodyError('AUDIT_ENTRY_INVALID', `${path} is ${typeof node === 'undefined' ? 'undefined' : `a ${typeof node}`}, which is not a JSON value`, { details: { path } });
    }
    if (depth >= maxDepth) throw new CustodyError('AUDIT_ENTRY_INVALID', `${path} is nested deeper than ${maxDepth} levels`, { details: { path, limit: maxDepth } });
    if (seen.has(node)) throw new CustodyError('AUDIT_ENTRY_INVALID', `${path} refers back to an enclosing value (a cycle)`, { details: { path } });
    seen.add(node);
    if (Array.isArray(node)) {
      emit('[');
      for (let i = 0; i < node.length; i++) {
        if (i > 0) emit(',');
        write(node[i], `${path}[${i}]`, depth + 1);
      }
      emit(']');
    } else {
      const prototype: unknown = Object.getPrototypeOf(node);
      if (prototype !== Object.prototype && prototype !== null) {
        throw new CustodyError('AUDIT_ENTRY_INVALID', `${path} is an instance of ${describeConstructor(node)}, not a plain object; convert it to JSON values first`, { details: { path } });
      }
      const record = node as Record<string, unknown>;
      const names = Object.keys(record)
        .filter((name) => record[name] !== undefined)
        .sort(); // default sort: UTF-16 code units, as RFC 8785 §3.2.3 asks
      emit('{');
      names.forEach((name, i) => {
        if (i > 0) emit(',');
        writeString(name, `${path} member name`);
        emit(':');
        write(record[name], `${path}.${name}`, depth + 1);
      });
      emit('}');
    }
    seen.delete(node);
  };

  write(value, '$', 0);
  return parts.join('');
}

function describeConstructor(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'a class';
}
