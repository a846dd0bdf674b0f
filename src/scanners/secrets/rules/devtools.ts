import { defineSecretRule } from '../define.js';
import { B64URL, Fake, HEX, UPPER_B32 } from '../fake.js';
import { charClasses } from '../stats.js';
import { prefixToken } from '../tokens.js';
import type { KeywordDetector } from '../types.js';
import { tags } from './kit.js';

/**
 * Tokens of developer services that sit next to ML code — cloud, database, package and secret-manager accounts —
 * each with a distinctive, documented prefix. One rule, one message per service; the checks are the format (and the
 * CRC-16 of NATS NKey seeds).
 */

interface Service {
  readonly name: string;
  readonly keywords: readonly string[];
  readonly pattern: RegExp;
  readonly prefixLength: number;
  /** Extra check of the whole token. */
  readonly check?: (token: string) => boolean;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function decodeBase32(text: string): Buffer | undefined {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of text) {
    const v = BASE32.indexOf(ch);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** CRC-16/XMODEM (polynomial 0x1021, initial 0), as NATS NKeys use it. */
export function crc16Xmodem(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** A NATS NKey seed: base32 of two prefix bytes, the 32-byte seed and a little-endian CRC-16 of the rest. */
export function isNkeySeed(token: string): boolean {
  const raw = decodeBase32(token);
  if (raw === undefined || raw.length < 36) return false;
  const body = raw.subarray(0, 34);
  return raw.readUInt16LE(34) === crc16Xmodem(body) && (raw[0]! >> 3) === 18;
}

function random(token: string, from: number): boolean {
  return charClasses(token.slice(from)).count >= 2;
}

const SERVICES: readonly Service[] = [
  { name: 'DigitalOcean token', keywords: ['dop_v1_', 'doo_v1_', 'dor_v1_'], pattern: /do[por]_v1_[a-f0-9]{64}(?![A-Za-z0-9_-])/y, prefixLength: 7 },
  { name: 'Linear API key', keywords: ['lin_api_'], pattern: /lin_api_[A-Za-z0-9]{40}(?![A-Za-z0-9_-])/y, prefixLength: 8 },
  { name: 'Postman API key', keywords: ['PMAK-'], pattern: /PMAK-[a-f0-9]{24}-[a-f0-9]{34}(?![A-Za-z0-9_-])/y, prefixLength: 5 },
  { name: 'Heroku API key', keywords: ['HRKU-AA'], pattern: /HRKU-AA[A-Za-z0-9_-]{58}(?![A-Za-z0-9_-])/y, prefixLength: 7 },
  { name: 'PlanetScale credential', keywords: ['pscale_tkn_', 'pscale_pw_', 'pscale_oauth_'], pattern: /pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_=.-]{32,64}(?![A-Za-z0-9_=.-])/y, prefixLength: 10 },
  { name: 'Supabase access token', keywords: ['sbp_'], pattern: /sbp_[a-f0-9]{40}(?![A-Za-z0-9_-])/y, prefixLength: 4 },
  { name: 'RubyGems API key', keywords: ['rubygems_'], pattern: /rubygems_[a-f0-9]{48}(?![A-Za-z0-9_-])/y, prefixLength: 9 },
  { name: 'Doppler token', keywords: ['dp.pt.', 'dp.st.', 'dp.sa.', 'dp.ct.', 'dp.scim.', 'dp.audit.'], pattern: /dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9_.-]{40,64}(?![A-Za-z0-9_-])/y, prefixLength: 6 },
  { name: 'Dynatrace API token', keywords: ['dt0c01.'], pattern: /dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}(?![A-Za-z0-9_-])/y, prefixLength: 7 },
  { name: 'age secret key', keywords: ['AGE-SECRET-KEY-1'], pattern: /AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}(?![A-Za-z0-9])/y, prefixLength: 16 },
  { name: '1Password service account token', keywords: ['ops_eyJ'], pattern: /ops_eyJ[A-Za-z0-9+/]{250,4000}={0,3}(?![A-Za-z0-9+/=])/y, prefixLength: 4 },
];

/** A NATS NKey seed: `S`, the key type, and 56 more base32 characters. */
const NKEY_SEED = /S[UAONCX]A[A-Z2-7]{55}(?![A-Za-z0-9])/;
const NKEY_VALUE = /^S[UAONCX]A[A-Z2-7]{55}$/;

