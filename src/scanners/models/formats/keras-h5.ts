import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { readAll } from '../../../core/byte-source.js';
import { defineRule } from '../../../core/rule.js';
import type { ScanContext, ScanTarget } from '../../../core/scanner.js';
import type { ModelFormat } from '../format.js';
import { analyzeKerasConfig, kerasRules, reportKerasIssues } from '../keras/index.js';
import { describeJsonType } from '../../../core/json.js';

/**
 * Legacy Keras / tf.keras HDF5 models (`model.save('m.h5')`). The model's architecture is a JSON
 * string in the root attribute `model_config` (and the compile settings in `training_config`);
 * loading the file rebuilds it, running any Lambda layer's marshalled bytecode, since legacy HDF5
 * loading has no safe mode (CVE-2024-3660 and its follow-ups).
 *
 * HDF5 is read with h5wasm (the HDF5 C library compiled to WebAssembly) in a short-lived worker
 * thread, so a file that makes the library loop or abort can be stopped at the deadline without
 * taking the scan down. Top-level files are opened in place (h5wasm's Node build reads the file
 * system directly, not a copy in memory); container members are written to a private temporary
 * file first, bounded by `limits.maxMemberBytes`. Only the root attributes are read.
 */

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Root attributes read from the file; others are not read. */
const CONFIG_ATTRIBUTES = ['model_config', 'training_config'] as const;
/** Largest attribute value taken from the worker (Keras configs of very large models are a few MB). */
const MAX_ATTRIBUTE_CHARS = 64 * 1024 * 1024;
/** The shortest time a worker is given, even when the file's deadline is near. */
const MIN_WORKER_MS = 2_000;

const TAGS = ['owasp-ml:ML06', 'format:keras-h5'] as const;

export const kerasH5UnreadableRule = defineRule<'openFailed' | 'tooLarge' | 'timeout' | 'workerFailed', void>({
  id: 'models/keras-h5-unreadable',
  title: 'HDF5 model file could not be read',
  description:
    'The file carries the HDF5 signature but the HDF5 library could not open it (truncated, corrupt, or crafted structures), ' +
    'did not finish within the time limit, or it is a container member too large to read. A legacy Keras model in such a file ' +
    'cannot be checked for Lambda layers, so it is reported rather than passed.',
  severity: 'high',
  confidence: 'medium',
  tags: [...TAGS, 'cwe:20'],
  remediation: 'Do not load the file. Check that it downloaded completely (compare the publisher\'s digest); re-save the model with a current Keras (`.keras`).',
  messages: {
    openFailed: 'The HDF5 library could not open this file: {{reason}}',
    tooLarge: 'HDF5 member of {{size}} bytes exceeds limits.maxMemberBytes ({{limit}}) and was not read.',
    timeout: 'Reading the HDF5 file did not finish within {{ms}} ms.',
    workerFailed: 'The HDF5 reader failed: {{reason}}',
  },
  check: () => undefined,
});

export const kerasH5ConfigInvalidRule = defineRule<'notJson' | 'notString' | 'notObject', void>({
  id: 'models/keras-h5-config-invalid',
  title: 'Keras HDF5 model_config is garbled',
  description:
    'The root `model_config` (or `training_config`) attribute of an HDF5 model is not a JSON object. Keras cannot rebuild the model ' +
    'from it, and Custody cannot check it for Lambda layers or unsafe functions; a config that only some readers accept is a ' +
    'way to hide what a model runs.',
  severity: 'high',
  confidence: 'high',
  tags: [...TAGS, 'cwe:20'],
  remediation: 'Re-save the model from its source code with a current Keras (`model.save("m.keras")`).',
  messages: {
    notJson: '{{attribute}} is not valid JSON: {{reason}}',
    notString: '{{attribute}} holds {{found}}, not a JSON string.',
    notObject: '{{attribute}} is JSON but not an object (found {{found}}).',
  },
  check: () => undefined,
});

const RULES = [kerasH5ConfigInvalidRule, kerasH5UnreadableRule, ...kerasRules] as const;

/** HDF5 puts its superblock at 0 or, after a user block, at 512, 1024, 2048, … */
export function findHdf5Signature(head: Buffer): number {
  for (let offset = 0; offset + HDF5_SIGNATURE.length <= head.length; offset = offset === 0 ? 512 : offset * 2) {
    if (head.subarray(offset, offset + HDF5_SIGNATURE.length).equals(HDF5_SIGNATURE)) return offset;
  }
  return -1;
}

type AttributeValue = { kind: 'string'; text: string } | { kind: 'other'; type: string };

type WorkerResult =
  | { ok: true; attributes: Record<string, AttributeValue> }
  | { ok: false; error: string };

