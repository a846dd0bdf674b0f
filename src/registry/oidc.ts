import { createHash, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { CustodyError } from '../core/errors.js';
import { isRecord } from '../core/json.js';

/**
 * Workload identity: OIDC ID tokens (GitHub Actions, GitLab CI, Kubernetes service accounts…)
 * verified with node:crypto against the issuer's JSON Web Key Set — fetched from its discovery
 * document over HTTPS and cached (bounded, with a timeout), or pinned from a file for offline
 * servers. Only asymmetric algorithms are accepted (RS256/384/512, ES256/384): `none` and every
 * symmetric algorithm are refused, so a token "signed" with the public key as an HMAC secret fails.
 * Every refusal is OIDC_REFUSED with `details.check` naming which check failed.
 */

export const OIDC_CHECKS = ['malformed', 'alg', 'kid', 'signature', 'issuer', 'audience', 'expired', 'not-yet-valid', 'lifetime', 'claims', 'replay', 'jwks', 'no-rule'] as const;
export type OidcCheck = (typeof OIDC_CHECKS)[number];

export function refuse(check: OidcCheck, message: string): CustodyError {
  return new CustodyError('OIDC_REFUSED', `ID token refused (${check}): ${message}`, { details: { check } });
}

const ALGORITHMS = {
  RS256: { kty: 'RSA', hash: 'sha256', crv: undefined, size: 0 },
  RS384: { kty: 'RSA', hash: 'sha384', crv: undefined, size: 0 },
  RS512: { kty: 'RSA', hash: 'sha512', crv: undefined, size: 0 },
  ES256: { kty: 'EC', hash: 'sha256', crv: 'P-256', size: 64 },
  ES384: { kty: 'EC', hash: 'sha384', crv: 'P-384', size: 96 },
} as const;
type Algorithm = keyof typeof ALGORITHMS;

export const MAX_ID_TOKEN_BYTES = 16 * 1024;
/** Clock skew allowed on exp, nbf and iat. */
export const CLOCK_SKEW_SECONDS = 60;
/**
 * The furthest expiry an ID token may have. CI tokens live minutes and projected service-account
 * tokens hours; a token that claims to be good for longer (exp 1e308) is refused rather than kept
 * in the replay memory for ever.
 */
export const MAX_ID_TOKEN_LIFETIME_SECONDS = 24 * 3600;
const B64URL = /^[A-Za-z0-9_-]+$/;

function decodePart(part: string, what: string): Buffer {
  if (!B64URL.test(part) || part.length % 4 === 1) throw refuse('malformed', `the ${what} is not base64url`);
  return Buffer.from(part, 'base64url');
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decodePart(part, what).toString('utf8'));
  } catch (error) {
    if (error instanceof CustodyError) throw error;
    throw refuse('malformed', `the ${what} is not JSON`);
  }
  if (!isRecord(value)) throw refuse('malformed', `the ${what} is not a JSON object`);
  return value;
}

export interface DecodedToken {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: Buffer;
  signature: Buffer;
}

/** Splits and decodes a compact JWS without verifying it (to pick the issuer's rule). */
export function decodeIdToken(token: string): DecodedToken {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_ID_TOKEN_BYTES) throw refuse('malformed', `an ID token is a compact JWS of at most ${MAX_ID_TOKEN_BYTES} bytes`);
  const parts = token.split('.');
  if (parts.length !== 3) throw refuse('malformed', 'an ID token has three dot-separated parts');
  const [h = '', c = '', s = ''] = parts;
  const header = decodeJson(h, 'header');
  const claims = decodeJson(c, 'payload');
  const signature = s === '' ? Buffer.alloc(0) : decodePart(s, 'signature');
  return { header, claims, signingInput: Buffer.from(`${h}.${c}`, 'ascii'), signature };
}

