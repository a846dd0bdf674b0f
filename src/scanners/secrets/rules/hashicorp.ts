import { defineSecretRule } from '../define.js';
import { B64URL, Fake } from '../fake.js';
import { charClasses } from '../stats.js';
import { prefixToken } from '../tokens.js';
import type { Emit, ScanDoc } from '../types.js';
import { providerAssignment, tags } from './kit.js';

/** HashiCorp Vault tokens and HCP Terraform (Terraform Cloud / Enterprise) API tokens. */

const VAULT = /hv([sbr])\.[A-Za-z0-9_-]{24,300}(?![A-Za-z0-9_.-])/y;
const VAULT_LEGACY = /^s\.[A-Za-z0-9]{24}$/;
const VAULT_KINDS: Readonly<Record<string, string>> = { s: 'service', b: 'batch', r: 'recovery' };
const vaultLegacy = providerAssignment({ names: ['vault'], hints: ['vault'], value: VAULT_LEGACY, message: 'found', validate: (v) => charClasses(v.slice(2)).count >= 3 });

export const vaultTokenRule = defineSecretRule({
  id: 'secrets/vault-token',
  title: 'HashiCorp Vault token',
  description:
    'A HashiCorp Vault token: service (`hvs.`), batch (`hvb.`) and recovery (`hvr.`) tokens, and legacy service tokens (`s.` and 24 ' +
    'alphanumerics) assigned to a Vault name (`VAULT_TOKEN`). It reads every secret its policies allow: usually the credentials of the ' +
    'whole pipeline.',
  severity: 'critical',
  confidence: 'high',
  tags: tags('vault'),
  remediation: 'Revoke the token (`vault token revoke`), remove it from the file and from git history, and have the job authenticate to Vault at run time (AppRole, Kubernetes or OIDC auth).',
  messages: { found: 'HashiCorp Vault {{kind}} token.' },
  family: 'hashicorp',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['hvs.', 'hvb.', 'hvr.'],
      pattern: VAULT,
      prefixLength: 4,
      message: 'found',
      validate: (t, m) => charClasses(t.slice(4)).count >= 3 && { data: { kind: VAULT_KINDS[m[1]!] ?? 'service' } },
    }),
  ],
  assignment: (a, doc, mode) => {
    const verdict = vaultLegacy(a, doc, mode);
    return verdict === undefined ? undefined : { ...verdict, data: { kind: 'service (legacy)' } };
  },
  patterns: [VAULT, VAULT_LEGACY],
  examples: () => {
    const f = new Fake(6301);
    return {
      positive: [
        { text: `export VAULT_TOKEN=hvs.CAES${f.chars(B64URL, 90)}`, file: 'deploy.sh' },
        { text: `VAULT_TOKEN=s.${f.alnum(22)}a9`, file: '.env' },
      ],
      negative: [
        { text: 'export VAULT_TOKEN=hvs.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', file: 'deploy.sh' },
        { text: `IMAGE_TAG=s.${f.alnum(24)}`, file: '.env' },
      ],
    };
  },
});

/** `<14 alphanumerics>.atlasv1.<60 to 70 characters>`. */
const TERRAFORM = /[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}(?![A-Za-z0-9_=-])/y;

export const terraformTokenRule = defineSecretRule({
  id: 'secrets/terraform-cloud-token',
  title: 'HCP Terraform API token',
  description:
    'An HCP Terraform (Terraform Cloud) or Terraform Enterprise API token: 14 alphanumerics, `.atlasv1.` and 60 to 70 more characters. ' +
    'User and team tokens run plans and applies against every workspace they can reach, with the cloud credentials stored there.',
  severity: 'critical',
  confidence: 'high',
  tags: tags('terraform'),
  remediation: 'Delete the token in HCP Terraform (User settings → Tokens, or the team/organization API tokens), remove it from the file (often `~/.terraformrc` or `credentials.tfrc.json`) and from git history, and use `terraform login` or dynamic credentials.',
  messages: { found: 'HCP Terraform API token.' },
  family: 'hashicorp',
  priority: 3,
  detectors: [
    {
      keywords: ['.atlasv1.'],
      find(doc: ScanDoc, pos: number, _keyword: string, emit: Emit) {
        const start = pos - 14;
        if (start < 0 || (start > 0 && /[A-Za-z0-9_]/.test(doc.text[start - 1]!))) return;
        TERRAFORM.lastIndex = start;
        const token = TERRAFORM.exec(doc.text)?.[0];
        if (token === undefined || charClasses(token.slice(0, 14)).count < 2 || charClasses(token.slice(23)).count < 3) return;
        emit({ start, end: start + token.length, secret: token, message: 'found' });
      },
    },
  ],
  patterns: [TERRAFORM],
  examples: () => {
    const f = new Fake(6302);
    return {
      positive: [{ text: `credentials "app.terraform.io" {\n  token = "${f.alnum(12)}a1.atlasv1.${f.alnum(66)}"\n}`, file: 'terraformrc' }],
      negative: [
        { text: `token = "${f.alnum(14)}.atlasv1.${f.alnum(20)}"`, file: 'terraformrc' },
        { text: 'docs: tokens look like XXXXXXXXXXXXXX.atlasv1.XXXXXXXXXXXX', file: 'README.md' },
      ],
    };
  },
});
