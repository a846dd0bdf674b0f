import { hasValidCrc32Base62Checksum } from '../checksum.js';
import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

const KINDS: Readonly<Record<string, string>> = {
  ghp: 'personal access',
  gho: 'OAuth access',
  ghu: 'user-to-server',
  ghs: 'server-to-server',
  ghr: 'refresh',
};

const CLASSIC = /gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9_])/y;
const FINE_GRAINED = /github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9_])/y;

export const githubTokenRule = defineSecretRule({
  id: 'secrets/github-token',
  title: 'GitHub token',
  description:
    'A GitHub token: classic personal access, OAuth, user-to-server, server-to-server or refresh tokens (`ghp_`, `gho_`, `ghu_`, ' +
    '`ghs_`, `ghr_`), reported only when the CRC-32 checksum in their last six characters is right, and fine-grained personal ' +
    'access tokens (`github_pat_`). A leaked token lets anyone read or push code, workflows and model repositories the owner can.',
  severity: 'high',
  confidence: 'high',
  tags: tags('github'),
  remediation:
    'Revoke the token in GitHub (Settings → Developer settings → Personal access tokens, or the OAuth/GitHub App settings), remove it ' +
    'from the file and from git history, and read it from the environment or a secret store (in Actions: `${{ secrets.NAME }}`).',
  messages: {
    classic: 'GitHub {{kind}} token (checksum valid).',
    fineGrained: 'GitHub fine-grained personal access token.',
  },
  family: 'github',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
      pattern: CLASSIC,
      prefixLength: 4,
      message: 'classic',
      validate: (token) => (hasValidCrc32Base62Checksum(token, 4) ? { data: { kind: KINDS[token.slice(0, 3)] ?? 'access' } } : false),
    }),
    prefixToken({ keywords: ['github_pat_'], pattern: FINE_GRAINED, prefixLength: 11, message: 'fineGrained' }),
  ],
  patterns: [CLASSIC, FINE_GRAINED],
  examples: () => {
    const f = new Fake(101);
    return {
      positive: [
        { text: `GITHUB_TOKEN=${f.checksummed('ghp_')}`, file: '.env' },
        { text: `git clone https://x-access-token:${f.checksummed('ghs_')}@github.com/org/repo.git` },
        { text: `token = "github_pat_${f.alnum(22)}_${f.alnum(59)}"`, file: 'ci.py' },
      ],
      negative: [
        { text: `GITHUB_TOKEN=${f.badChecksum('ghp_')}`, file: '.env' },
        { text: `GITHUB_TOKEN=ghp_${'x'.repeat(36)}`, file: '.env' },
        { text: `token = "${f.checksummed('ghp_').slice(0, -1)}"` },
        { text: `token = "ghx_${f.alnum(36)}"` },
        { text: `token = "github_pat_${f.alnum(22)}_${f.alnum(58)}"` },
      ],
    };
  },
});