/** A JWK as a verification key for `alg`; undefined when the key cannot serve that algorithm. */
function keyFor(jwk: Record<string, unknown>, alg: Algorithm): KeyObject | undefined {
  const spec = ALGORITHMS[alg];
  if (jwk['kty'] !== spec.kty) return undefined;
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig') return undefined;
  if (jwk['alg'] !== undefined && jwk['alg'] !== alg) return undefined;
  if (spec.crv !== undefined && jwk['crv'] !== spec.crv) return undefined;
  if ('d' in jwk || 'k' in jwk) return undefined;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return undefined;
  }
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return undefined;
  return key;
}

export interface OidcRule {
  issuer: string;
  audience: string;
  /** Claim name → allowed values (exact strings). */
  claims: Readonly<Record<string, readonly string[]>>;
}

export interface VerifiedIdToken {
  claims: Record<string, unknown>;
  /** When the token expires (ms). */
  expiresAt: number;
  /** What replay detection remembers: `jti` when present, else the token's hash. */
  replayKey: string;
  /** The claims the rule looked at, for the audit log. */
  used: Record<string, string>;
}

/**
 * Verifies an ID token against a rule: algorithm (asymmetric only), key id in the issuer's keys,
 * signature, issuer, audience, expiry and not-before (bounded skew), then the rule's claims.
 * `keys(kid, refresh)` returns the issuer's keys; it is asked again with refresh=true once when the
 * kid is unknown (key rotation).
 */
