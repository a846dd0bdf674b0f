import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RegistryClient } from '../../client/http.js';
import { checkLog } from '../../client/log-check.js';
import { configDir, StateFile } from '../../client/state.js';
import { CustodyError } from '../../core/errors.js';
import { readRegularFile } from '../../core/safe-fs.js';
import { MAX_ID_TOKEN_BYTES } from '../../registry/oidc.js';
import { ROLES, SCOPABLE_ACTIONS } from '../../registry/authz.js';
import type { TokenView } from '../../registry/registry.js';
import type { TokenReport } from '../../registry/hygiene.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';
import { checkFormat, CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, openSession, parseTtl, printJson, readSecretInput, runClientCommand } from './registry-client.js';

type TokenOut = TokenView;

const LOGIN_USAGE = `Usage: custody login --url URL --account NAME [--password-stdin] [--ttl 12h] [--project P]

Exchanges an account's password (from standard input with --password-stdin, else $CUSTODY_PASSWORD)
for a token, saves it for this URL in the client's credentials file (mode 0600) and pins the
registry's audit-log key. Later commands use it when CUSTODY_TOKEN is not set.

Options:
  --url URL             The registry (default: $CUSTODY_URL)
  --account NAME        The account to log in as
  --password-stdin      Read the password from standard input
  --ttl DURATION        How long the token lives (default: the server's, 12h; at most its maximum)
  --project P           Scope the token to one project
  --log-key KEY         Pin this audit-log verifier key instead of the one the server shows
  --format FORMAT       text | json (default: text)
  -h, --help            Show this help
`;

export const loginCommand: Command = {
  name: 'login',
  summary: 'Log in to a registry with an account and password; save the token',
  usage: LOGIN_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values } = parseCommandArgs('login', args, {
      url: { type: 'string' },
      account: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      ttl: { type: 'string' },
      project: { type: 'string' },
      'log-key': { type: 'string' },
      format: { type: 'string', default: 'text' },
    });
    const json = checkFormat('login', values.format);
    const url = values.url ?? io.env['CUSTODY_URL'];
    if (!url) throw new CustodyError('USAGE', 'login: --url URL (or CUSTODY_URL) is required');
    if (values.account === undefined) throw new CustodyError('USAGE', 'login: --account NAME is required');
    const password = await readSecretInput('login', io, 'password', values['password-stdin'], 'CUSTODY_PASSWORD');
    if (password === undefined) throw new CustodyError('USAGE', 'login: give the password on standard input with --password-stdin, or in $CUSTODY_PASSWORD');
    const ttlSeconds = parseTtl('login', values.ttl);
    return runClientCommand('login', io, values.format, async () => {
      const anonymous = new RegistryClient(url);
      const issued = await anonymous.json<TokenOut & { token: string }>('POST', '/v1/login', {
        body: { account: values.account, password, ...(ttlSeconds === undefined ? {} : { ttlSeconds }), ...(values.project === undefined ? {} : { project: values.project }) },
      });
      const state = new StateFile(configDir(io.env));
      const client = new RegistryClient(url, issued.token);
      await checkLog(client, state, values['log-key'] === undefined ? {} : { logKey: values['log-key'] });
      const saved = await state.writeToken(client.url, issued.token, issued.expiresAt);
      if (json) printJson(io, { account: issued.account, tokenId: issued.id, expiresAt: issued.expiresAt, credentials: saved });
      else io.stderr.write(`logged in to ${client.url} as ${issued.account}; token ${issued.id} saved to ${saved} (expires ${issued.expiresAt})\n`);
      return EXIT.ok;
    });
  },
};

