import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

/**
 * GitLab's documented token prefixes (docs.gitlab.com, "Token prefixes"): personal/project/group access
 * (`glpat`), OAuth application secret (`gloas`), deploy (`gldt`), runner authentication (`glrt`, `glrtr`
 * for runners created by registration), CI/CD job (`glcbt`), pipeline trigger (`glptt`), feed (`glft`),
 * incoming mail (`glimt`), Kubernetes agent (`glagent`), SCIM OAuth (`glsoat`), feature-flags client
 * (`glffct`), workspace (`glwt`).
 */
const PREFIXES = ['glpat', 'gloas', 'gldt', 'glrtr', 'glrt', 'glcbt', 'glptt', 'glft', 'glimt', 'glagent', 'glsoat', 'glffct', 'glwt'] as const;

// Legacy tokens: prefix + random characters (20 for access tokens; 20 to 64 for the other kinds: feed and
// trigger tokens, agent tokens of 50, job tokens with a `<partition>_` head). Routable tokens: prefix +
// base64url payload + `.` + optional `vv.` version + 2-character payload length + 7-character CRC-32 (base36).
const GITLAB = /(?:glpat|gloas|gldt|glrtr|glrt|glcbt|glptt|glft|glimt|glagent|glsoat|glffct|glwt)-[0-9A-Za-z_-]{20,300}(?:\.[0-9a-z]{2}){0,1}(?:\.[0-9a-z]{9})?(?![0-9A-Za-z_.-])/y;

/** Legacy runner registration tokens: `GR1348941` and 20 random characters. */
const RUNNER_REGISTRATION = /GR1348941[0-9A-Za-z_-]{20}(?![0-9A-Za-z_-])/y;

function validGitlab(token: string): boolean {
  const dash = token.indexOf('-');
  const kind = token.slice(0, dash);
  const body = token.slice(dash + 1);
  // Access tokens have exactly 20 characters in the legacy form; other kinds vary by type and version.
  if (kind === 'glpat' ? /^[0-9A-Za-z_-]{20}$/.test(body) : /^[0-9A-Za-z_-]{20,64}$/.test(body)) return /[0-9]/.test(body) || /[A-Z]/.test(body);
  return /^[0-9A-Za-z_-]{27,300}\.(?:[0-9a-z]{2}\.)?[0-9a-z]{9}$/.test(body);
}

const KIND_NAMES: Readonly<Record<string, string>> = {
  glpat: 'access', gloas: 'OAuth application', gldt: 'deploy', glrtr: 'runner', glrt: 'runner', glcbt: 'CI/CD job', glptt: 'pipeline trigger',
  glft: 'feed', glimt: 'incoming mail', glagent: 'Kubernetes agent', glsoat: 'SCIM', glffct: 'feature flags client', glwt: 'workspace',
};

export const gitlabTokenRule = defineSecretRule({
  id: 'secrets/gitlab-token',
  title: 'GitLab token',
  description:
    'A GitLab token with one of its documented prefixes: personal, project and group access (`glpat-`), OAuth application secret ' +
    '(`gloas-`), deploy (`gldt-`), runner (`glrt-`, `glrtr-`), CI/CD job (`glcbt-`), pipeline trigger (`glptt-`), feed (`glft-`), ' +
    'incoming mail (`glimt-`), Kubernetes agent (`glagent-`), SCIM (`glsoat-`), feature flags client (`glffct-`) and workspace ' +
    '(`glwt-`) tokens and legacy runner registration tokens (`GR1348941…`), in the legacy form (20 random characters for access tokens) or the routable form with payload, length and ' +
    'CRC fields.',
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
      keywords: PREFIXES.map((p) => `${p}-`),
      pattern: GITLAB,
      prefixLength: 6,
      message: 'found',
      validate: (token) => (validGitlab(token) ? { data: { kind: KIND_NAMES[token.slice(0, token.indexOf('-'))] ?? 'access' } } : false),
    }),
    prefixToken({
      keywords: ['GR1348941'],
      pattern: RUNNER_REGISTRATION,
      prefixLength: 9,
      message: 'found',
      validate: (token) => (/[0-9]/.test(token.slice(9)) || /[A-Z]/.test(token.slice(9))) && /[a-z]/.test(token.slice(9)) && { data: { kind: 'runner registration' } },
    }),
  ],
  patterns: [GITLAB, RUNNER_REGISTRATION],
  examples: () => {
    const f = new Fake(303);
    return {
      positive: [
        { text: `GITLAB_TOKEN=glpat-${f.alnum(20)}`, file: '.env' },
        { text: `token: glpat-${f.alnum(31)}.01.${f.chars('0123456789abcdefghijklmnopqrstuvwxyz', 9)}`, file: 'ci.yml' },
        { text: `GITLAB_FEED_TOKEN=glft-${f.alnum(20)}`, file: '.env' },
        { text: `incoming_email_token: glimt-${f.alnum(25)}`, file: 'settings.yml' },
        { text: `--set config.token=glagent-${f.alnum(50)}`, file: 'install-agent.sh' },
        { text: `runner:\n  token: glrtr-${f.alnum(20)}`, file: 'values.yaml' },
        { text: `CI_JOB_TOKEN=glcbt-64_${f.alnum(20)}`, file: '.env' },
        { text: `curl -X POST -F token=glptt-${f.hex(40)} -F ref=main https://gitlab.example.com/api/v4/projects/7/trigger/pipeline`, file: 'trigger.sh' },
        { text: `SCIM_TOKEN=glsoat-${f.alnum(20)}`, file: '.env' },
        { text: `UNLEASH_INSTANCE_ID=glffct-${f.alnum(20)}`, file: '.env' },
        { text: `WORKSPACE_TOKEN=glwt-${f.alnum(20)}`, file: '.env' },
        { text: `DEPLOY_TOKEN=gldt-${f.alnum(20)}`, file: '.env' },
      ],
      negative: [
        { text: `GITLAB_TOKEN=glpat-${f.alnum(19)}`, file: '.env' },
        { text: 'GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx', file: '.env' },
        { text: `GITLAB_TOKEN=glpat-${f.alnum(24)}`, file: '.env' },
        { text: `GITLAB_FEED_TOKEN=glft-${f.alnum(19)}`, file: '.env' },
        { text: `AGENT_TOKEN=glagent-${f.alnum(65)}`, file: '.env' },
        { text: 'feed_url = "https://gitlab.com/dashboard/projects.atom?feed_token=glft-abcdefghijklmnopqrst"', file: 'feeds.py' },
        { text: `glimt-${f.alnum(25)}x`.replace('glimt-', 'xglimt-'), file: 'notes.txt' },
      ],
    };
  },
});
