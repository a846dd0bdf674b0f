import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { providerAssignment, tags } from './kit.js';

const KEY = /pcsk_[A-Za-z0-9]{4,8}_[A-Za-z0-9]{50,90}(?![A-Za-z0-9_])/y;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const pineconeKeyRule = defineSecretRule({
  id: 'secrets/pinecone-api-key',
  title: 'Pinecone API key',
  description:
    'A Pinecone API key: the current `pcsk_` format, or a legacy UUID key assigned to a Pinecone name (`PINECONE_API_KEY`) or passed ' +
    'to the Pinecone client. The key reads and overwrites the vector indexes a retrieval pipeline trusts.',
  severity: 'high',
  confidence: 'high',
  tags: tags('pinecone'),
  remediation: 'Delete the key in the Pinecone console (API Keys), remove it from the file and from git history, and read it from `PINECONE_API_KEY` at run time.',
  messages: { found: 'Pinecone API key.', legacy: 'Pinecone legacy (UUID) API key.' },
  family: 'pinecone',
  priority: 3,
  detectors: [prefixToken({ keywords: ['pcsk_'], pattern: KEY, prefixLength: 5, message: 'found' })],
  assignment: providerAssignment({ names: ['pinecone'], hints: ['pinecone'], value: UUID, message: 'legacy' }),
  patterns: [KEY, UUID],
  examples: () => {
    const f = new Fake(1313);
    return {
      positive: [
        { text: `pc = Pinecone(api_key="pcsk_${f.alnum(6)}_${f.alnum(63)}")`, file: 'rag.py' },
        { text: `PINECONE_API_KEY=${f.uuid()}`, file: '.env' },
      ],
      negative: [
        { text: 'PINECONE_API_KEY=pcsk_...', file: '.env' },
        { text: `RUN_ID=${f.uuid()}`, file: '.env' },
        { text: `PINECONE_INDEX_NAME=${f.uuid()}`, file: '.env' },
      ],
    };
  },
});
