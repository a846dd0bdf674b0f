import { decodeBase64 } from '../decode.js';
import { defineSecretRule } from '../define.js';
import { B64, B64URL, Fake } from '../fake.js';
import { charClasses } from '../stats.js';
import { prefixToken } from '../tokens.js';
import { providerAssignment, tags } from './kit.js';

/**
 * Keys of the hosted-model and AI-tool APIs that ML repositories call besides the big platforms: Together AI,
 * DeepSeek, Perplexity, xAI, OpenRouter, Fireworks, NVIDIA (build.nvidia.com / NGC), Amazon Bedrock API keys,
 * Tavily and LlamaCloud. Each rule reads the provider's documented format: a distinctive prefix where there is one,
 * the provider's name or endpoint around the value where there is none (DeepSeek, legacy Together keys).
 */

/** A random part that mixes character classes (not `abcdefgh…`, not one letter case only). */
function mixed(token: string, prefixLength: number): boolean {
  return charClasses(token.slice(prefixLength)).count >= 2;
}

const TOGETHER = /tgp_v1_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/y;
const TOGETHER_LEGACY = /^[a-f0-9]{64}$/;

export const togetherKeyRule = defineSecretRule({
  id: 'secrets/together-api-key',
  title: 'Together AI API key',
  description:
    'A Together AI API key: the current `tgp_v1_` format (43 URL-safe base64 characters after the prefix), or a legacy 64-hex key ' +
    'assigned to a Together name (`TOGETHER_API_KEY`) or passed to the Together client. The key runs inference and fine-tuning jobs ' +
    'billed to the account and reads its uploaded training files.',
  severity: 'high',
  confidence: 'high',
  tags: tags('together'),
  remediation: 'Revoke the key at api.together.ai (Settings → API Keys), remove it from the file and from git history, and read it from `TOGETHER_API_KEY` at run time.',
  messages: { found: 'Together AI API key.', legacy: 'Together AI API key (legacy 64-hex format).' },
  family: 'ai-apis',
  priority: 3,
  detectors: [prefixToken({ keywords: ['tgp_v1_'], pattern: TOGETHER, prefixLength: 7, message: 'found', validate: (t) => mixed(t, 7) && {} })],
  assignment: providerAssignment({ names: ['together', 'togetherai'], hints: ['together', 'api.together'], value: TOGETHER_LEGACY, message: 'legacy' }),
  patterns: [TOGETHER, TOGETHER_LEGACY],
  examples: () => {
    const f = new Fake(6101);
    return {
      positive: [
        { text: `TOGETHER_API_KEY=tgp_v1_${f.chars(B64URL, 43)}`, file: '.env' },
        { text: `client = Together(api_key="${f.hex(64)}")`, file: 'infer.py' },
      ],
      negative: [
        { text: `TOGETHER_API_KEY=tgp_v1_${f.chars(B64URL, 42)}`, file: '.env' },
        { text: `TOGETHER_API_KEY=tgp_v2_${f.chars(B64URL, 43)}`, file: '.env' },
        { text: `MODEL_SHA256=${f.hex(64)}`, file: '.env' },
      ],
    };
  },
});

const DEEPSEEK = /^sk-[a-f0-9]{32}$/;

export const deepseekKeyRule = defineSecretRule({
  id: 'secrets/deepseek-api-key',
  title: 'DeepSeek API key',
  description:
    'A DeepSeek API key (`sk-` and 32 lower-case hex characters). Other vendors use `sk-` too, so the key is reported where a name, ' +
    'call or endpoint says DeepSeek (`DEEPSEEK_API_KEY`, `base_url="https://api.deepseek.com"`).',
  severity: 'high',
  confidence: 'high',
  tags: tags('deepseek'),
  remediation: 'Delete the key at platform.deepseek.com (API keys), remove it from the file and from git history, and read it from `DEEPSEEK_API_KEY` at run time.',
  messages: { found: 'DeepSeek API key.' },
  family: 'ai-apis',
  priority: 3,
  assignment: providerAssignment({ names: ['deepseek'], hints: ['deepseek'], value: DEEPSEEK, message: 'found', validate: (v) => mixed(v, 3) }),
  patterns: [DEEPSEEK],
  examples: () => {
    const f = new Fake(6102);
    return {
      positive: [
        { text: `DEEPSEEK_API_KEY=sk-${f.hex(32)}`, file: '.env' },
        { text: `client = OpenAI(api_key="sk-${f.hex(32)}", base_url="https://api.deepseek.com")`, file: 'chat.py' },
      ],
      negative: [
        { text: `DEEPSEEK_API_KEY=sk-${f.hex(31)}`, file: '.env' },
        { text: `DEEPSEEK_API_KEY=sk-${'0'.repeat(32)}`, file: '.env' },
        { text: `SOME_VENDOR_KEY=sk-${f.hex(32)}`, file: '.env' },
      ],
    };
  },
});