export async function verifyIdToken(token: string, rule: OidcRule, keys: (refresh: boolean) => Promise<readonly Record<string, unknown>[]>, nowMs: number): Promise<VerifiedIdToken> {
  const decoded = decodeIdToken(token);
  const alg = decoded.header['alg'];
  if (typeof alg !== 'string' || !Object.hasOwn(ALGORITHMS, alg)) throw refuse('alg', `algorithm ${JSON.stringify(String(alg).slice(0, 20))} is not accepted (RS256, RS384, RS512, ES256, ES384 only; never none or a symmetric one)`);
  if (decoded.header['crit'] !== undefined) throw refuse('malformed', 'critical header extensions are not supported');
  const kid = decoded.header['kid'];
  if (typeof kid !== 'string' || kid === '' || kid.length > 256) throw refuse('kid', 'the token names no key id (kid)');
  let set = await keys(false);
  let jwk = set.find((k) => k['kid'] === kid);
  if (!jwk) {
    set = await keys(true);
    jwk = set.find((k) => k['kid'] === kid);
  }
  if (!jwk) throw refuse('kid', `key id ${JSON.stringify(kid.slice(0, 64))} is not among the issuer's keys`);
  const key = keyFor(jwk, alg as Algorithm);
  if (!key) throw refuse('alg', `key ${JSON.stringify(kid.slice(0, 64))} cannot verify ${alg}`);
  const spec = ALGORITHMS[alg as Algorithm];
  if (spec.size > 0 && decoded.signature.length !== spec.size) throw refuse('signature', 'the signature has the wrong length');
  let ok: boolean;
  try {
    ok = verify(spec.hash, decoded.signingInput, spec.kty === 'EC' ? { key, dsaEncoding: 'ieee-p1363' } : key, decoded.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw refuse('signature', 'the signature does not verify with the issuer\'s key');

  const c = decoded.claims;
  if (c['iss'] !== rule.issuer) throw refuse('issuer', `issuer ${JSON.stringify(String(c['iss']).slice(0, 200))} is not ${rule.issuer}`);
  const aud = c['aud'];
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
  if (!audiences.includes(rule.audience)) throw refuse('audience', `the token is not for audience ${rule.audience}`);
  const now = nowMs / 1000;
  const exp = c['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw refuse('expired', 'the token has no expiry (exp)');
  if (now > exp + CLOCK_SKEW_SECONDS) throw refuse('expired', 'the token has expired');
  if (exp > now + MAX_ID_TOKEN_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) throw refuse('lifetime', `the token claims to be valid for more than ${MAX_ID_TOKEN_LIFETIME_SECONDS / 3600} h`);
  const nbf = c['nbf'];
  if (nbf !== undefined && (typeof nbf !== 'number' || now + CLOCK_SKEW_SECONDS < nbf)) throw refuse('not-yet-valid', 'the token is not valid yet (nbf)');
  const iat = c['iat'];
  if (iat !== undefined && (typeof iat !== 'number' || now + CLOCK_SKEW_SECONDS < iat)) throw refuse('not-yet-valid', 'the token was issued in the future (iat)');
  const used: Record<string, string> = { iss: rule.issuer, aud: rule.audience };
  if (typeof c['sub'] === 'string') used['sub'] = c['sub'].slice(0, 256);
  for (const [name, allowed] of Object.entries(rule.claims)) {
    const value = c[name];
    if (typeof value !== 'string' || !allowed.includes(value)) throw refuse('claims', `claim ${name} is ${value === undefined ? 'missing' : JSON.stringify(String(value).slice(0, 200))}, not ${allowed.map((a) => JSON.stringify(a)).join(' or ')}`);
    used[name] = value;
  }
  const jti = c['jti'];
  const replayKey = typeof jti === 'string' && jti !== '' ? `jti:${createHash('sha256').update(`${rule.issuer}\n${jti}`).digest('hex')}` : `tok:${createHash('sha256').update(token).digest('hex')}`;
  return { claims: c, expiresAt: exp * 1000, replayKey, used };
}

// --------------------------------------------------------------------------------------------------
// JWKS: fetched from discovery and cached, or pinned

export interface JwksOptions {
  /** Allow plain HTTP to loopback issuers (tests only). */
  allowInsecureLoopback?: boolean;
  /** Whole fetch (discovery + keys), in ms. */
  timeoutMs?: number;
  /** How long fetched keys are used before fetching again. */
  ttlMs?: number;
  /** Issuers kept at most (the oldest dropped first). */
  maxEntries?: number;
  /** A forced refresh (unknown kid) happens at most this often per issuer. */
  minRefreshMs?: number;
  now?: () => number;
}

const MAX_JWKS_BYTES = 256 * 1024;
const MAX_KEYS = 100;

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Checks an issuer or JWKS URL: HTTPS, or HTTP to loopback when allowed; no credentials, no fragment. */
export function checkOidcUrl(text: string, allowInsecureLoopback: boolean, what = 'issuer'): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CustodyError('REQUEST_INVALID', `${what} ${JSON.stringify(text.slice(0, 200))} is not a URL`);
  }
  const insecureOk = allowInsecureLoopback && url.protocol === 'http:' && isLoopback(url.hostname);
  if (url.protocol !== 'https:' && !insecureOk) throw new CustodyError('REQUEST_INVALID', `${what} must be an https:// URL${allowInsecureLoopback ? ' (or http:// to loopback)' : ''}`);
  if (url.username !== '' || url.password !== '' || url.hash !== '') throw new CustodyError('REQUEST_INVALID', `${what} must not hold credentials or a fragment`);
  return url;
}

/** Parses a JWKS document into its keys (public, at most 100); OIDC_REFUSED(jwks) when malformed. */
export function parseJwks(text: string): Record<string, unknown>[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw refuse('jwks', 'the key set is not JSON');
  }
  const keys = isRecord(value) ? value['keys'] : undefined;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_KEYS || !keys.every(isRecord)) throw refuse('jwks', `a key set is {"keys": [1 to ${MAX_KEYS} JWKs]}`);
  return keys as Record<string, unknown>[];
}