const TOKEN_USAGE = `Usage: custody token create --account NAME [--project P] [--actions A,B] [--ttl 1h] [--description TEXT]
       custody token list [--account NAME]
       custody token revoke ID
       custody token report [--unused-days 30] [--max-lifetime-days 7]
       custody token exchange --project P (--id-token-file FILE | --id-token-env VAR) [--account NAME]

create   Issues a token and prints it once, on standard output alone (the server keeps only its
         hash). Service accounts' tokens live 1 hour unless --ttl says otherwise; no token outlives
         the server's maximum. --project scopes it to one project, --actions to a set of actions:
         ${SCOPABLE_ACTIONS.join(', ')}.
list     Your tokens (or an account's, or with a server admin's token all of them): id, scope,
         expiry, last use. Never the tokens themselves.
revoke   Revokes a token by its id (tok-…); it stops working at once.
report   Credential hygiene (server admins): live tokens unused for N days, long-lived tokens,
         broad tokens (every project or every action), tokens of disabled accounts, service
         accounts holding rights they never use. Exit 1 when anything is reported.
exchange Workload identity: trades an OIDC ID token (GitHub Actions, GitLab CI, Kubernetes) for a
         registry token of the project's trusted rule, living at most 15 minutes; prints it alone.
         No registry token is needed. See docs/governance.md.

${CLIENT_OPTIONS_HELP}
`;

function describeToken(t: TokenOut): string {
  const state = t.revokedAt ? `revoked ${t.revokedAt}` : Date.parse(t.expiresAt) <= Date.now() ? `expired ${t.expiresAt}` : `expires ${t.expiresAt}`;
  return `${t.id}  ${t.account}  project=${t.project ?? '*'}  actions=${t.actions?.join(',') ?? '*'}  ${state}  last used ${t.lastUsedAt ?? 'never'}${t.description ? `  (${t.description})` : ''}`;
}

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Create, list or revoke registry API tokens; the credential hygiene report; exchange a workload OIDC token',
  usage: TOKEN_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    const { values, positionals } = parseCommandArgs(`token ${sub ?? ''}`.trim(), rest, {
      ...CLIENT_OPTIONS,
      account: { type: 'string' },
      project: { type: 'string' },
      actions: { type: 'string' },
      ttl: { type: 'string' },
      description: { type: 'string' },
      'unused-days': { type: 'string' },
      'max-lifetime-days': { type: 'string' },
      'id-token-file': { type: 'string' },
      'id-token-env': { type: 'string' },
    });
    if (sub !== 'create' && sub !== 'list' && sub !== 'revoke' && sub !== 'report' && sub !== 'exchange') throw new CustodyError('USAGE', `token: unknown subcommand "${sub ?? ''}"; expected create, list, revoke, report or exchange`);
    if (sub === 'exchange') return exchangeToken(values, io);
    return runClientCommand(`token ${sub}`, io, values.format, async () => {
      const { client, json } = await openSession(`token ${sub}`, io, values);
      if (sub === 'report') {
        const days = (flag: string, v: string | undefined): string | undefined => {
          if (v !== undefined && !/^[0-9]{1,5}$/.test(v)) throw new CustodyError('USAGE', `token report: ${flag} is a number of days`);
          return v;
        };
        const report = await client.json<TokenReport>('GET', '/v1/tokens/report', { query: { unusedDays: days('--unused-days', values['unused-days']), maxLifetimeDays: days('--max-lifetime-days', values['max-lifetime-days']) } });
        if (json) printJson(io, report);
        else io.stdout.write(describeReport(report));
        return report.summary.findings > 0 ? EXIT.findings : EXIT.ok;
      }
      if (sub === 'create') {
        if (values.account === undefined) throw new CustodyError('USAGE', 'token create: --account NAME is required');
        const ttlSeconds = parseTtl('token create', values.ttl);
        const actions = values.actions === undefined ? undefined : values.actions.split(',').map((a) => a.trim()).filter((a) => a !== '');
        const issued = await client.json<TokenOut & { token: string }>('POST', '/v1/tokens', {
          body: {
            account: values.account,
            ...(values.project === undefined ? {} : { project: values.project }),
            ...(actions === undefined ? {} : { actions }),
            ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
            ...(values.description === undefined ? {} : { description: values.description }),
          },
        });
        if (json) printJson(io, issued);
        else {
          io.stdout.write(`${issued.token}\n`);
          io.stderr.write(`token ${issued.id} for ${issued.account} (project ${issued.project ?? '*'}, actions ${issued.actions?.join(',') ?? '*'}) expires ${issued.expiresAt}; it is shown only now\n`);
        }
        return EXIT.ok;
      }
      if (sub === 'list') {
        const { tokens } = await client.json<{ tokens: TokenOut[] }>('GET', '/v1/tokens', { query: { account: values.account } });
        if (json) printJson(io, { tokens });
        else io.stdout.write(tokens.map((t) => `${describeToken(t)}\n`).join('') || 'no tokens\n');
        return EXIT.ok;
      }
      const id = positionals[0];
      if (id === undefined || positionals.length !== 1) throw new CustodyError('USAGE', 'token revoke: give exactly one token ID (tok-…; see `custody token list`)');
      const revoked = await client.json<TokenOut>('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
      if (json) printJson(io, revoked);
      else io.stdout.write(`revoked ${revoked.id} (${revoked.account})\n`);
      return EXIT.ok;
    });
  },
};

