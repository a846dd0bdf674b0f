import { lastIndexWithin } from '../assign.js';
import { decodeBase64 } from '../decode.js';
import { defineSecretRule } from '../define.js';
import { B64, Fake } from '../fake.js';
import { isPlaceholder } from '../placeholder.js';
import { safeName } from '../uri.js';
import { pointsAt, tags } from './kit.js';

const ACCOUNT_KEY = /AccountKey=([A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])/iy;
const KEY_VALUE = /^[A-Za-z0-9+/]{86}==$/;
const SIG = /sig=([A-Za-z0-9%+/=]{40,120})(?![A-Za-z0-9%+/=])/iy;

function isStorageKey(value: string): boolean {
  return KEY_VALUE.test(value) && !isPlaceholder(value) && decodeBase64(value)?.length === 64;
}

export const azureStorageKeyRule = defineSecretRule({
  id: 'secrets/azure-storage-account-key',
  title: 'Azure storage account key',
  description:
    'An Azure storage account key (88 base64 characters that decode to 64 bytes), in a connection string (`AccountKey=…`) or assigned ' +
    'to a storage key name (`AZURE_STORAGE_KEY`, `account_key` near Azure). It grants full control of every blob, queue, table and ' +
    'file share in the account, where training data and model artifacts usually live.',
  severity: 'critical',
  confidence: 'high',
  tags: tags('azure'),
  remediation:
    'Rotate the key in the Azure portal (Storage account → Access keys), remove it from the file and from git history, and use ' +
    'Microsoft Entra ID (managed identities) or short-lived user-delegation SAS instead of account keys.',
  messages: { found: 'Azure storage account key.' },
  family: 'azure',
  priority: 3,
  detectors: [
    {
      keywords: ['accountkey='],
      ignoreCase: true,
      find(doc, pos, _keyword, emit) {
        ACCOUNT_KEY.lastIndex = pos;
        const m = ACCOUNT_KEY.exec(doc.text);
        const key = m?.[1];
        if (!m || key === undefined || !isStorageKey(key)) return;
        const start = pos + m[0].length - key.length;
        emit({ start, end: start + key.length, secret: key, message: 'found', evidence: `AccountKey=${key}` });
      },
    },
  ],
  assignment: (a, _doc, mode) => {
    if (!isStorageKey(a.value)) return undefined;
    const named = mode === 'name' ? (a.words.includes('azure') || a.words.includes('storage')) && a.words.at(-1) === 'key' : pointsAt(a, [], ['azure', 'blob', 'storage'], 'context');
    if (!named) return undefined;
    return { message: 'found', evidence: `${safeName(a.name)}=${a.value}` };
  },
  patterns: [ACCOUNT_KEY, KEY_VALUE],
  examples: () => {
    const f = new Fake(2424);
    const key = (): string => f.bytes(64).toString('base64');
    return {
      positive: [
        { text: `AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=mldata;AccountKey=${key()};EndpointSuffix=core.windows.net"`, file: '.env' },
        { text: `AZURE_STORAGE_KEY=${key()}`, file: '.env' },
      ],
      negative: [
        { text: `AccountKey=${f.chars(B64, 86)}==`.replace(/.{10}==$/, 'EXAMPLE123=='), file: '.env' },
        { text: 'AccountKey=<storage-account-key>', file: '.env' },
        { text: `AccountKey=${key().slice(0, 60)}==`, file: '.env' },
      ],
    };
  },
});

export const azureSasTokenRule = defineSecretRule({
  id: 'secrets/azure-sas-token',
  title: 'Azure shared access signature',
  description:
    'An Azure shared access signature (SAS): a query string with a service version (`sv=`), permissions or expiry (`sp=`, `se=`) and a ' +
    'signature (`sig=`) that decodes to a 32-byte HMAC. Anyone holding the URL has the granted access until it expires; SAS URLs are ' +
    'often pasted into notebooks to download datasets.',
  severity: 'high',
  confidence: 'high',
  tags: tags('azure'),
  remediation:
    'Revoke the SAS (rotate the signing account key, or remove the stored access policy / revoke user delegation keys), remove it ' +
    'from the file and from git history, and issue short-lived SAS at run time.',
  messages: { found: 'Azure shared access signature.' },
  family: 'azure',
  priority: 3,
  detectors: [
    {
      keywords: ['sig='],
      ignoreCase: true,
      find(doc, pos, _keyword, emit) {
        const text = doc.text;
        const prev = pos > 0 ? text.charCodeAt(pos - 1) : -1;
        if (prev !== 38 /* & */ && prev !== 63 /* ? */ && prev !== 59 /* ; */) return;
        SIG.lastIndex = pos;
        const m = SIG.exec(text);
        const sig = m?.[1];
        if (!m || sig === undefined || isPlaceholder(sig)) return;
        let decoded: Buffer | undefined;
        try {
          decoded = decodeBase64(decodeURIComponent(sig));
        } catch {
          return;
        }
        if (decoded?.length !== 32) return;
        // The query must look like a SAS: a service version and permissions or expiry, on the same line.
        const nl = lastIndexWithin(text, '\n', pos, pos - 2048);
        const query = text.slice(nl < 0 ? Math.max(0, pos - 2048) : nl + 1, pos).toLowerCase();
        if (!/[?&;]sv=/.test(query) || !/[?&;](?:se|sp|srt|ss|sr)=/.test(query)) return;
        const start = pos + 4;
        emit({ start, end: start + sig.length, secret: sig, message: 'found', evidence: `sig=${sig}` });
      },
    },
  ],
  patterns: [SIG],
  examples: () => {
    const f = new Fake(2525);
    const sig = (): string => encodeURIComponent(f.bytes(32).toString('base64'));
    return {
      positive: [
        { text: `url = "https://mldata.blob.core.windows.net/train/data.parquet?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&spr=https&sig=${sig()}"`, file: 'load.py' },
      ],
      negative: [
        { text: `url = "https://example.org/?q=1&sig=${sig()}"`, file: 'load.py' },
        { text: 'url = "https://mldata.blob.core.windows.net/c?sv=2022-11-02&sp=r&se=2030-01-01&sig=<signature>"', file: 'load.py' },
        { text: `url = "https://mldata.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=${encodeURIComponent(f.bytes(20).toString('base64'))}"`, file: 'load.py' },
      ],
    };
  },
});