/** Runs inside the worker: open the file with h5wasm, read the wanted root attributes, post them back. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
// With NODERAWFS the HDF5 library writes its error stack straight to fd 2; keep it (bounded) as the reason.
let diagnostics = '';
const writeSync = fs.writeSync;
fs.writeSync = function (fd, buffer, offset, length, position) {
  if (fd !== 1 && fd !== 2) return writeSync.call(this, fd, buffer, offset, length, position);
  const text = typeof buffer === 'string' ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset + (offset || 0), length === undefined ? buffer.byteLength - (offset || 0) : length).toString('utf8');
  if (diagnostics.length < 20000) diagnostics += text;
  return typeof buffer === 'string' ? Buffer.byteLength(buffer) : (length === undefined ? buffer.byteLength - (offset || 0) : length);
};
function reason(fallback) {
  // The first error stack's deepest frame says what was wrong: "#006: ... in H5F__super_read(): truncated file: ...".
  const stack = diagnostics.split('HDF5-DIAG')[1] || '';
  const frames = stack.split('\\n').filter((line) => /^\\s*#\\d+:/.test(line));
  const last = frames[frames.length - 1];
  const match = last && /\\):\\s*(.*)$/.exec(last);
  return match ? match[1] : fallback;
}
(async () => {
  let file;
  try {
    const h5wasm = (await import(workerData.url)).default;
    await h5wasm.ready;
    file = new h5wasm.File(workerData.path, 'r');
    const attrs = file.attrs;
    const attributeNames = Object.keys(attrs);
    const attributes = {};
    for (const name of workerData.wanted) {
      if (!attributeNames.includes(name)) continue;
      let value;
      try { value = attrs[name].value; } catch (error) { attributes[name] = { kind: 'other', type: 'unreadable: ' + String(error && error.message || error).split('\\n')[0] }; continue; }
      if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') value = value[0];
      if (value instanceof Uint8Array) value = Buffer.from(value).toString('utf8');
      if (typeof value === 'string') attributes[name] = { kind: 'string', text: value.slice(0, workerData.maxChars) };
      else attributes[name] = { kind: 'other', type: Array.isArray(value) ? 'an array' : typeof value };
    }
    parentPort.postMessage({ ok: true, attributes });
  } catch (error) {
    const message = reason(String(error && error.message || error).split('\\n')[0]);
    parentPort.postMessage({ ok: false, error: message.slice(0, 300) });
  } finally {
    try { if (file) file.close(); } catch {}
  }
})();
`;

let h5wasmUrl: string | undefined;
function resolveH5wasm(): string {
  h5wasmUrl ??= import.meta.resolve('h5wasm/node');
  return h5wasmUrl;
}

/** Reads root attributes of an HDF5 file in a worker; resolves `timeout` when the deadline passes. */
async function readRootAttributes(path: string, timeoutMs: number): Promise<WorkerResult | 'timeout'> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { url: resolveH5wasm(), path, wanted: CONFIG_ATTRIBUTES, maxChars: MAX_ATTRIBUTE_CHARS },
    // The HDF5 library prints its error stack; keep it out of the user's terminal.
    stdout: true,
    stderr: true,
  });
  worker.stdout.resume();
  worker.stderr.resume();
  try {
    return await new Promise<WorkerResult | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      worker.once('message', (message: WorkerResult) => {
        clearTimeout(timer);
        resolve(message);
      });
      worker.once('error', (error: Error) => {
        clearTimeout(timer);
        resolve({ ok: false, error: error.message.split('\n')[0] ?? 'worker error' });
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ ok: false, error: `reader exited with code ${code}` });
      });
    });
  } finally {
    await worker.terminate();
  }
}

async function scanKerasH5(target: ScanTarget, context: ScanContext): Promise<void> {
  const unreadable = context.reporter(kerasH5UnreadableRule, target);
  let path = target.absPath;
  let tempDir: string | undefined;
  try {
    if (path === undefined) {
      const bytes = await readAll(target.source, context.limits.maxMemberBytes);
      if (bytes === undefined) {
        unreadable({ message: 'tooLarge', data: { size: target.source.size, limit: context.limits.maxMemberBytes } });
        return;
      }
      tempDir = await mkdtemp(join(tmpdir(), 'custody-h5-'));
      path = join(tempDir, 'member.h5');
      await writeFile(path, bytes, { mode: 0o600 });
    }
    const timeoutMs = Math.max(MIN_WORKER_MS, context.deadline - Date.now());
    const result = await readRootAttributes(path, timeoutMs);
    if (result === 'timeout') {
      unreadable({ message: 'timeout', data: { ms: timeoutMs } });
      return;
    }
    if (!result.ok) {
      unreadable({ message: 'openFailed', data: { reason: result.error } });
      return;
    }
    for (const name of CONFIG_ATTRIBUTES) {
      const value = result.attributes[name];
      if (value !== undefined) checkConfig(name, value, target, context);
    }
  } catch (error) {
    unreadable({ message: 'workerFailed', data: { reason: (error as Error).message.split('\n')[0] ?? 'unknown' } });
  } finally {
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
  }
}

function checkConfig(attribute: string, value: AttributeValue, target: ScanTarget, context: ScanContext): void {
  const invalid = context.reporter(kerasH5ConfigInvalidRule, target);
  if (value.kind !== 'string') {
    invalid({ message: 'notString', data: { attribute, found: value.type }, key: attribute });
    return;
  }
  let config: unknown;
  try {
    config = JSON.parse(value.text);
  } catch (error) {
    invalid({ message: 'notJson', data: { attribute, reason: (error as Error).message.slice(0, 120) }, key: attribute });
    return;
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    invalid({ message: 'notObject', data: { attribute, found: describeJsonType(config) }, key: attribute });
    return;
  }
  // The architecture is the file's own config; compile settings are told apart by a member suffix.
  reportKerasIssues(analyzeKerasConfig(config), target, context, attribute === 'model_config' ? undefined : attribute);
}

export const kerasH5Format: ModelFormat = {
  name: 'keras-h5',
  rules: RULES,
  detect: (target) => findHdf5Signature(target.head) >= 0,
  scan: scanKerasH5,
};
