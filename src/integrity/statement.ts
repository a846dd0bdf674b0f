import { CustodyError } from '../core/errors.js';
import { parseJsonBounded } from '../core/bounded-json.js';
import { IN_TOTO_PAYLOAD_TYPE } from './dsse.js';
import { isRecord } from '../core/json.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** in-toto ResourceDescriptor v1 (the fields Custody reads or writes). */
export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  content?: string;
  downloadLocation?: string;
  mediaType?: string;
  annotations?: Record<string, unknown>;
}

export interface Statement<P = unknown> {
  _type: typeof STATEMENT_TYPE;
  subject: ResourceDescriptor[];
  predicateType: string;
  predicate: P;
}

export function buildStatement<P>(subject: ResourceDescriptor[], predicateType: string, predicate: P): Statement<P> {
  return { _type: STATEMENT_TYPE, subject, predicateType, predicate };
}

export function encodeStatement(statement: Statement): Buffer {
  return Buffer.from(JSON.stringify(statement), 'utf8');
}

/** Nesting and value bounds on a statement before it is parsed (a resource of a manifest is 4 values). */
const STATEMENT_LIMITS = { maxDepth: 32, maxValues: 4_000_000 } as const;

/**
 * Parses an authenticated DSSE payload as an in-toto Statement v1: right payload type, `_type`,
 * at least one subject with a digest, a predicate type and an object predicate.
 */
export function parseStatement(payloadType: string, payload: Buffer): Statement {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new CustodyError('BUNDLE_INVALID', `payload type is "${payloadType.slice(0, 100)}", expected ${IN_TOTO_PAYLOAD_TYPE}`);
  const raw = parseJsonBounded(payload, { ...STATEMENT_LIMITS, what: 'the signed payload', invalidCode: 'BUNDLE_INVALID' });
  if (!isRecord(raw)) throw new CustodyError('BUNDLE_INVALID', 'the signed payload is not a JSON object');
  if (raw['_type'] !== STATEMENT_TYPE) throw new CustodyError('BUNDLE_INVALID', `the statement _type is not ${STATEMENT_TYPE}`);
  const subject = raw['subject'];
  if (!Array.isArray(subject) || subject.length === 0) throw new CustodyError('BUNDLE_INVALID', 'the statement has no subject');
  subject.forEach((s: unknown, i) => {
    if (!isRecord(s) || !isRecord(s['digest']) || Object.keys(s['digest']).length === 0 || !Object.values(s['digest']).every((v) => typeof v === 'string')) {
      throw new CustodyError('BUNDLE_INVALID', `statement subject[${i}] must have a digest of algorithm → string`);
    }
    if (s['name'] !== undefined && typeof s['name'] !== 'string') throw new CustodyError('BUNDLE_INVALID', `statement subject[${i}].name must be a string`);
  });
  if (typeof raw['predicateType'] !== 'string' || raw['predicateType'] === '') throw new CustodyError('BUNDLE_INVALID', 'the statement has no predicateType');
  if (!isRecord(raw['predicate'])) throw new CustodyError('BUNDLE_INVALID', 'the statement predicate must be an object');
  return raw as unknown as Statement;
}
