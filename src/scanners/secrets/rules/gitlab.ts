import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

// Legacy tokens: prefix + 20 characters. Routable tokens: prefix + base64url payload + `.` + optional
// `vv.` version + 2-character payload length + 7-character CRC-32 (base36).
const GITLAB = /(?:glpat|gldt|glrt|glptt|glcbt|gloas|glsoat)-[0-9A-Za-z_-]{20,300}(?:\.[0-9a-z]{2}){0,1}(?:\.[0-9a-z]{9})?(?![0-9A-Za-z_.-])/y;

function validGitlab(token: string): boolean {
  const dash = token.indexOf('-');
  const body = token.slice(dash + 1);
  if (/^[0-9A-Za-z_-]{20}$/.test(body)) return true;
  return /^[0-9A-Za-z_-]{27,300}\.(?:[0-9a-z]{2}\.)?[0-9a-z]{9}$/.test(body);
}

export const gitlabTokenRule = defineSecretRule({
  id: 'secrets/gitlab-token',
  title: 'GitLab token',
  description:
    'A GitLab personal, project, group, deploy, runner, pipeline-trigger or OAuth token (`glpat-`, `gldt-`, `glrt-`, `glptt-`, ' +
    '`glcbt-`, `gloas-`), in the legacy 20-character form or the routable form with payload, length and CRC fields.',
  severity: 'high',
  confidence: 'high',
  tags: tags('gitlab'),
  remediation:
    'Revoke the token in GitLab (User settings → Access tokens, or the project/group settings), remove it from the file and from git ' +
    'history, and use a CI/CD variable or a secret store instead.',
  messages: { found: 'GitLab {{kind}} token.' },
  family: 'gitlab',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glcbt-', 'gloas-', 'glsoat-'],
      pattern: GITLAB,
      prefixLength: 6,
      message: 'found',
      validate: (token) => (validGitlab(token) ? { data: { kind: token.slice(0, token.indexOf('-')) } } : false),
    }),
  ],
  patterns: [GITLAB],
  examples: () => {
    const f = new Fake(303);
    return {
      positive: [
        { text: `GITLAB_TOKEN=glpat-${f.alnum(20)}`, file: '.env' },
        { text: `token: glpat-${f.alnum(31)}.01.${f.chars('0123456789abcdefghijklmnopqrstuvwxyz', 9)}`, file: 'ci.yml' },
      ],
      negative: [
        { text: `GITLAB_TOKEN=glpat-${f.alnum(19)}`, file: '.env' },
        { text: 'GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx', file: '.env' },
        { text: `GITLAB_TOKEN=glpat-${f.alnum(24)}`, file: '.env' },
      ],
    };
  },
});