const PERPLEXITY = /pplx-[A-Za-z0-9]{48}(?![A-Za-z0-9_-])/y;

export const perplexityKeyRule = defineSecretRule({
  id: 'secrets/perplexity-api-key',
  title: 'Perplexity API key',
  description: 'A Perplexity API key (`pplx-` and 48 alphanumerics), used by retrieval and agent code to call the Sonar models.',
  severity: 'high',
  confidence: 'high',
  tags: tags('perplexity'),
  remediation: 'Revoke the key in the Perplexity API settings, remove it from the file and from git history, and read it from `PERPLEXITY_API_KEY` at run time.',
  messages: { found: 'Perplexity API key.' },
  family: 'ai-apis',
  priority: 3,
  detectors: [prefixToken({ keywords: ['pplx-'], pattern: PERPLEXITY, prefixLength: 5, message: 'found', validate: (t) => mixed(t, 5) && {} })],
  patterns: [PERPLEXITY],
  examples: () => {
    const f = new Fake(6103);
    return {
      positive: [{ text: `PERPLEXITY_API_KEY=pplx-${f.alnum(48)}`, file: '.env' }],
      negative: [
        { text: `PERPLEXITY_API_KEY=pplx-${f.alnum(47)}`, file: '.env' },
        { text: 'PERPLEXITY_API_KEY=pplx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', file: '.env' },
      ],
    };
  },
});

const XAI = /xai-[A-Za-z0-9]{70,100}(?![A-Za-z0-9_-])/y;

export const xaiKeyRule = defineSecretRule({
  id: 'secrets/xai-api-key',
  title: 'xAI API key',
  description: 'An xAI (Grok) API key: `xai-` followed by 70 to 100 alphanumerics (80 in keys issued today).',
  severity: 'high',
  confidence: 'high',
  tags: tags('xai'),
  remediation: 'Delete the key in the xAI console (API Keys), remove it from the file and from git history, and read it from `XAI_API_KEY` at run time.',
  messages: { found: 'xAI API key.' },
  family: 'ai-apis',
  priority: 3,
  detectors: [prefixToken({ keywords: ['xai-'], pattern: XAI, prefixLength: 4, message: 'found', validate: (t) => mixed(t, 4) && {} })],
  patterns: [XAI],
  examples: () => {
    const f = new Fake(6104);
    return {
      positive: [{ text: `client = Client(api_key="xai-${f.alnum(80)}")`, file: 'grok.py' }],
      negative: [
        { text: `XAI_API_KEY=xai-${f.alnum(40)}`, file: '.env' },
        { text: `XAI_API_KEY=xbi-${f.alnum(80)}`, file: '.env' },
      ],
    };
  },
});

const OPENROUTER = /sk-or-v1-[a-f0-9]{64}(?![A-Za-z0-9_-])/y;

export const openrouterKeyRule = defineSecretRule({
  id: 'secrets/openrouter-api-key',
  title: 'OpenRouter API key',
  description: 'An OpenRouter API key (`sk-or-v1-` and 64 hex characters). One key reaches every model the account can route to, on its credit.',
  severity: 'high',
  confidence: 'high',
  tags: tags('openrouter'),
  remediation: 'Delete the key at openrouter.ai/settings/keys, remove it from the file and from git history, and read it from `OPENROUTER_API_KEY` at run time.',
  messages: { found: 'OpenRouter API key.' },
  family: 'ai-apis',
  priority: 4,
  detectors: [prefixToken({ keywords: ['sk-or-v1-'], pattern: OPENROUTER, prefixLength: 9, message: 'found', validate: (t) => mixed(t, 9) && {} })],
  patterns: [OPENROUTER],
  examples: () => {
    const f = new Fake(6105);
    return {
      positive: [{ text: `OPENROUTER_API_KEY=sk-or-v1-${f.hex(64)}`, file: '.env' }],
      negative: [
        { text: `OPENROUTER_API_KEY=sk-or-v1-${f.hex(32)}`, file: '.env' },
        { text: `OPENROUTER_API_KEY=sk-or-v2-${f.hex(64)}`, file: '.env' },
      ],
    };
  },
});

const FIREWORKS = /fw_[A-Za-z0-9]{24}(?![A-Za-z0-9_-])/y;
const FIREWORKS_VALUE = /^fw_[A-Za-z0-9]{24}$/;