const ACCOUNT_USAGE = `Usage: custody account create NAME [--service] [--password-stdin] [--server-admin]
       custody account list
       custody account disable NAME

create   Creates a user (who logs in with a password: from standard input with --password-stdin, or
         $CUSTODY_NEW_PASSWORD; at least 12 characters) or, with --service, a service account (no
         password: it uses tokens from \`custody token create\`). Server admins only.
list     Lists accounts. Server admins only.
disable  Disables an account: its tokens stop working at once (\`custody token report\` lists the
         tokens left to revoke). Server admins only.

${CLIENT_OPTIONS_HELP}
`;

export const accountCommand: Command = {
  name: 'account',
  summary: 'Create or list registry accounts (users and service accounts)',
  usage: ACCOUNT_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    const { values, positionals } = parseCommandArgs(`account ${sub ?? ''}`.trim(), rest, {
      ...CLIENT_OPTIONS,
      service: { type: 'boolean', default: false },
      'password-stdin': { type: 'boolean', default: false },
      'server-admin': { type: 'boolean', default: false },
    });
    if (sub !== 'create' && sub !== 'list' && sub !== 'disable') throw new CustodyError('USAGE', `account: unknown subcommand "${sub ?? ''}"; expected create, list or disable`);
    const password = sub === 'create' && !values.service ? await readSecretInput('account create', io, 'password', values['password-stdin'], 'CUSTODY_NEW_PASSWORD') : undefined;
    return runClientCommand(`account ${sub}`, io, values.format, async () => {
      const { client, json } = await openSession(`account ${sub}`, io, values);
      if (sub === 'list') {
        const { accounts } = await client.json<{ accounts: { name: string; kind: string; serverAdmin: boolean; createdAt: string }[] }>('GET', '/v1/accounts');
        if (json) printJson(io, { accounts });
        else io.stdout.write(accounts.map((a) => `${a.name}  ${a.kind}${a.serverAdmin ? '  server-admin' : ''}  created ${a.createdAt}\n`).join(''));
        return EXIT.ok;
      }
      const name = positionals[0];
      if (name === undefined || positionals.length !== 1) throw new CustodyError('USAGE', `account ${sub}: give exactly one account NAME`);
      if (sub === 'disable') {
        const disabled = await client.json<{ name: string; disabledAt: string }>('POST', `/v1/accounts/${encodeURIComponent(name)}/disable`);
        if (json) printJson(io, disabled);
        else io.stdout.write(`disabled account ${disabled.name} (${disabled.disabledAt}); its tokens no longer work\n`);
        return EXIT.ok;
      }
      const created = await client.json<{ name: string; kind: string }>('POST', '/v1/accounts', {
        body: { name, kind: values.service ? 'service' : 'user', ...(password === undefined ? {} : { password }), ...(values['server-admin'] ? { serverAdmin: true } : {}) },
      });
      if (json) printJson(io, created);
      else io.stdout.write(`created ${created.kind} account ${created.name}\n`);
      return EXIT.ok;
    });
  },
};

