import { CONNSTRING_PATTERNS, parseConnectionParam, parseOracleThin, type ConnectionParam } from '../connstring.js';
import { defineSecretRule } from '../define.js';
import type { Emit } from '../types.js';
import { Fake } from '../fake.js';
import { judgeValue } from '../score.js';
import { parseUriCredential, safeUser } from '../uri.js';
import { tags } from './kit.js';

/**
 * Any scheme: databases and brokers (with SQLAlchemy `+driver` suffixes), HTTP, mail, NATS routes, vendor
 * schemes (`dbconnection://`). A `user:password@host` authority means the same whatever the scheme; only
 * schemes of two or more characters that start with a letter count (`c://` in a Windows path does not).
 */
const SCHEMES = /^[a-z][a-z0-9.-]{1,30}(?:\+[a-z0-9_]+)?$/;

const KINDS: Readonly<Record<string, string>> = {
  postgres: 'PostgreSQL', postgresql: 'PostgreSQL', pgsql: 'PostgreSQL', mysql: 'MySQL', mariadb: 'MariaDB', mssql: 'SQL Server',
  sqlserver: 'SQL Server', oracle: 'Oracle', mongodb: 'MongoDB', 'mongodb+srv': 'MongoDB', redis: 'Redis', rediss: 'Redis',
  amqp: 'AMQP', amqps: 'AMQP', http: 'HTTP', https: 'HTTP',
};

const PARAM_KINDS: Readonly<Record<string, string>> = {
  'JDBC postgresql': 'JDBC PostgreSQL', 'JDBC mysql': 'JDBC MySQL', 'JDBC mariadb': 'JDBC MariaDB', 'JDBC sqlserver': 'JDBC SQL Server',
  'JDBC oracle': 'JDBC Oracle', 'JDBC snowflake': 'JDBC Snowflake', 'JDBC redshift': 'JDBC Redshift', 'JDBC db2': 'JDBC Db2', ODBC: 'ODBC',
};

function emitParam(p: ConnectionParam | undefined, emit: Emit): void {
  if (p === undefined) return;
  const confidence = judgeValue(p.password, 'password');
  if (confidence === undefined) return;
  emit({
    start: p.start,
    end: p.end,
    secret: p.password,
    message: 'param',
    data: { kind: PARAM_KINDS[p.kind] ?? KINDS[p.kind] ?? p.kind },
    ...(confidence === 'low' ? { confidence: 'medium' as const, severity: 'medium' as const } : {}),
    evidence: `${p.name}=${p.password}`,
  });
}

export const connectionUriRule = defineSecretRule({
  id: 'secrets/connection-uri-password',
  title: 'Password in a connection URI',
  description:
    'A database, message-broker or service URI with a password in it (`postgresql://user:password@host/db`, `mongodb+srv://…`, ' +
    '`redis://:password@…`, `amqp://…`, `https://user:password@host`). Feature stores, experiment trackers and training jobs are ' +
    'commonly configured this way. Also passwords given as connection-string parameters: JDBC URLs (`jdbc:postgresql://db/app?user=etl&password=…`, ' +
    '`jdbc:sqlserver://db;user=sa;password=…`, `jdbc:oracle:thin:scott/…@db:1521:orcl`), ODBC and ADO.NET strings ' +
    '(`Driver={…};Server=…;Uid=…;Pwd=…;`, `Data Source=…;User ID=…;Password=…`, percent-encoded in SQLAlchemy `odbc_connect=`) and ' +
    '`password=` query parameters of other URIs. Passwords that are placeholders or references (`${DB_PASSWORD}`, `password`, `<pass>`, ' +
    '`{password}` in an f-string) are ignored.',
  severity: 'high',
  confidence: 'high',
  tags: tags('database'),
  remediation: 'Change the password on the server, remove it from the URI in the file and from git history, and build the URI at run time from a secret store or environment variables.',
  messages: { found: '{{kind}} connection URI with a password.', param: '{{kind}} connection string with a password parameter.' },
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
    {
      keywords: ['password=', 'pwd=', 'passwd=', 'password%3d', 'pwd%3d'],
      ignoreCase: true,
      find(doc, pos, keyword, emit) {
        emitParam(parseConnectionParam(doc, pos, keyword.toLowerCase()), emit);
      },
    },
    {
      keywords: ['jdbc:oracle:'],
      ignoreCase: true,
      find(doc, pos, _keyword, emit) {
        emitParam(parseOracleThin(doc, pos), emit);
      },
    },
  ],
  patterns: [SCHEMES, ...CONNSTRING_PATTERNS],
  examples: () => {
    const f = new Fake(2828);
    return {
      positive: [
        { text: `DATABASE_URL=postgresql+psycopg2://feast:${f.alnum(16)}@db.internal:5432/features`, file: '.env' },
        { text: `client = MongoClient("mongodb+srv://ml:${f.alnum(20)}@cluster0.abcde.mongodb.net/?retryWrites=true")`, file: 'store.py' },
        { text: `broker_url: amqp://worker:${f.alnum(14)}!@rabbit:5672//`, file: 'celery.yaml' },
        { text: `spring.datasource.url=jdbc:postgresql://db:5432/app?user=etl&password=${f.alnum(12)}!7&ssl=true`, file: 'application.properties' },
        { text: `url = "jdbc:sqlserver://db.internal:1433;databaseName=features;user=sa;password=${f.alnum(12)}#2;encrypt=true"`, file: 'spark_job.py' },
        { text: `conn = pyodbc.connect("Driver={ODBC Driver 18 for SQL Server};Server=tcp:ml.database.windows.net,1433;Database=ml;Uid=etl;Pwd=${f.alnum(12)}$9;Encrypt=yes;")`, file: 'load.py' },
        { text: `"ConnectionStrings": {"Db": "Data Source=db;Initial Catalog=ml;User ID=app;Password={${f.alnum(10)};9x}"}`, file: 'appsettings.json' },
        { text: `engine = create_engine("mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC+Driver+18%7D%3BSERVER%3Ddb%3BUID%3Detl%3BPWD%3D${f.alnum(12)}%21%3B")`, file: 'db.py' },
        { text: `jdbc_url = "jdbc:oracle:thin:scott/${f.alnum(11)}7@db.internal:1521:ORCL"`, file: 'etl.py' },
      ],
      negative: [
        { text: 'DATABASE_URL=postgresql://user:password@localhost:5432/db', file: '.env' },
        { text: 'DATABASE_URL=postgresql://feast:${DB_PASSWORD}@db:5432/features', file: '.env' },
        { text: 'REDIS_URL=redis://localhost:6379/0', file: '.env' },
        { text: 'broker_url: amqp://guest:guest@localhost//', file: 'celery.yaml' },
        { text: 'url=jdbc:postgresql://db:5432/app?user=etl&password=${DB_PASSWORD}', file: 'application.properties' },
        { text: 'conn_str = f"Driver={{ODBC Driver 18}};Server={server};Uid={user};Pwd={password};"', file: 'load.py' },
        { text: 'conn = pyodbc.connect("Driver={ODBC Driver 18};Server=db;Uid=etl;Pwd=" + os.environ["DB_PWD"] + ";")', file: 'load.py' },
        { text: 'The connection string takes Server=, Uid= and Pwd= keywords; see the driver docs.', file: 'README.md' },
        { text: 'jdbc_url = "jdbc:oracle:thin:scott/tiger@db:1521:ORCL"', file: 'etl.py' },
        { text: `url = "https://example.org/login?next=/home&reset_password=${f.alnum(12)}1"`, file: 'links.py' },
      ],
    };
  },
});