export const fireworksKeyRule = defineSecretRule({
  id: 'secrets/fireworks-api-key',
  title: 'Fireworks AI API key',
  description:
    'A Fireworks AI API key (`fw_` and 24 alphanumerics). The prefix is short, so the key is reported at medium confidence unless a ' +
    'Fireworks name or endpoint is around it (`FIREWORKS_API_KEY`, `api.fireworks.ai`).',
  severity: 'high',
  confidence: 'medium',
  tags: tags('fireworks'),
  remediation: 'Delete the key in the Fireworks console (API Keys), remove it from the file and from git history, and read it from `FIREWORKS_API_KEY` at run time.',
  messages: { found: 'Fireworks AI API key.' },
  family: 'ai-apis',
  priority: 3,
  detectors: [prefixToken({ keywords: ['fw_'], pattern: FIREWORKS, prefixLength: 3, message: 'found', validate: (t) => charClasses(t.slice(3)).count >= 3 && {} })],
  assignment: providerAssignment({ names: ['fireworks'], hints: ['fireworks'], value: FIREWORKS_VALUE, message: 'found', confidence: 'high', validate: (v) => mixed(v, 3) }),
  patterns: [FIREWORKS, FIREWORKS_VALUE],
  examples: () => {
    const f = new Fake(6106);
    const key = (): string => `fw_${f.alnum(20)}Ab1${f.alnum(1)}`;
    return {
      positive: [
        { text: `FIREWORKS_API_KEY=${key()}`, file: '.env' },
        { text: `llm = Fireworks(api_key="${key()}")`, file: 'agent.py' },
      ],
      negative: [
        { text: `FIREWORKS_API_KEY=fw_${f.alnum(23)}`, file: '.env' },
        { text: 'layer = "fw_attention_projection_weights"', file: 'model.py' },
      ],
    };
  },
});

const NVIDIA = /nvapi-[A-Za-z0-9_-]{64}(?![A-Za-z0-9_-])/y;

export const nvidiaKeyRule = defineSecretRule({
  id: 'secrets/nvidia-api-key',
  title: 'NVIDIA API key',
  description:
    'An NVIDIA API key for build.nvidia.com, NIM endpoints and the NGC catalog (`nvapi-` and 64 URL-safe characters). It pulls private ' +
    'containers and models from NGC and calls hosted NIM inference on the account.',
  severity: 'high',
  confidence: 'high',
  tags: tags('nvidia'),
  remediation: 'Revoke the key in the NGC / build.nvidia.com API key settings, remove it from the file and from git history, and read it from `NVIDIA_API_KEY` or `NGC_API_KEY` at run time.',
  messages: { found: 'NVIDIA API key.' },
  family: 'ai-apis',
  priority: 3,
  detectors: [prefixToken({ keywords: ['nvapi-'], pattern: NVIDIA, prefixLength: 6, message: 'found', validate: (t) => mixed(t, 6) && {} })],
  patterns: [NVIDIA],
  examples: () => {
    const f = new Fake(6107);
    return {
      positive: [{ text: `export NGC_API_KEY=nvapi-${f.chars(B64URL, 64)}`, file: 'setup.sh' }],
      negative: [
        { text: `export NGC_API_KEY=nvapi-${f.chars(B64URL, 40)}`, file: 'setup.sh' },
        { text: `export NGC_API_KEY=nvkey-${f.chars(B64URL, 64)}`, file: 'setup.sh' },
      ],
    };
  },
});

const BEDROCK_LONG = /ABSK[A-Za-z0-9+/]{100,300}={0,2}(?![A-Za-z0-9+/=])/y;
const BEDROCK_SHORT = /bedrock-api-key-[A-Za-z0-9+/]{40,3000}={0,2}(?![A-Za-z0-9+/=])/y;

/** The decoded body of a Bedrock API key: `BedrockAPIKey-…` (long-term) or a presigned `bedrock.amazonaws.com/…` URL (short-term). */
function bedrockBody(token: string, prefixLength: number, expect: string): boolean {
  const body = token.slice(prefixLength).replace(/=+$/, '');
  const usable = body.slice(0, body.length - (body.length % 4));
  return decodeBase64(usable)?.toString('latin1').startsWith(expect) === true;
}

