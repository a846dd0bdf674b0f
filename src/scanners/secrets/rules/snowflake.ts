import { classifyName, mentions } from '../names.js';
import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { judgeValue } from '../score.js';
import { parseUriCredential, safeName, safeUser } from '../uri.js';
import { pointsAt, tags } from './kit.js';

export const snowflakeCredentialsRule = defineSecretRule({
  id: 'secrets/snowflake-credentials',
  title: 'Snowflake credentials',
  description:
    'A Snowflake password or token: `SNOWFLAKE_PASSWORD`, `sfPassword` in Spark connector options, `password=` inside ' +
    '`snowflake.connector.connect(…)`, a `[connections]` entry in `connections.toml`, or a `snowflake://user:password@account` ' +
    'SQLAlchemy URI. Snowflake holds the feature tables and training sets of many ML platforms.',
  severity: 'high',
  confidence: 'high',
  tags: tags('snowflake'),
  remediation: 'Change the password or revoke the token (ALTER USER … RESET PASSWORD / programmatic access tokens), remove it from the file and from git history, and use key-pair or OAuth authentication from a secret store.',
  messages: { found: 'Snowflake {{what}}.' },
  family: 'snowflake',
  priority: 3,
  detectors: [
    {
      keywords: ['://'],
      find(doc, pos, _keyword, emit) {
        const uri = parseUriCredential(doc, pos);
        if (!uri || uri.scheme !== 'snowflake' || judgeValue(uri.password, 'password') === undefined) return;
        emit({ start: uri.passwordStart, end: uri.passwordEnd, secret: uri.password, message: 'found', data: { what: 'URI with a password' }, evidence: `snowflake://${safeUser(uri.user)}:${uri.password}@${uri.host}` });
      },
    },
  ],
  assignment: (a, _doc, mode) => {
    if (mode === 'name' && !mentions(a.words, ['snowflake', 'sf', 'snowsql'])) return undefined;
    const cls = classifyName(a.words);
    if (cls !== 'password' && cls !== 'token' && cls !== 'secret') return undefined;
    const confidence = judgeValue(a.value, cls, a.prose ? 'document' : 'strong');
    if (confidence === undefined || !pointsAt(a, ['snowflake', 'sf', 'snowsql'], ['snowflake', 'snowsql', 'sfurl', 'connections.toml'], mode)) return undefined;
    return { message: 'found', data: { what: cls }, evidence: `${safeName(a.name)}=${a.value}`, ...(confidence === 'low' ? { confidence: 'medium' as const } : {}) };
  },
  patterns: [],
  examples: () => {
    const f = new Fake(3030);
    return {
      positive: [
        { text: `SNOWFLAKE_PASSWORD=${f.alnum(14)}!`, file: '.env' },
        { text: `conn = snowflake.connector.connect(\n    user="etl",\n    password="${f.alnum(12)}#${f.alnum(3)}",\n    account="xy12345",\n)`, file: 'features.py' },
        { text: `engine = create_engine("snowflake://etl:${f.alnum(15)}@xy12345/db/schema")`, file: 'features.py' },
      ],
      negative: [
        { text: 'conn = snowflake.connector.connect(user="etl", password=os.environ["SNOWFLAKE_PASSWORD"], account="xy12345")', file: 'features.py' },
        { text: 'SNOWFLAKE_PASSWORD=<your-password>', file: '.env' },
        { text: 'SNOWFLAKE_ACCOUNT=xy12345', file: '.env' },
      ],
    };
  },
});
