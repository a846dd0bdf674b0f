/**
 * Token buckets keyed by a string (an IP address, a token id). Each key holds `burst` requests and
 * refills at `perSecond`. Keys are kept in insertion order and the oldest are dropped past `maxKeys`,
 * so a flood of distinct keys cannot grow memory without bound.
 */
export interface RateLimit {
  /** Sustained rate; 0 switches the limit off. */
  perSecond: number;
  burst: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one request from the key's bucket; returns the seconds to wait when it is empty. */
  take(key: string): { ok: true } | { ok: false; retryAfterSeconds: number } {
    if (this.limit.perSecond <= 0) return { ok: true };
    const now = this.now();
    const bucket = this.buckets.get(key);
    let tokens = this.limit.burst;
    if (bucket) {
      tokens = Math.min(this.limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limit.perSecond);
      this.buckets.delete(key);
    } else if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / this.limit.perSecond)) };
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    return { ok: true };
  }
}

/** Parses `N/s`, `N/m` or `N/h` (burst N) into a limit; `0` or `off` switches it off. */
export function parseRateLimit(text: string): RateLimit | undefined {
  if (text === '0' || text === 'off') return { perSecond: 0, burst: 0 };
  const m = /^([1-9][0-9]{0,6})\/(s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const seconds = m[2] === 's' ? 1 : m[2] === 'm' ? 60 : 3600;
  return { perSecond: n / seconds, burst: n };
}