export const bedrockKeyRule = defineSecretRule({
  id: 'secrets/aws-bedrock-api-key',
  title: 'Amazon Bedrock API key',
  description:
    'An Amazon Bedrock API key: long-term keys (`ABSK` and base64 that decodes to `BedrockAPIKey-…`) and short-term keys ' +
    '(`bedrock-api-key-` and a base64 presigned `bedrock.amazonaws.com` request). Either calls Bedrock models as the IAM identity ' +
    'behind it until it expires or is revoked.',
  severity: 'critical',
  confidence: 'high',
  tags: tags('aws'),
  remediation:
    'Revoke the key (IAM → Users → Bedrock API keys, or delete the service-specific credential), remove it from the file and from git ' +
    'history, and use short-term credentials from an IAM role instead.',
  messages: { long: 'Amazon Bedrock long-term API key.', short: 'Amazon Bedrock short-term API key.' },
  family: 'ai-apis',
  priority: 3,
  detectors: [
    prefixToken({ keywords: ['ABSK'], pattern: BEDROCK_LONG, prefixLength: 4, message: 'long', validate: (t) => bedrockBody(t, 4, 'BedrockAPIKey-') && {} }),
    prefixToken({ keywords: ['bedrock-api-key-'], pattern: BEDROCK_SHORT, prefixLength: 16, message: 'short', validate: (t) => bedrockBody(t, 16, 'bedrock.amazonaws.com') && {} }),
  ],
  patterns: [BEDROCK_LONG, BEDROCK_SHORT],
  examples: () => {
    const f = new Fake(6108);
    const long = `ABSK${Buffer.from(`BedrockAPIKey-${f.alnum(4)}-at-${f.chars('0123456789', 12)}:${f.chars(B64, 60)}`).toString('base64')}`;
    const short = `bedrock-api-key-${Buffer.from(`bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Credential=${f.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 20)}&X-Amz-Signature=${f.hex(64)}&Version=1`).toString('base64')}`;
    return {
      positive: [
        { text: `AWS_BEARER_TOKEN_BEDROCK=${long}`, file: '.env' },
        { text: `export AWS_BEARER_TOKEN_BEDROCK="${short}"`, file: 'run.sh' },
      ],
      negative: [
        { text: `AWS_BEARER_TOKEN_BEDROCK=ABSK${f.chars(B64, 120)}`, file: '.env' },
        { text: `AWS_BEARER_TOKEN_BEDROCK=bedrock-api-key-${Buffer.from(`example.com/${f.alnum(60)}`).toString('base64')}`, file: '.env' },
      ],
    };
  },
});

const TAVILY = /tvly-(?:dev-|prod-)?[A-Za-z0-9]{32}(?![A-Za-z0-9_-])/y;

export const tavilyKeyRule = defineSecretRule({
  id: 'secrets/tavily-api-key',
  title: 'Tavily API key',
  description: 'A Tavily search API key (`tvly-`, optionally `tvly-dev-` or `tvly-prod-`, and 32 alphanumerics), used by agents and RAG pipelines for web search.',
  severity: 'medium',
  confidence: 'high',
  tags: tags('tavily'),
  remediation: 'Delete the key at app.tavily.com, remove it from the file and from git history, and read it from `TAVILY_API_KEY` at run time.',
  messages: { found: 'Tavily API key.' },
  family: 'ai-apis',
  priority: 3,
  detectors: [prefixToken({ keywords: ['tvly-'], pattern: TAVILY, prefixLength: 5, message: 'found', validate: (t) => charClasses(t.slice(t.lastIndexOf('-') + 1)).count >= 2 && {} })],
  patterns: [TAVILY],
  examples: () => {
    const f = new Fake(6109);
    return {
      positive: [
        { text: `TAVILY_API_KEY=tvly-${f.alnum(32)}`, file: '.env' },
        { text: `tavily = TavilyClient(api_key="tvly-dev-${f.alnum(32)}")`, file: 'search.py' },
      ],
      negative: [
        { text: 'TAVILY_API_KEY=tvly-YOUR_API_KEY', file: '.env' },
        { text: `TAVILY_API_KEY=tvly-${f.alnum(31)}`, file: '.env' },
      ],
    };
  },
});

const LLAMACLOUD = /llx-[A-Za-z0-9_-]{40,64}(?![A-Za-z0-9_-])/y;

export const llamacloudKeyRule = defineSecretRule({
  id: 'secrets/llamacloud-api-key',
  title: 'LlamaCloud API key',
  description: 'A LlamaCloud (LlamaIndex, LlamaParse) API key: `llx-` and 40 to 64 URL-safe characters. It parses, indexes and retrieves the documents of the projects it can reach.',
  severity: 'high',
  confidence: 'high',
  tags: tags('llamacloud'),
  remediation: 'Delete the key at cloud.llamaindex.ai (API Keys), remove it from the file and from git history, and read it from `LLAMA_CLOUD_API_KEY` at run time.',
  messages: { found: 'LlamaCloud API key.' },
  family: 'ai-apis',
  priority: 3,
  detectors: [prefixToken({ keywords: ['llx-'], pattern: LLAMACLOUD, prefixLength: 4, message: 'found', validate: (t) => charClasses(t.slice(4)).count >= 3 && {} })],
  patterns: [LLAMACLOUD],
  examples: () => {
    const f = new Fake(6110);
    return {
      positive: [{ text: `parser = LlamaParse(api_key="llx-${f.alnum(46)}9a")`, file: 'ingest.py' }],
      negative: [
        { text: 'LLAMA_CLOUD_API_KEY=llx-...', file: '.env' },
        { text: `LLAMA_CLOUD_API_KEY=llx-${f.alnum(20)}`, file: '.env' },
      ],
    };
  },
});