const PROJECT_USAGE = `Usage: custody project create P
       custody project list
       custody project show P
       custody project trust-key P PUBLIC.pem [--owner ACCOUNT]
       custody project trust-issuer P --issuer URL --audience AUD --account SERVICE --role ROLE
                                     --claim NAME=VALUE... [--jwks FILE] [--ttl 15m]
       custody project issuers P

create     Creates a project (server admins).
list       The projects your token can read, with your role.
show       Members, roles and trusted keys.
trust-key  Adds a public key (PEM, SPKI) whose signatures the project accepts: pushed signatures and
           attestations are verified against these keys, and \`custody pull\` pins them. --owner
           names the account holding the private key: it then counts as a signer, who cannot
           approve what the key signed.
trust-issuer  Lets CI or cluster workloads exchange their OIDC ID tokens for short-lived tokens of a
           service account (\`custody token exchange\`): tokens of ISSUER for audience AUD whose
           claims match every --claim (exact values; repeat a claim for alternatives), e.g.
           --claim repository=org/repo --claim ref=refs/heads/main. Keys are fetched from the
           issuer's discovery document over HTTPS, or pinned with --jwks FILE (offline servers).
issuers    The issuers a project trusts and their rules.

${CLIENT_OPTIONS_HELP}
`;

export const projectCommand: Command = {
  name: 'project',
  summary: 'Create, list and show registry projects; trust signing keys',
  usage: PROJECT_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    const { values, positionals } = parseCommandArgs(`project ${sub ?? ''}`.trim(), rest, {
      ...CLIENT_OPTIONS,
      owner: { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      account: { type: 'string' },
      role: { type: 'string' },
      claim: { type: 'string', multiple: true },
      jwks: { type: 'string' },
      ttl: { type: 'string' },
    });
    if (sub !== 'create' && sub !== 'list' && sub !== 'show' && sub !== 'trust-key' && sub !== 'trust-issuer' && sub !== 'issuers') throw new CustodyError('USAGE', `project: unknown subcommand "${sub ?? ''}"; expected create, list, show, trust-key, trust-issuer or issuers`);
    if (sub === 'trust-issuer' || sub === 'issuers') return issuerCommand(sub, values, positionals, io);
    const want = sub === 'list' ? 0 : sub === 'trust-key' ? 2 : 1;
    if (positionals.length !== want) throw new CustodyError('USAGE', `project ${sub}: expected ${want} argument(s) (see \`custody project --help\`)`);
    const pem = sub === 'trust-key' ? await readFile(resolve(io.cwd, positionals[1] ?? ''), 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new CustodyError('KEY_INVALID', `cannot read ${positionals[1] ?? ''}: ${error.code ?? error.message}`);
    }) : undefined;
    return runClientCommand(`project ${sub}`, io, values.format, async () => {
      const { client, json } = await openSession(`project ${sub}`, io, values);
      const name = positionals[0] ?? '';
      if (sub === 'create') {
        const created = await client.json<{ name: string }>('POST', '/v1/projects', { body: { name } });
        if (json) printJson(io, created);
        else io.stdout.write(`created project ${created.name}\n`);
      } else if (sub === 'list') {
        const { projects } = await client.json<{ projects: { name: string; role: string | null }[] }>('GET', '/v1/projects');
        if (json) printJson(io, { projects });
        else io.stdout.write(projects.map((p) => `${p.name}  ${p.role ?? ''}\n`).join('') || 'no projects\n');
      } else if (sub === 'show') {
        const project = await client.json<{ name: string; members: { account: string; kind: string; role: string; models: string[] | null }[]; keys: { hint: string; keyType: string }[] }>('GET', `/v1/projects/${encodeURIComponent(name)}`);
        if (json) printJson(io, project);
        else {
          io.stdout.write(`project ${project.name}\n  members:\n${project.members.map((m) => `    ${m.account} (${m.kind})  ${m.role}${m.models ? ` [${m.models.join(', ')}]` : ''}\n`).join('') || '    none\n'}`);
          io.stdout.write(`  trusted keys:\n${project.keys.map((k) => `    ${k.keyType} ${k.hint}\n`).join('') || '    none\n'}`);
        }
      } else {
        const added = await client.json<{ hint: string; keyType: string; added: boolean }>('POST', `/v1/projects/${encodeURIComponent(name)}/keys`, { body: { pem, ...(values.owner === undefined ? {} : { owner: values.owner }) } });
        if (json) printJson(io, added);
        else io.stdout.write(`${added.added ? 'trusted' : 'already trusted'}: ${added.keyType} key ${added.hint} in project ${name}\n`);
      }
      return EXIT.ok;
    });
  },
};