/** The seed inside a NATS `.creds` armor (`-----BEGIN USER NKEY SEED-----`), on one of the next lines. */
const nkeyArmor: KeywordDetector = {
  keywords: ['NKEY SEED-----'],
  find(doc, pos, keyword, emit) {
    const from = pos + keyword.length;
    const window = doc.text.slice(from, from + 256);
    const m = NKEY_SEED.exec(window);
    if (m === null || !isNkeySeed(m[0])) return;
    emit({ start: from + m.index, end: from + m.index + m[0].length, secret: m[0], message: 'found', data: { service: 'NATS NKey seed' } });
  },
};

const DETECTORS: KeywordDetector[] = [nkeyArmor, ...SERVICES.map((s) =>
  prefixToken({
    keywords: s.keywords,
    pattern: s.pattern,
    prefixLength: s.prefixLength,
    message: 'found',
    validate: (token) => (random(token, s.prefixLength) && (s.check === undefined || s.check(token)) ? { data: { service: s.name } } : false),
  }),
)];

export const developerServiceTokenRule = defineSecretRule({
  id: 'secrets/developer-service-token',
  title: 'Developer service token',
  description:
    'A token of a developer service with a distinctive, documented format: DigitalOcean (`dop_v1_`, `doo_v1_`, `dor_v1_`), Linear ' +
    '(`lin_api_`), Postman (`PMAK-`), Heroku (`HRKU-AA`), PlanetScale (`pscale_tkn_`, `pscale_pw_`, `pscale_oauth_`), Supabase (`sbp_`), ' +
    'RubyGems (`rubygems_`), Doppler (`dp.pt.`, `dp.st.`, …), Dynatrace (`dt0c01.`), age secret keys (`AGE-SECRET-KEY-1`), 1Password ' +
    'service accounts (`ops_eyJ…`) and NATS NKey seeds (`SUA…`, `SAA…`, `SOA…` assigned to a name or in a `.creds` armor, checked by ' +
    'their CRC-16).',
  severity: 'high',
  confidence: 'high',
  tags: tags('developer-services'),
  remediation: "Revoke or rotate the token in the service's console, remove it from the file and from git history, and read it from a secret store or the environment at run time.",
  messages: { found: '{{service}}.' },
  family: 'devtools',
  priority: 3,
  detectors: DETECTORS,
  // An NKey seed assigned to any name (`nkey = "SU…"`, `seed: SA…`) is recognised by its format and checksum.
  assignment: (a) => (NKEY_VALUE.test(a.value) && isNkeySeed(a.value) ? { message: 'found', data: { service: 'NATS NKey seed' }, evidence: `${a.name}=${a.value}` } : undefined),
  patterns: [...SERVICES.map((s) => s.pattern), NKEY_SEED, NKEY_VALUE],
  examples: () => {
    const f = new Fake(6401);
    const seed = (): string => {
      const type = 20 << 3; // user
      const raw = Buffer.concat([Buffer.from([(18 << 3) | (type >> 5), (type & 31) << 3]), f.bytes(32)]);
      const crc = Buffer.alloc(2);
      crc.writeUInt16LE(crc16Xmodem(raw));
      return encodeBase32(Buffer.concat([raw, crc]));
    };
    const badSeed = (): string => {
      const good = seed();
      return good.slice(0, 10) + (good[10] === 'A' ? 'B' : 'A') + good.slice(11);
    };
    return {
      positive: [
        { text: `DIGITALOCEAN_TOKEN=dop_v1_${f.hex(64)}`, file: '.env' },
        { text: `LINEAR_API_KEY=lin_api_${f.alnum(40)}`, file: '.env' },
        { text: `POSTMAN_API_KEY=PMAK-${f.hex(24)}-${f.hex(34)}`, file: '.env' },
        { text: `nkey = "${seed()}"`, file: 'nats.py' },
        { text: `DOPPLER_TOKEN=dp.st.prd.${f.chars(B64URL, 43)}`, file: '.env' },
      ],
      negative: [
        { text: `DIGITALOCEAN_TOKEN=dop_v1_${f.hex(40)}`, file: '.env' },
        { text: `nkey = "${badSeed()}"`, file: 'nats.py' },
        { text: `HEADER = "SUBJECT_${f.chars(UPPER_B32, 50)}"`, file: 'consts.py' },
        { text: `RUBYGEMS_API_KEY=rubygems_${'0'.repeat(48)}`, file: '.env' },
        { text: `PMAK = "PMAK-${f.chars(HEX, 24)}"`, file: 'x.py' },
      ],
    };
  },
});

function encodeBase32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}