async function fetchBounded(url: URL, deadline: number): Promise<string> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) throw refuse('jwks', 'timed out fetching the issuer\'s keys');
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(remaining), headers: { accept: 'application/json' } });
  } catch (error) {
    throw refuse('jwks', `cannot fetch ${url.origin}${url.pathname}: ${(error as Error).name === 'TimeoutError' ? 'timed out' : ((error as Error).message ?? 'failed')}`);
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw refuse('jwks', `${url.origin}${url.pathname} answered HTTP ${response.status}`);
  }
  const reader = response.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const next = reader ? await reader.read().catch(() => ({ done: true as const, value: undefined, failed: true })) : { done: true as const, value: undefined };
    if ('failed' in next) throw refuse('jwks', `reading ${url.origin}${url.pathname} failed or timed out`);
    if (next.done) break;
    size += next.value.length;
    if (size > MAX_JWKS_BYTES) {
      await reader?.cancel().catch(() => undefined);
      throw refuse('jwks', `${url.origin}${url.pathname} answered more than ${MAX_JWKS_BYTES} bytes`);
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface CacheEntry {
  keys: Record<string, unknown>[];
  fetchedAt: number;
  refreshedAt: number;
}

/**
 * The issuers' keys: discovery document → jwks_uri → keys, over HTTPS with one timeout for the
 * whole fetch and a size bound, never following redirects; cached per issuer for `ttlMs`, at most
 * `maxEntries` issuers, concurrent fetches of one issuer shared. A fetch can never hang a request.
 */
export class JwksCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  private readonly options: Required<JwksOptions>;

  constructor(options: JwksOptions = {}) {
    this.options = { allowInsecureLoopback: false, timeoutMs: 5000, ttlMs: 10 * 60_000, maxEntries: 100, minRefreshMs: 30_000, now: Date.now, ...options };
  }

  get allowInsecureLoopback(): boolean {
    return this.options.allowInsecureLoopback;
  }

  private async load(issuer: string): Promise<CacheEntry> {
    const deadline = Date.now() + this.options.timeoutMs;
    const base = checkOidcUrl(issuer, this.options.allowInsecureLoopback);
    const discovery = new URL(`${base.href.replace(/\/+$/, '')}/.well-known/openid-configuration`);
    let doc: unknown;
    try {
      doc = JSON.parse(await fetchBounded(discovery, deadline));
    } catch (error) {
      if (error instanceof CustodyError) throw error;
      throw refuse('jwks', 'the discovery document is not JSON');
    }
    if (!isRecord(doc) || doc['issuer'] !== issuer || typeof doc['jwks_uri'] !== 'string') throw refuse('jwks', 'the discovery document does not name this issuer and a jwks_uri');
    let jwksUrl: URL;
    try {
      jwksUrl = checkOidcUrl(doc['jwks_uri'], this.options.allowInsecureLoopback, 'jwks_uri');
    } catch (error) {
      throw refuse('jwks', (error as Error).message);
    }
    const keys = parseJwks(await fetchBounded(jwksUrl, deadline));
    const now = this.options.now();
    return { keys, fetchedAt: now, refreshedAt: now };
  }

  /** The issuer's keys; `refresh` fetches again (at most once per minRefreshMs) when a kid was unknown. */
  async keys(issuer: string, refresh = false): Promise<Record<string, unknown>[]> {
    const now = this.options.now();
    const cached = this.entries.get(issuer);
    const fresh = cached !== undefined && now - cached.fetchedAt < this.options.ttlMs;
    const mayRefresh = cached === undefined || now - cached.refreshedAt >= this.options.minRefreshMs;
    if (cached && fresh && (!refresh || !mayRefresh)) return cached.keys;
    let pending = this.inflight.get(issuer);
    if (!pending) {
      pending = this.load(issuer).finally(() => this.inflight.delete(issuer));
      this.inflight.set(issuer, pending);
    }
    const entry = await pending;
    this.entries.delete(issuer);
    while (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(issuer, entry);
    return entry.keys;
  }

  /** Number of issuers cached (tests). */
  get size(): number {
    return this.entries.size;
  }
}