const GRANT_USAGE = `Usage: custody grant P ACCOUNT ROLE [--models NAME,NAME]

Gives ACCOUNT a role in project P (project admins and server admins): ${ROLES.join(', ')},
or none to remove it. A trainer is a service account that may push model versions (only the
models named with --models, when given) and nothing else.

${CLIENT_OPTIONS_HELP}
`;

export const grantCommand: Command = {
  name: 'grant',
  summary: 'Give an account a role in a registry project',
  usage: GRANT_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('grant', args, { ...CLIENT_OPTIONS, models: { type: 'string' } });
    if (positionals.length !== 3) throw new CustodyError('USAGE', 'grant: expected P ACCOUNT ROLE (see `custody grant --help`)');
    const [project = '', account = '', role = ''] = positionals;
    const models = values.models === undefined ? undefined : values.models.split(',').map((m) => m.trim()).filter((m) => m !== '');
    return runClientCommand('grant', io, values.format, async () => {
      const { client, json } = await openSession('grant', io, values);
      const granted = await client.json<{ project: string; account: string; role: string; models: string[] | null }>('PUT', `/v1/projects/${encodeURIComponent(project)}/members/${encodeURIComponent(account)}`, {
        body: { role, ...(models === undefined ? {} : { models }) },
      });
      if (json) printJson(io, granted);
      else io.stdout.write(granted.role === 'none' ? `removed ${granted.account} from ${granted.project}\n` : `${granted.account} is ${granted.role} in ${granted.project}${granted.models ? ` (models ${granted.models.join(', ')})` : ''}\n`);
      return EXIT.ok;
    });
  },
};

