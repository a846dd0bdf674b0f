import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { judgeValue } from '../score.js';
import { parseUriCredential, safeUser } from '../uri.js';
import { tags } from './kit.js';

/** Database and broker schemes (with SQLAlchemy `+driver` suffixes), plus other schemes that carry passwords. */
const SCHEMES = /^(?:postgres|postgresql|pgsql|mysql|mariadb|mssql|sqlserver|oracle|cockroachdb|clickhouse|mongodb|mongodb\+srv|redis|rediss|valkey|amqp|amqps|kafka|nats|neo4j|neo4j\+s|bolt|cassandra|couchdb|elasticsearch|opensearch|ftp|ftps|sftp|ssh|smtp|smtps|imap|ldap|ldaps|https?)(?:\+[a-z0-9_]+)?$/;

const KINDS: Readonly<Record<string, string>> = {
  postgres: 'PostgreSQL', postgresql: 'PostgreSQL', pgsql: 'PostgreSQL', mysql: 'MySQL', mariadb: 'MariaDB', mssql: 'SQL Server',
  sqlserver: 'SQL Server', oracle: 'Oracle', mongodb: 'MongoDB', 'mongodb+srv': 'MongoDB', redis: 'Redis', rediss: 'Redis',
  amqp: 'AMQP', amqps: 'AMQP', http: 'HTTP', https: 'HTTP',
};

export const connectionUriRule = defineSecretRule({
  id: 'secrets/connection-uri-password',
  title: 'Password in a connection URI',
  description:
    'A database, message-broker or service URI with a password in it (`postgresql://user:password@host/db`, `mongodb+srv://…`, ' +
    '`redis://:password@…`, `amqp://…`, `https://user:password@host`). Feature stores, experiment trackers and training jobs are ' +
    'commonly configured this way. Passwords that are placeholders or references (`${DB_PASSWORD}`, `password`, `<pass>`) are ignored.',
  severity: 'high',
  confidence: 'high',
  tags: tags('database'),
  remediation: 'Change the password on the server, remove it from the URI in the file and from git history, and build the URI at run time from a secret store or environment variables.',
  messages: { found: '{{kind}} connection URI with a password.' },
  family: 'connection-uri',
  priority: 2,
  detectors: [
    {
      keywords: ['://'],
      find(doc, pos, _keyword, emit) {
        const uri = parseUriCredential(doc, pos);
        if (!uri || !SCHEMES.test(uri.scheme)) return;
        const confidence = judgeValue(uri.password, 'password');
        if (confidence === undefined) return;
        const base = uri.scheme.replace(/\+(?!srv|s$).*$/, '');
        emit({
          start: uri.passwordStart,
          end: uri.passwordEnd,
          secret: uri.password,
          message: 'found',
          data: { kind: KINDS[base] ?? base.toUpperCase() },
          ...(confidence === 'low' ? { confidence: 'medium' as const, severity: 'medium' as const } : {}),
          evidence: `${uri.scheme}://${safeUser(uri.user)}:${uri.password}@${uri.host}`,
        });
      },
    },
  ],
  patterns: [SCHEMES],
  examples: () => {
    const f = new Fake(2828);
    return {
      positive: [
        { text: `DATABASE_URL=postgresql+psycopg2://feast:${f.alnum(16)}@db.internal:5432/features`, file: '.env' },
        { text: `client = MongoClient("mongodb+srv://ml:${f.alnum(20)}@cluster0.abcde.mongodb.net/?retryWrites=true")`, file: 'store.py' },
        { text: `broker_url: amqp://worker:${f.alnum(14)}!@rabbit:5672//`, file: 'celery.yaml' },
      ],
      negative: [
        { text: 'DATABASE_URL=postgresql://user:password@localhost:5432/db', file: '.env' },
        { text: 'DATABASE_URL=postgresql://feast:${DB_PASSWORD}@db:5432/features', file: '.env' },
        { text: 'REDIS_URL=redis://localhost:6379/0', file: '.env' },
        { text: 'broker_url: amqp://guest:guest@localhost//', file: 'celery.yaml' },
      ],
    };
  },
});
