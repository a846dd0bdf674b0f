import { readAll } from '../../../core/byte-source.js';
import type { ScanTarget } from '../../../core/scanner.js';
import type { ModelFormat } from '../format.js';
import { analyzeKerasConfig, kerasMalformedRule, kerasRules, reportKerasIssues } from '../keras/index.js';

/**
 * Keras model configs as JSON: `config.json` inside a Keras 3 `.keras` zip (reached as a zip member),
 * an unpacked `.keras` directory, or `model.to_json()` output. Recognised by content — a JSON object
 * whose first key is `module` or `class_name` and that has a `config` — so the same check applies
 * wherever the config travels. The config is walked by the shared Keras config walker.
 */

const KERAS_JSON_START = /^\s*\{\s*"(module|class_name)"\s*:/;
const JSON_OBJECT_START = /^\s*\{/;

/**
 * Decodes JSON bytes the way Python's `json.loads(bytes)` does (which is how Keras reads
 * `config.json`): UTF-8 (with or without BOM), UTF-16 and UTF-32 (BOM or NUL pattern of the first
 * bytes). A config in UTF-16 loads in Keras, so it must be read here too.
 */
function decodeJsonBytes(bytes: Buffer): string {
  const b = (i: number): number => bytes[i] ?? -1;
  let encoding: 'utf8' | 'utf16le' | 'utf16be' | 'utf32le' | 'utf32be' = 'utf8';
  let skip = 0;
  if (b(0) === 0xef && b(1) === 0xbb && b(2) === 0xbf) skip = 3;
  else if (b(0) === 0xff && b(1) === 0xfe && b(2) === 0 && b(3) === 0) [encoding, skip] = ['utf32le', 4];
  else if (b(0) === 0 && b(1) === 0 && b(2) === 0xfe && b(3) === 0xff) [encoding, skip] = ['utf32be', 4];
  else if (b(0) === 0xff && b(1) === 0xfe) [encoding, skip] = ['utf16le', 2];
  else if (b(0) === 0xfe && b(1) === 0xff) [encoding, skip] = ['utf16be', 2];
  else if (b(0) === 0 && b(1) === 0 && b(2) === 0 && b(3) > 0) encoding = 'utf32be';
  else if (b(0) > 0 && b(1) === 0 && b(2) === 0 && b(3) === 0) encoding = 'utf32le';
  else if (b(0) === 0 && b(1) > 0) encoding = 'utf16be';
  else if (b(0) > 0 && b(1) === 0) encoding = 'utf16le';
  const body = bytes.subarray(skip);
  if (encoding === 'utf8') return body.toString('utf8');
  if (encoding === 'utf16le') return body.toString('utf16le');
  if (encoding === 'utf16be') {
    const swapped = Buffer.from(body.subarray(0, body.length & ~1));
    return swapped.swap16().toString('utf16le');
  }
  let out = '';
  const le = encoding === 'utf32le';
  for (let i = 0; i + 4 <= body.length; i += 4) {
    const cp = le ? body.readUInt32LE(i) : body.readUInt32BE(i);
    out += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
  }
  return out;
}

/**
 * True when the bytes look like a Keras model config: a JSON object (in any encoding Python's json
 * reads) that names a `class_name` and a `config`. Key order does not matter to Keras, so it does not
 * matter here either; whether the top-level object really is a Keras object is decided after parsing.
 */
export function sniffKerasConfig(head: Buffer): boolean {
  const text = decodeJsonBytes(head);
  if (!JSON_OBJECT_START.test(text)) return false;
  return text.includes('"class_name"') && text.includes('"config"');
}

/** The strict shape: `module` or `class_name` is the first key (what Keras itself writes). */
function startsLikeKeras(text: string): boolean {
  return KERAS_JSON_START.test(text.replace(/^\ufeff/, ''));
}

function isKerasRoot(config: unknown): boolean {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return false;
  const record = config as Record<string, unknown>;
  return typeof record['class_name'] === 'string' && 'config' in record;
}

async function scanKerasConfig(target: ScanTarget, context: Parameters<ModelFormat['scan']>[1]): Promise<void> {
  const malformed = context.reporter(kerasMalformedRule, target);
  const limit = context.limits.maxTextBytes;
  const bytes = await readAll(target.source, limit);
  if (bytes === undefined) {
    malformed({ message: 'found', data: { where: '(root)', reason: `the config is ${target.source.size} bytes, more than the ${limit}-byte text limit` }, key: 'size' });
    return;
  }
  let text = decodeJsonBytes(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    // Only text that starts the way Keras writes configs is held to be a broken Keras config; other
    // JSON-ish text that merely mentions class_name (JSON Lines, logs) is not this format's business.
    if (startsLikeKeras(text)) malformed({ message: 'found', data: { where: '(root)', reason: `not valid JSON: ${(error as Error).message.slice(0, 120)}` }, key: 'json' });
    return;
  }
  if (!isKerasRoot(config)) return;
  if (Date.now() > context.deadline) {
    malformed({ message: 'found', data: { where: '(root)', reason: 'the time budget for this file ran out' }, key: 'time' });
    return;
  }
  reportKerasIssues(analyzeKerasConfig(config), target, context);
}

export const kerasV3Format: ModelFormat = {
  name: 'keras-v3',
  rules: kerasRules,
  detect: (target) => sniffKerasConfig(target.head),
  scan: async (target, context) => {
    try {
      await scanKerasConfig(target, context);
    } catch (error) {
      context.reporter(kerasMalformedRule, target)({ message: 'found', data: { where: '(root)', reason: `unexpected: ${String(error).slice(0, 160)}` }, key: 'unexpected' });
    }
  },
};
