import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import { isAnonymous } from '../../registry/authz.js';
import type { ConsoleServices } from '../app.js';
import { html } from '../html.js';
import { csrfField, page } from '../layout.js';
import { parseCookies } from '../session.js';

/** Where to go after signing in: only a path of the console itself. */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2048) return '/console/';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (!next.startsWith('/console/') || next.includes('\\') || next.includes('//') || /[\u0000-\u001f]/.test(next)) return '/console/';
  return next;
}

function signInPage(csrf: string, next: string, error?: string): string {
  return page({
    title: 'Sign in',
    body: html`${error ? html`<div class="flash error" role="alert"><p>${error}</p></div>` : ''}
<div class="cards">
<form class="card" method="post" action="/console/sign-in">
<h2>With your account</h2>
${csrfField(csrf)}<input type="hidden" name="method" value="password"><input type="hidden" name="next" value="${next}">
<p><label for="account">Account name</label><br><input id="account" name="account" autocomplete="username" required maxlength="64" autofocus></p>
<p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"></p>
<p><button type="submit">Sign in</button></p>
</form>
<form class="card" method="post" action="/console/sign-in">
<h2>With an API token</h2>
${csrfField(csrf)}<input type="hidden" name="method" value="token"><input type="hidden" name="next" value="${next}">
<p><label for="token">Token</label><br><input id="token" name="token" type="password" autocomplete="off" required maxlength="512"></p>
<p class="hint">The console then acts with exactly that token's account, project scope and actions.</p>
<p><button type="submit">Sign in with token</button></p>
</form>
</div>`,
  });
}

export function registerSignIn(scope: FastifyInstance, s: ConsoleServices): void {
  const { registry, limiters } = s.options;

  const showForm = (request: FastifyRequest, reply: Parameters<ConsoleServices['sendPage']>[0], next: string, error?: string, status = 200) => {
    const names = s.names(request);
    let pre = s.sessions.findPre(parseCookies(request.headers.cookie).get(names.pre));
    if (!pre) {
      const created = s.sessions.createPre();
      pre = created.pre;
      void reply.header('set-cookie', s.cookie(request, names.pre, created.id, 1800));
    }
    return s.sendPage(reply, signInPage(pre.csrf, next, error), status);
  };

  scope.get<{ Querystring: { next?: string } }>('/sign-in', { config: { public: true, console: 'public', action: 'session.login' } }, async (request, reply) => {
    if (s.state(request).session) return s.redirect(reply, safeNext(request.query.next));
    return showForm(request, reply, safeNext(request.query.next));
  });

  scope.post<{ Body: Record<string, string> }>('/sign-in', { config: { public: true, console: 'public', action: 'session.login' } }, async (request, reply) => {
    const body = request.body ?? {};
    const next = safeNext(body['next']);
    const names = s.names(request);
    for (const key of [`ip:${request.ip}`, ...(body['account'] ? [`account:${body['account'].slice(0, 64)}`] : [])]) {
      const taken = limiters.login.take(key);
      if (!taken.ok) {
        Object.assign(request.ctx.event, { decision: 'deny', reason: 'too many login attempts' });
        throw new CustodyError('RATE_LIMITED', `too many sign-in attempts; retry in ${taken.retryAfterSeconds} s`, { details: { retryAfterSeconds: taken.retryAfterSeconds } });
      }
    }
    let token: string;
    let tokenId: string;
    let account: string;
    let expiresAt: number;
    let ownsToken: boolean;
    try {
      if (body['method'] === 'token') {
        const caller = await registry.authenticate(String(body['token'] ?? '').trim());
        if (isAnonymous(caller)) {
          Object.assign(request.ctx.event, { decision: 'deny', reason: caller.anonymous });
          throw new CustodyError('UNAUTHENTICATED', `that token cannot sign in (${caller.anonymous})`);
        }
        request.ctx.caller = caller;
        Object.assign(request.ctx.event, { decision: 'allow', reason: 'console sign-in with an API token', subject: caller.account.name, tokenId: caller.token.id });
        token = String(body['token']).trim();
        tokenId = caller.token.id;
        account = caller.account.name;
        expiresAt = caller.token.expiresAt;
        ownsToken = false;
      } else {
        const issued = await registry.login(request.ctx, { account: String(body['account'] ?? ''), password: String(body['password'] ?? '') });
        token = issued.token;
        tokenId = issued.id;
        account = issued.account;
        expiresAt = Date.parse(issued.expiresAt);
        ownsToken = true;
        request.ctx.event.reason = 'console sign-in with a password';
      }
    } catch (error) {
      if (isCustodyError(error) && (error.code === 'UNAUTHENTICATED' || error.code === 'NAME_INVALID' || error.code === 'REQUEST_INVALID' || error.code === 'NOT_FOUND')) {
        request.ctx.event.error = error.code;
        request.ctx.event.decision = 'deny';
        return showForm(request, reply, next, 'Those credentials do not sign in. Check the account name and password, or the token.', 401);
      }
      throw error;
    }
    const created = s.sessions.create({ token, tokenId, account, expiresAt, ownsToken });
    s.sessions.endPre(parseCookies(request.headers.cookie).get(names.pre));
    void reply.header('set-cookie', [s.cookie(request, names.session, created.id, (expiresAt - Date.now()) / 1000), s.cookie(request, names.pre, '', 0)]);
    return s.redirect(reply, next);
  });

  scope.post('/sign-out', { config: { public: true, console: 'session', action: 'session.whoami' } }, async (request, reply) => {
    const st = s.state(request);
    const names = s.names(request);
    const ended = s.sessions.end(st.sessionId);
    request.ctx.event.reason = 'console sign-out';
    if (ended?.ownsToken) await registry.revokeToken(request.ctx, ended.tokenId);
    void reply.header('set-cookie', s.cookie(request, names.session, '', 0));
    return reply.code(303).header('location', '/console/sign-in').send();
  });
}
