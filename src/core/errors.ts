/**
 * Failures of the tool (as opposed to findings, which are data). Every error carries a stable
 * SCREAMING_SNAKE code from ERROR_CODES; docs/errors.md documents each one (a test keeps them in step).
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'The configuration file is not valid.',
  CONFIG_NOT_FOUND: 'A configuration file named on the command line does not exist.',
  USAGE: 'The command line is not valid.',
  PATH_NOT_FOUND: 'A path to scan does not exist or cannot be read.',
  IO_ERROR: 'A file could not be read or written.',
  SPECIAL_FILE: 'A path names a FIFO, device, socket or directory where a regular file is needed; it is not read or written.',
  BASELINE_INVALID: 'The baseline file is not valid.',
  INPUT_LIMIT: 'An input exceeded a configured bound (size, depth, count or time).',
  PARSE_ERROR: 'An input could not be parsed.',
  UNSUPPORTED_FORMAT: 'An input is in a format this build cannot read.',
  WORKER_FAILED: 'A scan worker thread failed.',
  INTERNAL: 'An unexpected internal error.',
  // integrity
  DIGEST_MISMATCH: 'A file does not match the digest recorded for it.',
  MANIFEST_MISMATCH: 'The files on disk do not match the signed manifest.',
  SIGNATURE_INVALID: 'A signature does not verify.',
  KEY_INVALID: 'A key could not be read or is of an unsupported type.',
  KEY_UNTRUSTED: 'The signature was made by a key that is not trusted.',
  BUNDLE_INVALID: 'A signature bundle or envelope is malformed.',
  SYMLINK_REFUSED: 'A symbolic link was found and the symlink policy refuses it.',
  SUBJECT_MISMATCH: 'An attestation subject does not match the artifact on disk.',
  ARTIFACT_EMPTY: 'A model or dataset to hash holds no regular file after exclusions.',
  // audit log
  AUDIT_ENTRY_INVALID: 'An audit entry is not a JSON value that can be canonicalised (RFC 8785), or is too large or too deep.',
  AUDIT_CHECKPOINT_INVALID: 'A signed note or checkpoint is malformed, or a verifier key is not a valid note key.',
  AUDIT_PROOF_INVALID: 'A Merkle inclusion or consistency proof does not verify, or asks for sizes the log does not have.',
  AUDIT_ROLLBACK: 'A log shows a checkpoint older than one already seen (the log was rolled back).',
  AUDIT_FORK: 'A log shows a checkpoint that is not consistent with one already seen (a forked or rewritten log).',
  AUDIT_CONFLICT: 'Another writer appended to the audit store first; the append is retried from the new size.',
  AUDIT_STORE_CORRUPT: 'The audit store does not match the tree it signed (missing or altered rows).',
  // notebooks
  NOTEBOOK_HAS_SECRET: 'A notebook cell source holds a secret.',
  NOTEBOOK_NOT_CLEAN: 'A notebook has outputs or execution metadata that should be stripped.',
  // registry (server and clients; HTTP statuses in src/server/errors.ts and docs/registry.md)
  UNAUTHENTICATED: 'The request carries no valid token: missing, malformed, unknown, expired or revoked.',
  FORBIDDEN: 'The token is valid but does not grant this action on this resource.',
  NOT_FOUND: 'A project, artifact, version, file, account, token or upload does not exist or is not visible to the caller.',
  CONFLICT: 'The resource already exists, or is in a state that does not allow the change (versions are immutable).',
  NAME_INVALID: 'A project, artifact, account or file name is not allowed (path traversal, control characters, length).',
  REQUEST_INVALID: 'A request body, parameter or header does not match the API schema.',
  RATE_LIMITED: 'Too many requests or login attempts; retry after the time the server names.',
  UPLOAD_INCOMPLETE: 'An upload was committed before every file of its manifest arrived, or a file upload was cut short.',
  STORE_CORRUPT: 'Stored data no longer matches its digest: the data directory was changed outside the registry.',
  REMOTE_ERROR: 'The registry could not be reached, or answered with something that is not the registry API.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface CustodyErrorOptions {
  cause?: unknown;
  /** Structured details safe to show to a user (never raw secret values). */
  details?: Record<string, unknown>;
}

export class CustodyError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: CustodyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CustodyError';
    this.code = code;
    this.details = options.details;
  }
}

export function isCustodyError(value: unknown, code?: ErrorCode): value is CustodyError {
  return value instanceof CustodyError && (code === undefined || value.code === code);
}

/** A problem found while validating input; validation collects all of them before failing. */
export interface Problem {
  /** Where the problem is, e.g. `rules.models/pickle-unknown-global.severity`. */
  path: string;
  message: string;
}

export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n');
}
