import { CustodyError, isCustodyError, type ErrorCode } from '../core/errors.js';

/**
 * The one place where errors become HTTP answers. A CustodyError's code picks the status; the body
 * is `{"error": {"code", "message", "requestId"}}` (plus `details` for the few keys that are safe to
 * show). Anything that is not a CustodyError is a 500 with a generic message: stack traces, library
 * messages and internal paths stay in the server log. docs/registry.md lists this table (a test
 * keeps the two in step); codes not listed answer 500.
 */
export const HTTP_STATUS: Readonly<Partial<Record<ErrorCode, number>>> = {
  USAGE: 400,
  REQUEST_INVALID: 400,
  NAME_INVALID: 400,
  PARSE_ERROR: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UPLOAD_INCOMPLETE: 409,
  INPUT_LIMIT: 413,
  UNSUPPORTED_FORMAT: 415,
  DIGEST_MISMATCH: 422,
  MANIFEST_MISMATCH: 422,
  SUBJECT_MISMATCH: 422,
  BUNDLE_INVALID: 422,
  KEY_INVALID: 422,
  KEY_UNTRUSTED: 422,
  SIGNATURE_INVALID: 422,
  RATE_LIMITED: 429,
  STORE_CORRUPT: 500,
  IO_ERROR: 500,
  INTERNAL: 500,
};

export function statusOf(code: ErrorCode): number {
  return HTTP_STATUS[code] ?? 500;
}

/** Details that may be shown to a client (they never hold paths, secrets or internals). */
const SAFE_DETAILS = ['problems', 'missing', 'version', 'action', 'file', 'retryAfterSeconds'] as const;

export interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: Record<string, unknown> };
}

/** Fastify's own errors (parsing, limits, validation) as coded errors. */
function fromFastify(error: { code?: string; statusCode?: number; validation?: unknown; message: string; validationContext?: string }): CustodyError | undefined {
  if (error.validation !== undefined) return new CustodyError('REQUEST_INVALID', `the request does not match the API schema: ${error.message}`);
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CustodyError('INPUT_LIMIT', 'the request body is larger than this route accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CustodyError('REQUEST_INVALID', 'this route does not accept that Content-Type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new CustodyError('REQUEST_INVALID', 'the request body is not valid JSON of the declared length');
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new CustodyError('REQUEST_INVALID', 'the request URL is not valid');
    default:
      break;
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && typeof error.code === 'string' && error.code.startsWith('FST_'))) {
    return new CustodyError('REQUEST_INVALID', 'the request is malformed');
  }
  return undefined;
}

/**
 * Maps any error to a status and body. `hide` lists strings (the data directory) that must never
 * appear in a message; they are replaced even in our own messages, as a second line of defence.
 */
export function toErrorResponse(error: unknown, requestId: string, hide: readonly string[] = []): { status: number; body: ErrorBody; internal: boolean } {
  const coded = isCustodyError(error) ? error : fromFastify(error as { message: string });
  if (!coded || statusOf(coded.code) >= 500) {
    const code = coded?.code ?? 'INTERNAL';
    const what = code === 'STORE_CORRUPT' ? 'stored data failed its integrity check' : 'internal error';
    return { status: coded ? statusOf(coded.code) : 500, body: { error: { code, message: `${what}; the server log has the details under request id ${requestId}`, requestId } }, internal: true };
  }
  let message = coded.message;
  for (const secret of hide) if (secret.length > 1) message = message.split(secret).join('<data-dir>');
  const details: Record<string, unknown> = {};
  for (const key of SAFE_DETAILS) if (coded.details?.[key] !== undefined) details[key] = coded.details[key];
  return {
    status: statusOf(coded.code),
    body: { error: { code: coded.code, message, requestId, ...(Object.keys(details).length > 0 ? { details } : {}) } },
    internal: false,
  };
}
