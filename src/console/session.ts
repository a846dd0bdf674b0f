import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Console sessions. A session is a random 256-bit id handed to the browser in an HttpOnly cookie and
 * kept here only as its SHA-256 (a leaked memory dump or log of the map does not yield a cookie). It
 * holds the registry token of the signed-in account — issued by the same login the API has, or the
 * API token the person signed in with — so every page acts with exactly that account's rights: the
 * console has none of its own. A session ends at sign-out, at its absolute expiry (never later than
 * its token's), after an idle period, or as soon as its token stops authenticating (revoked, expired,
 * account disabled). Each session carries its CSRF token, compared in constant time.
 *
 * Sessions live in this process's memory: a restart signs everyone out (the tokens of password
 * sign-ins stay listed until they expire or are revoked). Both maps are bounded; the oldest entries
 * give way, so a flood of sign-in page views cannot grow memory without limit.
 */

export interface Session {
  /** The registry token the session acts with (never shown, never logged). */
  token: string;
  tokenId: string;
  account: string;
  csrf: string;
  createdAt: number;
  expiresAt: number;
  lastSeen: number;
  /** The token was issued for this session (password sign-in): sign-out revokes it. */
  ownsToken: boolean;
  /** One message to show on the next page (after a POST → redirect). */
  flash?: Flash;
}

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
  /** Requirements that failed, when a promotion or approval was refused. */
  lines?: string[];
  /** A secret shown once (a token just created). */
  secret?: string;
}

export interface PreSession {
  csrf: string;
  expiresAt: number;
}

export const SESSION_LIMITS = {
  idleMs: 2 * 3600_000,
  maxSessions: 10_000,
  preSessionMs: 30 * 60_000,
  maxPreSessions: 10_000,
} as const;

export function randomId(): string {
  return randomBytes(32).toString('base64url');
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/** Constant-time comparison of two secrets given as text (false for different lengths). */
export function secretEquals(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) {
    timingSafeEqual(y, y);
    return false;
  }
  return timingSafeEqual(x, y);
}

const ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly pre = new Map<string, PreSession>();

  constructor(private readonly now: () => number = Date.now) {}

  create(input: { token: string; tokenId: string; account: string; expiresAt: number; ownsToken: boolean }): { id: string; session: Session } {
    const id = randomId();
    const now = this.now();
    const session: Session = { ...input, csrf: randomId(), createdAt: now, lastSeen: now };
    while (this.sessions.size >= SESSION_LIMITS.maxSessions) this.dropOldest(this.sessions);
    this.sessions.set(hashId(id), session);
    return { id, session };
  }

  /** The live session of a cookie value (idle time refreshed), or undefined. */
  find(id: string | undefined): Session | undefined {
    if (id === undefined || !ID_SHAPE.test(id)) return undefined;
    const key = hashId(id);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    const now = this.now();
    if (now >= session.expiresAt || now - session.lastSeen >= SESSION_LIMITS.idleMs) {
      this.sessions.delete(key);
      return undefined;
    }
    session.lastSeen = now;
    return session;
  }

  end(id: string | undefined): Session | undefined {
    if (id === undefined || !ID_SHAPE.test(id)) return undefined;
    const key = hashId(id);
    const session = this.sessions.get(key);
    this.sessions.delete(key);
    return session;
  }

  /** Ends every session acting with a token (it was revoked). */
  endByToken(tokenId: string): number {
    let n = 0;
    for (const [key, s] of this.sessions) {
      if (s.tokenId === tokenId) {
        this.sessions.delete(key);
        n += 1;
      }
    }
    return n;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A pre-session: the CSRF token of a sign-in form shown to someone not yet signed in. */
  createPre(): { id: string; pre: PreSession } {
    const id = randomId();
    const pre = { csrf: randomId(), expiresAt: this.now() + SESSION_LIMITS.preSessionMs };
    while (this.pre.size >= SESSION_LIMITS.maxPreSessions) this.dropOldest(this.pre);
    this.pre.set(hashId(id), pre);
    return { id, pre };
  }

  findPre(id: string | undefined): PreSession | undefined {
    if (id === undefined || !ID_SHAPE.test(id)) return undefined;
    const key = hashId(id);
    const pre = this.pre.get(key);
    if (pre && this.now() >= pre.expiresAt) {
      this.pre.delete(key);
      return undefined;
    }
    return pre;
  }

  endPre(id: string | undefined): void {
    if (id !== undefined && ID_SHAPE.test(id)) this.pre.delete(hashId(id));
  }

  private dropOldest<T>(map: Map<string, T>): void {
    const first = map.keys().next();
    if (!first.done) map.delete(first.value);
  }
}

/** Cookies of a request (first value of each name wins; malformed pairs are ignored). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined || header.length > 8192) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

export interface CookieNames {
  session: string;
  pre: string;
}

/** `__Host-` names when the cookie is Secure (the browser then refuses it from any other origin or path). */
export function cookieNames(secure: boolean): CookieNames {
  return secure ? { session: '__Host-custody-session', pre: '__Host-custody-signin' } : { session: 'custody-session', pre: 'custody-signin' };
}

export function setCookie(name: string, value: string, options: { secure: boolean; maxAgeSeconds?: number }): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (options.secure) parts.push('Secure');
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`);
  return parts.join('; ');
}
