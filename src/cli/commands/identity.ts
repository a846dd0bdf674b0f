import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RegistryClient } from '../../client/http.js';
import { checkLog } from '../../client/log-check.js';
import { configDir, StateFile } from '../../client/state.js';
import { CustodyError } from '../../core/errors.js';
import { ROLES, SCOPABLE_ACTIONS } from '../../registry/authz.js';
import type { TokenView } from '../../registry/registry.js';
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

create   Issues a token and prints it once, on standard output alone (the server keeps only its
         hash). Service accounts' tokens live 1 hour unless --ttl says otherwise; no token outlives
         the server's maximum. --project scopes it to one project, --actions to a set of actions:
         ${SCOPABLE_ACTIONS.join(', ')}.
list     Your tokens (or an account's, or with a server admin's token all of them): id, scope,
         expiry, last use. Never the tokens themselves.
revoke   Revokes a token by its id (tok-…); it stops working at once.

${CLIENT_OPTIONS_HELP}
`;

function describeToken(t: TokenOut): string {
  const state = t.revokedAt ? `revoked ${t.revokedAt}` : Date.parse(t.expiresAt) <= Date.now() ? `expired ${t.expiresAt}` : `expires ${t.expiresAt}`;
  return `${t.id}  ${t.account}  project=${t.project ?? '*'}  actions=${t.actions?.join(',') ?? '*'}  ${state}  last used ${t.lastUsedAt ?? 'never'}${t.description ? `  (${t.description})` : ''}`;
}

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Create, list or revoke registry API tokens',
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
    });
    if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') throw new CustodyError('USAGE', `token: unknown subcommand "${sub ?? ''}"; expected create, list or revoke`);
    return runClientCommand(`token ${sub}`, io, values.format, async () => {
      const { client, json } = await openSession(`token ${sub}`, io, values);
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

create   Creates a user (who logs in with a password: from standard input with --password-stdin, or
         $CUSTODY_NEW_PASSWORD; at least 12 characters) or, with --service, a service account (no
         password: it uses tokens from \`custody token create\`). Server admins only.
list     Lists accounts. Server admins only.

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
    if (sub !== 'create' && sub !== 'list') throw new CustodyError('USAGE', `account: unknown subcommand "${sub ?? ''}"; expected create or list`);
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
      if (name === undefined || positionals.length !== 1) throw new CustodyError('USAGE', 'account create: give exactly one account NAME');
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
       custody project trust-key P PUBLIC.pem

create     Creates a project (server admins).
list       The projects your token can read, with your role.
show       Members, roles and trusted keys.
trust-key  Adds a public key (PEM, SPKI) whose signatures the project accepts: pushed signatures and
           attestations are verified against these keys, and \`custody pull\` pins them.

${CLIENT_OPTIONS_HELP}
`;

export const projectCommand: Command = {
  name: 'project',
  summary: 'Create, list and show registry projects; trust signing keys',
  usage: PROJECT_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    const { values, positionals } = parseCommandArgs(`project ${sub ?? ''}`.trim(), rest, { ...CLIENT_OPTIONS });
    if (sub !== 'create' && sub !== 'list' && sub !== 'show' && sub !== 'trust-key') throw new CustodyError('USAGE', `project: unknown subcommand "${sub ?? ''}"; expected create, list, show or trust-key`);
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
        const added = await client.json<{ hint: string; keyType: string; added: boolean }>('POST', `/v1/projects/${encodeURIComponent(name)}/keys`, { body: { pem } });
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
