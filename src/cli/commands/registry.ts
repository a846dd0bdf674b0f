import { resolve } from 'node:path';
import { CustodyError } from '../../core/errors.js';
import { writeFileSafely } from '../../core/safe-fs.js';
import { DEFAULT_RATE_LIMITS, type RateLimits } from '../../server/app.js';
import { parseRateLimit } from '../../server/rate-limit.js';
import { openDataDir, startServer } from '../../server/start.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';
import { readVersion } from '../version.js';
import { parseTtl } from './registry-client.js';

const USAGE = `Usage: custody registry serve --data-dir DIR [--host 127.0.0.1] [--port 8470] [options]
       custody registry admin-token --data-dir DIR [--account admin] [--ttl 24h]

serve        Runs the registry: an HTTP API (OpenAPI 3.1 at /openapi.json) over an embedded SQLite
             database, a content-addressed blob store and a signed audit log, all under DIR. On first
             start with an empty DIR it creates the server admin "admin" and writes a one-time token
             to DIR/initial-admin-token (mode 0600); it prints that path, never the token.
admin-token  Writes a new server-admin token to DIR/admin-token (0600) while the server is stopped or
             running: whoever can read the data directory controls the registry anyway.

Options (serve):
  --data-dir DIR             Where everything is kept (created if missing)
  --host HOST                Address to listen on (default 127.0.0.1)
  --port N                   Port (default 8470; 0 picks a free one)
  --max-token-ttl DURATION   Longest lifetime of any token (default 30d)
  --service-token-ttl DUR    Default lifetime of a service account's token (default 1h)
  --user-token-ttl DUR       Default lifetime of a user's token and of a login (default 12h)
  --login-rate N/m           Login attempts per client address and per account (default 10/m)
  --token-rate N/s           Requests per token (default 200/s, burst 5×; 0 = off)
  --no-scan                  Do not scan pushed versions (they show scan status "skipped")
  --secure-cookies           Mark the web console's cookies Secure (with the __Host- prefix) on every
                             request: for a server behind a proxy that ends TLS (over plain HTTP they
                             are Secure only when the request itself came over TLS)
  --durable-log              fsync every database commit, so audit entries and versions survive a
                             power loss, not only a crash of the process (slower: see docs/registry.md)
  --log-level LEVEL          fatal | error | warn | info | debug | silent (default info); JSON lines
                             on standard output, never a token, password or request body
  -h, --help                 Show this help

Exit codes: 0 stopped cleanly (SIGINT/SIGTERM), 2 could not start.
`;

function parseLimit(flag: string, value: string | undefined, fallback: RateLimits[keyof RateLimits], burstFactor = 1): RateLimits[keyof RateLimits] {
  if (value === undefined) return fallback;
  const limit = parseRateLimit(value);
  if (!limit) throw new CustodyError('USAGE', `registry serve: ${flag} must look like 10/m or 200/s (or 0 to switch it off), found "${value}"`);
  return { perSecond: limit.perSecond, burst: Math.max(1, Math.round(limit.burst * burstFactor)) };
}

async function serve(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('registry serve', args, {
    'data-dir': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8470' },
    'max-token-ttl': { type: 'string' },
    'service-token-ttl': { type: 'string' },
    'user-token-ttl': { type: 'string' },
    'login-rate': { type: 'string' },
    'token-rate': { type: 'string' },
    'no-scan': { type: 'boolean', default: false },
    'secure-cookies': { type: 'boolean', default: false },
    'durable-log': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'info' },
  });
  if (positionals.length > 0) throw new CustodyError('USAGE', `registry serve: unexpected argument ${positionals[0] ?? ''}`);
  if (values['data-dir'] === undefined) throw new CustodyError('USAGE', 'registry serve: --data-dir DIR is required');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CustodyError('USAGE', `registry serve: --port must be 0–65535, found "${values.port}"`);
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'silent'];
  if (!levels.includes(values['log-level'])) throw new CustodyError('USAGE', `registry serve: --log-level must be one of ${levels.join(', ')}`);
  const ttl = (flag: string, value: string | undefined): number | undefined => parseTtl(`registry serve ${flag}`, value);
  const settings = {
    ...(values['max-token-ttl'] === undefined ? {} : { maxTokenTtlSeconds: ttl('--max-token-ttl', values['max-token-ttl']) as number }),
    ...(values['service-token-ttl'] === undefined ? {} : { serviceTokenTtlSeconds: ttl('--service-token-ttl', values['service-token-ttl']) as number }),
    ...(values['user-token-ttl'] === undefined ? {} : { userTokenTtlSeconds: ttl('--user-token-ttl', values['user-token-ttl']) as number }),
    scan: !values['no-scan'],
  };
  const rateLimits: RateLimits = {
    login: parseLimit('--login-rate', values['login-rate'], DEFAULT_RATE_LIMITS.login),
    token: parseLimit('--token-rate', values['token-rate'], DEFAULT_RATE_LIMITS.token, 5),
    badToken: DEFAULT_RATE_LIMITS.badToken,
  };
  const dataDir = resolve(io.cwd, values['data-dir']);
  const server = await startServer({
    dataDir,
    host: values.host,
    port,
    version: readVersion(),
    settings,
    rateLimits,
    durableLog: values['durable-log'],
    secureCookies: values['secure-cookies'],
    logger: {
      level: values['log-level'],
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' },
    },
  });
  io.stderr.write(`custody registry listening on ${server.url}\n  data directory ${dataDir}\n`);
  if (server.opened.initialTokenPath) {
    io.stderr.write(`  first start: a one-time server-admin token was written to ${server.opened.initialTokenPath} (mode 0600)\n  use it with: export CUSTODY_URL=${server.url} CUSTODY_TOKEN="$(cat ${server.opened.initialTokenPath})"\n`);
  }
  await new Promise<void>((resolveStop) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  io.stderr.write('custody registry: stopping\n');
  await server.close();
  return EXIT.ok;
}

async function adminToken(args: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('registry admin-token', args, { 'data-dir': { type: 'string' }, account: { type: 'string', default: 'admin' }, ttl: { type: 'string', default: '24h' } });
  if (values['data-dir'] === undefined) throw new CustodyError('USAGE', 'registry admin-token: --data-dir DIR is required');
  const dataDir = resolve(io.cwd, values['data-dir']);
  const opened = await openDataDir({ dataDir, version: readVersion(), lock: false });
  try {
    const issued = await opened.registry.issueAdminToken(values.account, parseTtl('registry admin-token', values.ttl) ?? 86400);
    const path = resolve(dataDir, 'admin-token');
    await writeFileSafely(path, `${issued.token}\n`, { mode: 0o600 });
    io.stderr.write(`a server-admin token for ${values.account}, valid until ${issued.expiresAt}, was written to ${path} (mode 0600)\n`);
  } finally {
    await opened.close();
  }
  return EXIT.ok;
}

export const registryCommand: Command = {
  name: 'registry',
  summary: 'Run the model and dataset registry (serve), or mint a recovery admin token',
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === 'serve') return serve(rest, io);
    if (sub === 'admin-token') return adminToken(rest, io);
    throw new CustodyError('USAGE', `registry: unknown subcommand "${sub ?? ''}"; expected serve or admin-token (see \`custody registry --help\`)`);
  },
};
