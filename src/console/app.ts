import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CustodyError, isCustodyError } from '../core/errors.js';
import { isAnonymous, type Principal } from '../registry/authz.js';
import type { Registry, RequestContext } from '../registry/registry.js';
import type { MetadataStore } from '../store/metadata.js';
import { toErrorResponse } from '../server/errors.js';
import type { AuditService } from '../server/audit-service.js';
import type { AppLimiters } from '../server/app.js';
import { html } from './html.js';
import { page, type Viewer } from './layout.js';
import { registerAdminPages } from './pages/admin.js';
import { registerAuditPage } from './pages/audit.js';
import { registerBrowsePages } from './pages/browse.js';
import { registerSignIn } from './pages/sign-in.js';
import { registerVersionPages } from './pages/version.js';
import { cookieNames, parseCookies, SessionStore, secretEquals, setCookie, type CookieNames, type Flash, type Session } from './session.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A console route: 'public' (sign-in, static files) or 'session' (needs a signed-in session). */
    console?: 'public' | 'session';
  }
}

/**
 * The web console, served by the registry under /console on the same origin as the API. Pages are
 * rendered on the server from TypeScript template functions (src/console/html.ts escapes every value);
 * a few static scripts enhance them (the audit trail's proofs are verified in the browser). Every page
 * and form calls the same domain functions as the API with the signed-in account's own token, so the
 * same authorize() decides and every request lands in the audit log through the app's hook, exactly as
 * an API request does. See docs/console.md.
 */
export interface ConsoleOptions {
  registry: Registry;
  audit: AuditService;
  limiters: AppLimiters;
  /** The metadata store, for the paged version list (without it the full list is read and paged here). */
  store?: MetadataStore;
  /** Mark cookies Secure even when the request came over plain HTTP (TLS ends at a proxy in front). */
  secureCookies?: boolean;
  hide?: readonly string[];
  now?: () => number;
}

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export interface ConsoleState {
  session: Session | undefined;
  sessionId: string | undefined;
  secure: boolean;
}

/** What a page handler gets: the request context (the signed-in account as caller), who it is, the CSRF token. */
export interface PageContext {
  ctx: RequestContext;
  principal: Principal;
  viewer: Viewer;
  session: Session;
  flash: Flash | undefined;
}

export interface ConsoleServices {
  options: ConsoleOptions;
  sessions: SessionStore;
  names: (request: FastifyRequest) => CookieNames;
  state: (request: FastifyRequest) => ConsoleState;
  pageContext: (request: FastifyRequest) => PageContext;
  sendPage: (reply: FastifyReply, body: string, status?: number) => FastifyReply;
  redirect: (reply: FastifyReply, location: string) => FastifyReply;
  /** Sets the message the next page shows. */
  flash: (request: FastifyRequest, flash: Flash) => void;
  cookie: (request: FastifyRequest, name: string, value: string, maxAgeSeconds?: number) => string;
}

const STATIC_TYPES: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml' };
export const STATIC_FILES = ['console.css', 'console.js', 'verify.js', 'icon.svg'] as const;

function loadStatic(): Map<string, { body: Buffer; type: string }> {
  const dir = new URL('./static/', import.meta.url);
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of STATIC_FILES) {
    const ext = name.slice(name.lastIndexOf('.'));
    files.set(name, { body: readFileSync(new URL(name, dir)), type: STATIC_TYPES[ext] ?? 'application/octet-stream' });
  }
  return files;
}

/** Parses an application/x-www-form-urlencoded body: one value per field (a repeated field is refused). */
export function parseForm(body: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(out, key)) throw new CustodyError('REQUEST_INVALID', `form field ${key.slice(0, 40)} is given twice`);
    out[key] = value;
  }
  return out;
}

/** Is this request from our own pages? Origin and Sec-Fetch-Site, when the browser sends them, must say so. */
export function checkSameOrigin(request: FastifyRequest): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `Sec-Fetch-Site is ${String(site).slice(0, 20)}`;
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return 'unreadable Origin';
    }
    if (origin === 'null' || host !== request.headers.host) return 'Origin is another site';
  }
  return undefined;
}

