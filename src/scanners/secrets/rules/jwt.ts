import { decodeJwt } from '../decode.js';
import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { isPlaceholder } from '../placeholder.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

const JWT = /eyJ[A-Za-z0-9_-]{8,1000}\.ey[A-Za-z0-9_-]{8,8000}\.[A-Za-z0-9_-]{0,1000}(?![A-Za-z0-9_.-])/y;

/** The example token from jwt.io and RFC-style samples. */
function isSampleJwt(payload: Record<string, unknown>): boolean {
  const name = payload['name'];
  const sub = payload['sub'];
  return name === 'John Doe' || sub === '1234567890' || (typeof sub === 'string' && isPlaceholder(sub) && sub.length > 3);
}

export const jwtRule = defineSecretRule({
  id: 'secrets/jwt',
  title: 'JSON Web Token',
  description:
    'A JSON Web Token (JWS compact form) whose header and payload decode to JSON objects and whose header names an algorithm. JWTs are ' +
    'bearer credentials: API gateways, model-serving endpoints, Supabase and many SaaS APIs accept them until they expire. Unsigned ' +
    '(`alg: none`) tokens are reported at low severity; the jwt.io sample token is ignored.',
  severity: 'medium',
  confidence: 'high',
  tags: tags('jwt'),
  remediation: 'Revoke the token or rotate the signing key that issued it, remove it from the file, notebook outputs and git history, and obtain tokens at run time.',
  messages: { found: 'JSON Web Token ({{alg}}).', unsigned: 'Unsigned JSON Web Token (alg {{alg}}).' },
  family: 'jwt',
  priority: 2,
  detectors: [
    prefixToken({
      keywords: ['eyJ'],
      pattern: JWT,
      prefixLength: 3,
      message: 'found',
      validate: (token) => {
        const jwt = decodeJwt(token);
        if (!jwt || isSampleJwt(jwt.payload)) return false;
        const sig = token.slice(token.lastIndexOf('.') + 1);
        if (sig.length > 0 && isPlaceholder(sig)) return false;
        return jwt.signed ? { data: { alg: jwt.alg } } : { message: 'unsigned', data: { alg: jwt.alg }, severity: 'low' };
      },
    }),
  ],
  patterns: [JWT],
  examples: () => {
    const f = new Fake(2727);
    return {
      positive: [
        { text: `headers = {"Authorization": "Bearer ${f.jwt()}"}`, file: 'client.py' },
        { text: `SUPABASE_KEY=${f.jwt({ iss: 'supabase', role: 'service_role', iat: 1_700_000_000 })}`, file: '.env' },
      ],
      negative: [
        { text: `token = "${f.jwt({ sub: '1234567890', name: 'John Doe', iat: 1516239022 })}"`, file: 'docs.py' },
        { text: `token = "eyJhbGciOiJIUzI1NiJ9.${'x'.repeat(20)}.${'y'.repeat(20)}"`, file: 'x.py' },
        { text: `token = "${Buffer.from('{"typ":"JWT"}').toString('base64url')}.${Buffer.from('{"a":1}').toString('base64url')}.${f.alnum(43)}"`, file: 'x.py' },
      ],
    };
  },
});
