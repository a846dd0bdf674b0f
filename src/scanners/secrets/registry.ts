import { anthropicKeyRule } from './rules/anthropic.js';
import { awsAccessKeyIdRule, awsSecretAccessKeyRule } from './rules/aws.js';
import { azureSasTokenRule, azureStorageKeyRule } from './rules/azure.js';
import { cohereKeyRule } from './rules/cohere.js';
import { cometKeyRule } from './rules/comet.js';
import { connectionUriRule } from './rules/connection-uri.js';
import { custodyTokenRule } from './rules/custody.js';
import { databricksTokenRule } from './rules/databricks.js';
import { gcpApiKeyRule, gcpServiceAccountKeyRule, googleOauthClientSecretRule } from './rules/gcp.js';
import { documentPasswordRule, genericSecretRule, ownedPrefixes } from './rules/generic.js';
import { githubTokenRule } from './rules/github.js';
import { gitlabTokenRule } from './rules/gitlab.js';
import { groqKeyRule } from './rules/groq.js';
import { huggingfaceTokenRule } from './rules/huggingface.js';
import { jwtRule } from './rules/jwt.js';
import { kaggleKeyRule } from './rules/kaggle.js';
import { langsmithKeyRule } from './rules/langsmith.js';
import { mistralKeyRule } from './rules/mistral.js';
import { mlflowCredentialsRule } from './rules/mlflow.js';
import { neptuneTokenRule } from './rules/neptune.js';
import { npmTokenRule } from './rules/npm.js';
import { openaiKeyRule } from './rules/openai.js';
import { pineconeKeyRule } from './rules/pinecone.js';
import { privateKeyRule } from './rules/private-key.js';
import { pypiTokenRule } from './rules/pypi.js';
import { replicateTokenRule } from './rules/replicate.js';
import { slackTokenRule, slackWebhookRule } from './rules/slack.js';
import { snowflakeCredentialsRule } from './rules/snowflake.js';
import { stripeKeyRule } from './rules/stripe.js';
import { wandbKeyRule } from './rules/wandb.js';
import type { KeywordDetector, SecretRule } from './types.js';

/** Every detecting rule, sorted by id. The registry is this explicit list; nothing registers itself. */
export const SECRET_RULES: readonly SecretRule[] = [
  anthropicKeyRule,
  awsAccessKeyIdRule,
  awsSecretAccessKeyRule,
  azureSasTokenRule,
  azureStorageKeyRule,
  cohereKeyRule,
  cometKeyRule,
  connectionUriRule,
  custodyTokenRule,
  databricksTokenRule,
  documentPasswordRule,
  gcpApiKeyRule,
  gcpServiceAccountKeyRule,
  genericSecretRule,
  githubTokenRule,
  gitlabTokenRule,
  googleOauthClientSecretRule,
  groqKeyRule,
  huggingfaceTokenRule,
  jwtRule,
  kaggleKeyRule,
  langsmithKeyRule,
  mistralKeyRule,
  mlflowCredentialsRule,
  neptuneTokenRule,
  npmTokenRule,
  openaiKeyRule,
  pineconeKeyRule,
  privateKeyRule,
  pypiTokenRule,
  replicateTokenRule,
  slackTokenRule,
  slackWebhookRule,
  snowflakeCredentialsRule,
  stripeKeyRule,
  wandbKeyRule,
];

/** Keywords that start the assignment detector (matched ignoring case): names holding secrets contain one. */
export const ASSIGNMENT_KEYWORDS = ['pass', 'pwd', 'psw', 'pasw', 'pssw', 'secret', 'token', 'key', 'auth', 'cred', 'bearer'] as const;

export interface KeywordEntry {
  readonly keyword: string;
  readonly lower: string;
  readonly ignoreCase: boolean;
  /** Detectors to run at a hit, with the rule each reports for; empty for assignment keywords. */
  readonly detectors: readonly { rule: SecretRule; detector: KeywordDetector }[];
  readonly assignment: boolean;
}

export interface KeywordIndex {
  /** One alternation of every keyword, global and case-insensitive: the single prefilter pass. */
  readonly pattern: RegExp;
  /** Entries by the lowercase first character of their keyword. */
  readonly byFirst: ReadonlyMap<string, readonly KeywordEntry[]>;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function buildKeywordIndex(rules: readonly SecretRule[]): KeywordIndex {
  const entries = new Map<string, { keyword: string; lower: string; ignoreCase: boolean; detectors: { rule: SecretRule; detector: KeywordDetector }[]; assignment: boolean }>();
  const entry = (keyword: string, ignoreCase: boolean) => {
    const id = `${ignoreCase ? 'i' : 's'}:${ignoreCase ? keyword.toLowerCase() : keyword}`;
    let e = entries.get(id);
    if (!e) {
      e = { keyword, lower: keyword.toLowerCase(), ignoreCase, detectors: [], assignment: false };
      entries.set(id, e);
    }
    return e;
  };
  for (const rule of rules) {
    for (const detector of rule.detectors ?? []) {
      for (const keyword of detector.keywords) entry(keyword, detector.ignoreCase === true).detectors.push({ rule, detector });
    }
  }
  for (const keyword of ASSIGNMENT_KEYWORDS) entry(keyword, true).assignment = true;
  const byFirst = new Map<string, KeywordEntry[]>();
  for (const e of entries.values()) {
    const first = e.lower[0]!;
    const list = byFirst.get(first) ?? [];
    list.push(e);
    byFirst.set(first, list);
  }
  // Longest first, so that the alternation prefers `sk-ant-` over `sk-` (every entry is re-checked at a hit anyway).
  const alternatives = [...new Set([...entries.values()].map((e) => e.lower))].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  return { pattern: new RegExp(alternatives.map(escapeRegExp).join('|'), 'gi'), byFirst };
}

export const KEYWORD_INDEX = buildKeywordIndex(SECRET_RULES);

/** Rules with an assignment classifier, most specific first; the generic rule is last. */
export const ASSIGNMENT_RULES: readonly SecretRule[] = SECRET_RULES.filter((r) => r.assignment !== undefined).sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1));

// Prefixes owned by provider rules: a value starting with one is never a generic secret.
for (const rule of SECRET_RULES) {
  for (const detector of rule.detectors ?? []) {
    for (const keyword of detector.keywords) {
      if (!detector.ignoreCase && /[_-]$|^(?:AKIA|ASIA|AIza|eyJ|dapi)$/.test(keyword) && !ownedPrefixes.includes(keyword)) ownedPrefixes.push(keyword);
    }
  }
}

export const FAMILY_BY_RULE: ReadonlyMap<string, string> = new Map(SECRET_RULES.map((r) => [r.id, r.family]));