export async function registerConsole(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const sessions = new SessionStore(options.now);
  const states = new WeakMap<FastifyRequest, ConsoleState>();
  const files = loadStatic();
  const secureOf = (request: FastifyRequest): boolean => options.secureCookies === true || request.protocol === 'https';
  const names = (request: FastifyRequest): CookieNames => cookieNames(secureOf(request));
  const state = (request: FastifyRequest): ConsoleState => states.get(request) ?? { session: undefined, sessionId: undefined, secure: secureOf(request) };

  const services: ConsoleServices = {
    options,
    sessions,
    names,
    state,
    pageContext(request) {
      const s = state(request);
      if (!s.session || isAnonymous(request.ctx.caller)) throw new CustodyError('UNAUTHENTICATED', 'sign in first');
      const principal = request.ctx.caller;
      const flash = request.method === 'GET' ? s.session.flash : undefined;
      if (request.method === 'GET') delete s.session.flash;
      return { ctx: request.ctx, principal, viewer: { account: principal.account.name, serverAdmin: principal.account.serverAdmin && principal.token.project === null, csrf: s.session.csrf }, session: s.session, flash };
    },
    sendPage(reply, body, status = 200) {
      return reply.code(status).type('text/html; charset=utf-8').send(body);
    },
    redirect(reply, location) {
      // Only our own paths: a redirect target never comes from elsewhere.
      const safe = location.startsWith('/console/') || location === '/console' ? location : '/console/';
      return reply.code(303).header('location', safe).send();
    },
    flash(request, flash) {
      const s = state(request).session;
      if (s) s.flash = flash;
    },
    cookie(request, name, value, maxAgeSeconds) {
      return setCookie(name, value, { secure: secureOf(request), ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }) });
    },
  };

  app.get('/', { config: { public: true, skipAudit: true, console: 'public' } }, async (_request, reply) => reply.code(303).header('location', '/console/').send());

  await app.register(
    async (scope) => {
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
        try {
          done(null, parseForm(body as string));
        } catch (error) {
          done(error as Error, undefined);
        }
      });

      // Who is signed in: the session cookie, and the registry token it holds must still authenticate.
      scope.addHook('onRequest', async (request, reply) => {
        const config = request.routeOptions.config;
        const cookieName = names(request).session;
        const id = parseCookies(request.headers.cookie).get(cookieName);
        let session = sessions.find(id);
        request.ctx.caller = { anonymous: session ? 'session' : 'no console session' };
        if (session) {
          const caller = await options.registry.authenticate(session.token);
          if (isAnonymous(caller)) {
            sessions.end(id);
            session = undefined;
            request.ctx.caller = { anonymous: `console session ended: ${caller.anonymous}` };
          } else {
            request.ctx.caller = caller;
            const taken = options.limiters.token.take(caller.token.id);
            if (!taken.ok) {
              request.ctx.event.reason = 'rate limited';
              throw new CustodyError('RATE_LIMITED', `too many requests; retry in ${taken.retryAfterSeconds} s`, { details: { retryAfterSeconds: taken.retryAfterSeconds } });
            }
          }
        }
        states.set(request, { session, sessionId: session ? id : undefined, secure: secureOf(request) });
        if (config.console === 'session' && !session) {
          Object.assign(request.ctx.event, { decision: 'deny', reason: (request.ctx.caller as { anonymous: string }).anonymous });
          if (request.method === 'GET') {
            const next = request.url.startsWith('/console/') ? request.url : '/console/';
            return reply.code(303).header('location', `/console/sign-in?next=${encodeURIComponent(next)}`).send();
          }
          throw new CustodyError('UNAUTHENTICATED', 'sign in first (no console session)');
        }
        return undefined;
      });

      // Every POST: from our own origin, carrying the session's (or the sign-in form's) CSRF token.
      scope.addHook('preHandler', async (request) => {
        if (request.method !== 'POST') return;
        const problem = checkSameOrigin(request);
        const body = (request.body ?? {}) as Record<string, string>;
        const s = state(request);
        const expected = request.routeOptions.config.console === 'public' ? sessions.findPre(parseCookies(request.headers.cookie).get(names(request).pre))?.csrf : s.session?.csrf;
        const why = problem ?? (expected === undefined ? 'no form token on record for this browser' : secretEquals(body['_csrf'], expected) ? undefined : 'missing or wrong form token');
        if (why !== undefined) {
          Object.assign(request.ctx.event, { decision: 'deny', reason: `cross-site request refused: ${why}` });
          throw new CustodyError('FORBIDDEN', `this form cannot be accepted (${why}); reload the page and try again`);
        }
      });

      scope.addHook('onSend', async (_request, reply, payload) => {
        reply.header('content-security-policy', CONSOLE_CSP);
        // same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` with our own
        // form posts, and the Origin check below needs the real one. Nothing leaves for other sites.
        reply.header('referrer-policy', 'same-origin');
        return payload;
      });

      scope.setErrorHandler(async (error, request, reply) => {
        const { status, body, internal } = toErrorResponse(error, request.id, options.hide ?? []);
        if (internal) request.log.error({ err: error }, 'console request failed');
        request.ctx.event.error = body.error.code;
        if (status === 401 || status === 403 || status === 429) request.ctx.event.decision = 'deny';
        const retry = (error as CustodyError).details?.['retryAfterSeconds'];
        if (typeof retry === 'number') void reply.header('retry-after', String(retry));
        const s = state(request).session;
        const viewer = s && !isAnonymous(request.ctx.caller) ? { account: request.ctx.caller.account.name, serverAdmin: request.ctx.caller.account.serverAdmin, csrf: s.csrf } : undefined;
        const title = status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : status === 401 ? 'Sign in first' : status === 429 ? 'Too many requests' : status >= 500 ? 'Something went wrong' : 'This request cannot be done';
        const body401 = status === 401 ? html`<p><a href="/console/sign-in">Sign in</a></p>` : '';
        return services.sendPage(reply, page({ title, ...(viewer ? { viewer } : {}), body: html`<p class="error-code">Error <code>${body.error.code}</code></p><p>${body.error.message}</p>${body401}<p><a href="/console/">Back to the projects</a></p>` }), status);
      });

      scope.setNotFoundHandler(async (request, reply) => {
        request.ctx.event.error = 'NOT_FOUND';
        return services.sendPage(reply, page({ title: 'Not found', body: html`<p>There is no such page.</p><p><a href="/console/">Back to the projects</a></p>` }), 404);
      });

      scope.get<{ Params: { file: string } }>('/static/:file', { config: { public: true, skipAudit: true, console: 'public' } }, async (request, reply) => {
        const file = files.get(request.params.file);
        if (!file) throw new CustodyError('NOT_FOUND', 'no such file');
        return reply.type(file.type).header('cache-control', 'no-cache').send(file.body);
      });

      registerSignIn(scope, services);
      registerBrowsePages(scope, services);
      registerVersionPages(scope, services);
      registerAuditPage(scope, services);
      registerAdminPages(scope, services);
    },
    { prefix: '/console' },
  );
}

/** The message of a refused action, with the failed requirements it names (POLICY_UNMET). */
export function refusalFlash(error: unknown, what: string): Flash {
  if (!isCustodyError(error)) throw error;
  const lines: string[] = [];
  const evaluation = error.details?.['evaluation'] as { evaluations?: unknown } | undefined;
  if (evaluation && Array.isArray(evaluation.evaluations)) {
    for (const e of evaluation.evaluations as { target?: string; requirements?: { id: string; passed: boolean; reason: string }[] }[]) {
      for (const r of e.requirements ?? []) if (!r.passed) lines.push(`${e.target ?? ''} ${r.id}: ${r.reason}`.trim());
    }
  }
  return { kind: 'error', text: `${what} refused (${error.code}): ${error.message}`, ...(lines.length > 0 ? { lines } : {}) };
}
