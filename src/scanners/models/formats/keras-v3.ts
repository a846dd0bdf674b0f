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

/** True when the bytes start like a Keras model config (object with `module`/`class_name` first, and a `config`). */
export function sniffKerasConfig(head: Buffer): boolean {
  let start = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) start = 3;
  const text = head.subarray(start, Math.min(head.length, start + 4096)).toString('utf8');
  if (!KERAS_JSON_START.test(text)) return false;
  return head.includes('"config"');
}

async function scanKerasConfig(target: ScanTarget, context: Parameters<ModelFormat['scan']>[1]): Promise<void> {
  const malformed = context.reporter(kerasMalformedRule, target);
  const limit = context.limits.maxTextBytes;
  const bytes = await readAll(target.source, limit);
  if (bytes === undefined) {
    malformed({ message: 'found', data: { where: '(root)', reason: `the config is ${target.source.size} bytes, more than the ${limit}-byte text limit` }, key: 'size' });
    return;
  }
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    malformed({ message: 'found', data: { where: '(root)', reason: `not valid JSON: ${(error as Error).message.slice(0, 120)}` }, key: 'json' });
    return;
  }
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