function describeReport(r: TokenReport): string {
  const lines = [`credential hygiene (${r.generatedAt}): ${r.summary.liveTokens} live token(s), ${r.summary.findings} finding(s)`];
  const section = (title: string, list: TokenReport['unused']): void => {
    if (list.length === 0) return;
    lines.push(`${title}:`);
    for (const t of list) lines.push(`  ${t.id}  ${t.account}  project=${t.project ?? '*'}  actions=${t.actions?.join(',') ?? '*'}  ${t.why}`);
  };
  section(`unused for ${r.options.unusedDays}+ days`, r.unused);
  section(`living longer than ${r.options.maxLifetimeDays} days`, r.longLived);
  section('broad (every project or every action)', r.broad);
  section('of disabled accounts (revoke them)', r.disabledAccounts);
  if (r.unusedRights.length > 0) {
    lines.push(`service accounts with rights unused for ${r.options.unusedDays}+ days:`);
    for (const u of r.unusedRights) lines.push(`  ${u.account} in ${u.project} (${u.role}): never uses ${u.unusedActions.join(', ')}${u.lastUsedAt ? `; last active ${u.lastUsedAt}` : '; never active'}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A small input file (an ID token, a JWKS): regular files only (SPECIAL_FILE otherwise), at most maxBytes (INPUT_LIMIT). */
async function readSmallFile(command: string, io: CliIo, file: string, maxBytes: number): Promise<string> {
  try {
    return (await readRegularFile(resolve(io.cwd, file), { maxBytes })).toString('utf8');
  } catch (error) {
    if (error instanceof CustodyError) throw error;
    throw new CustodyError('IO_ERROR', `${command}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

async function exchangeToken(values: { project?: string | undefined; account?: string | undefined; 'id-token-file'?: string | undefined; 'id-token-env'?: string | undefined; url?: string | undefined; format?: string | undefined; 'log-key'?: string | undefined }, io: CliIo): Promise<number> {
  if (values.project === undefined) throw new CustodyError('USAGE', 'token exchange: --project P is required');
  if ((values['id-token-file'] === undefined) === (values['id-token-env'] === undefined)) throw new CustodyError('USAGE', 'token exchange: give the ID token with exactly one of --id-token-file FILE or --id-token-env VAR');
  let idToken: string | undefined;
  if (values['id-token-file'] !== undefined) {
    idToken = (await readSmallFile('token exchange', io, values['id-token-file'], MAX_ID_TOKEN_BYTES + 2)).trim();
  } else idToken = io.env[values['id-token-env'] ?? '']?.trim();
  if (!idToken) throw new CustodyError('USAGE', 'token exchange: the ID token is empty');
  return runClientCommand('token exchange', io, values.format, async () => {
    const { client, json, state } = await openSession('token exchange', io, { url: values.url, format: values.format, 'log-key': values['log-key'] }, { needToken: false, checkLog: false });
    const issued = await client.json<TokenOut & { token: string }>('POST', '/v1/auth/oidc', { body: { project: values.project, token: idToken, ...(values.account === undefined ? {} : { account: values.account }) } });
    // The log check needs a token: done with the one just issued.
    await checkLog(new RegistryClient(client.url, issued.token), state, values['log-key'] === undefined ? {} : { logKey: values['log-key'] });
    if (json) printJson(io, issued);
    else {
      io.stdout.write(`${issued.token}\n`);
      io.stderr.write(`token ${issued.id} for ${issued.account} (project ${issued.project ?? '*'}, actions ${issued.actions?.join(',') ?? '*'}) expires ${issued.expiresAt}\n`);
    }
    return EXIT.ok;
  });
}

async function issuerCommand(sub: 'trust-issuer' | 'issuers', values: { issuer?: string | undefined; audience?: string | undefined; account?: string | undefined; role?: string | undefined; claim?: string[] | undefined; jwks?: string | undefined; ttl?: string | undefined; format?: string | undefined } & Record<string, unknown>, positionals: string[], io: CliIo): Promise<number> {
  if (positionals.length !== 1) throw new CustodyError('USAGE', `project ${sub}: give exactly one project P`);
  const project = positionals[0] ?? '';
  let body: Record<string, unknown> | undefined;
  if (sub === 'trust-issuer') {
    for (const flag of ['issuer', 'audience', 'account', 'role'] as const) if (values[flag] === undefined) throw new CustodyError('USAGE', `project trust-issuer: --${flag} is required`);
    const claims: Record<string, string[]> = {};
    for (const c of values.claim ?? []) {
      const eq = c.indexOf('=');
      if (eq <= 0 || eq === c.length - 1) throw new CustodyError('USAGE', `project trust-issuer: --claim must be NAME=VALUE, found "${c}"`);
      (claims[c.slice(0, eq)] ??= []).push(c.slice(eq + 1));
    }
    if (Object.keys(claims).length === 0) throw new CustodyError('USAGE', 'project trust-issuer: name at least one --claim NAME=VALUE (an issuer alone would trust all of its users)');
    const jwks = values.jwks === undefined ? undefined : await readSmallFile('project trust-issuer', io, values.jwks, 64 * 1024);
    const ttlSeconds = parseTtl('project trust-issuer', values.ttl);
    body = { issuer: values.issuer, audience: values.audience, account: values.account, role: values.role, claims, ...(jwks === undefined ? {} : { jwks }), ...(ttlSeconds === undefined ? {} : { ttlSeconds }) };
  }
  return runClientCommand(`project ${sub}`, io, values.format, async () => {
    const { client, json } = await openSession(`project ${sub}`, io, values as Parameters<typeof openSession>[2]);
    const path = `/v1/projects/${encodeURIComponent(project)}/issuers`;
    if (body) {
      const made = await client.json<{ id: number; issuer: string; account: string; role: string; claims: Record<string, string[]>; pinned: boolean; ttlSeconds: number }>('POST', path, { body });
      if (json) printJson(io, made);
      else io.stdout.write(`project ${project} trusts ${made.issuer} (rule ${made.id}): tokens with ${Object.entries(made.claims).map(([k, v]) => `${k}=${v.join('|')}`).join(', ')} become ${made.account} (${made.role}) for ${made.ttlSeconds} s${made.pinned ? '; keys pinned' : ''}\n`);
      return EXIT.ok;
    }
    const { issuers } = await client.json<{ issuers: { id: number; issuer: string; audience: string; account: string; role: string; claims: Record<string, string[]>; pinned: boolean }[] }>('GET', path);
    if (json) printJson(io, { issuers });
    else io.stdout.write(issuers.map((i) => `${i.id}  ${i.issuer}  aud=${i.audience}  → ${i.account} (${i.role})  ${Object.entries(i.claims).map(([k, v]) => `${k}=${v.join('|')}`).join(' ')}${i.pinned ? '  [pinned keys]' : ''}\n`).join('') || 'no trusted issuers\n');
    return EXIT.ok;
  });
}
