/**
 * The pickle analyser: a symbolic stack machine for every opcode of pickle protocols 0–5 that reports
 * what loading a pickle would reach, without ever executing, importing or deserialising anything.
 *
 * STABLE API (the container formats — zip/PyTorch zip, legacy torch, npy/npz, compressed streams —
 * call it; change only compatibly):
 *
 *   scanPickleStream(data, start, target, context, { offsetBase })
 *     Analyses ONE pickle stream starting at byte `start` of `data` and reports findings through the
 *     pickle rules against `target` (offsets are positions in `data` plus `offsetBase`). Resolves to
 *     `{ end, complete, opcodes }`: where the stream ended (the offset after STOP, or where it broke),
 *     whether it reached STOP, and how many opcodes it read — so callers can look for concatenated or
 *     stacked pickles at `end`. Never throws for bad input: damage is a finding (models/pickle-malformed).
 *     joblib's NumpyArrayWrapper array bytes and object-array pickles inside the stream are handled
 *     inline; pickles nested in loader arguments (pickle.loads(b'...'), torch.storage._load_from_bytes…)
 *     are analysed as members named `pickle@<offset>` of `target`.
 *
 *   looksLikePickle(data, start = 0)
 *     Cheap test: could a pickle stream start at data[start]? PROTO 0x80 with a version 0–5, or a
 *     protocol-0/1 opcode that starts streams (`(` `]` `}` `c` `I` `N` …) followed by well-formed opcodes.
 *
 *   pickleRules
 *     Every rule the analyser reports (list them in a format's `rules`).
 *
 *   scanPickleBuffer(data, target, context)
 *     The whole-target reading formats/pickle.ts uses: streams from offset 0, then every concatenated
 *     pickle after each STOP while looksLikePickle holds (loaders such as torch's legacy format read
 *     several pickles in sequence, and attackers hide a second payload pickle after the first).
 */
import { BufferSource } from '../../../core/byte-source.js';
import type { AnyRule } from '../../../core/rule.js';
import { HEAD_BYTES, type ScanContext, type ScanTarget } from '../../../core/scanner.js';
import { analyseStream, DEFAULT_ANALYSER_LIMITS, type StreamOptions, type StreamResult } from './analyser.js';
import { classifyGlobal, compileAllow, type AllowConfig } from './classify.js';
import { PickleCollector } from './collector.js';
import { exploreLoaderViews } from './explore.js';
import { analysisRules, checkAnalysis, pickleTooLargeRule, type NestedOutcome } from './rules.js';
import { isTorchSave, looksLikePickle, sniffStart } from './sniff.js';

export { looksLikePickle } from './sniff.js';

/**
 * Could `head` (the first bytes of a target of `size` bytes) be a pickle? looksLikePickle, told that the
 * head may be a prefix; or a start whose first well-formed opcodes import a dangerous name (the unpickler
 * imports it as soon as it reads it, so a stream that breaks right after is still a loaded payload).
 */
export function detectPickle(head: Buffer, size: number): boolean {
  const prefix = size > head.length;
  const r = sniffStart(head, 0, prefix);
  if (r === undefined) return false;
  if (looksLikePickle(head, 0, prefix)) return true;
  return r.imports.some(([module, name]) => classifyGlobal(module, name, NO_ALLOW).verdict === 'dangerous');
}
const NO_ALLOW = compileAllow([]);
export { pickleTooLargeRule } from './rules.js';

export interface PickleScanOptions {
  /** Added to every reported offset (where `data` sits in the target, for container members). */
  offsetBase?: number;
}

export interface PickleStreamResult {
  end: number;
  complete: boolean;
  opcodes: number;
}

/** Every pickle rule, sorted by id. */
export const pickleRules: readonly AnyRule[] = [...analysisRules, pickleTooLargeRule].sort((a, b) => (a.id < b.id ? -1 : 1));

/** Concatenated streams read from one buffer before the rest is reported as not analysed. */
const MAX_STREAMS = 256;
/** Nested pickles (loader arguments) analysed per buffer, and per top-level file in all. */
const MAX_NESTED = 8;
const MAX_NESTED_PER_FILE = 64;
const TORCH_STORAGE_LOADER = 'torch.storage._load_from_bytes';
const nestedBudget = new WeakMap<ScanContext, { left: number }>();

const allowCache = new WeakMap<readonly string[], AllowConfig>();
function allowFor(context: ScanContext): AllowConfig {
  const entries = context.config.models.allow;
  let compiled = allowCache.get(entries);
  if (compiled === undefined) {
    compiled = compileAllow(entries);
    allowCache.set(entries, compiled);
  }
  return compiled;
}

export function scanPickleStream(data: Buffer, start: number, target: ScanTarget, context: ScanContext, options: PickleScanOptions = {}): Promise<PickleStreamResult> {
  return analyseAndReport(data, start, target, context, options.offsetBase ?? 0, false, undefined);
}

export interface PickleBufferOptions {
  /** Only a prefix of the target is in `data` (it is larger than limits.maxMemberBytes). */
  partialEnd?: number;
  /** Read only the first stream (another format walks the rest, as for legacy PyTorch files). */
  firstOnly?: boolean;
}

export async function scanPickleBuffer(data: Buffer, target: ScanTarget, context: ScanContext, options: PickleBufferOptions = {}): Promise<PickleStreamResult> {
  return analyseAndReport(data, 0, target, context, 0, options.firstOnly !== true, options.partialEnd);
}

async function analyseAndReport(
  data: Buffer, start: number, target: ScanTarget, context: ScanContext, offsetBase: number, multi: boolean, partialEnd: number | undefined,
): Promise<PickleStreamResult> {
  const collector = new PickleCollector(allowFor(context));
  const options: StreamOptions = { deadline: context.deadline, limits: DEFAULT_ANALYSER_LIMITS, joblib: true, depth: 0, lenient: false, quiet: false };
  let opcodes = 0;
  // Every reading of the stream a loader may execute: the sequential one, then those of C unpicklers that
  // honour frames (explore.ts).
  const read = (at: number): StreamResult => {
    const r = analyseStream(data, at, collector, options);
    opcodes += r.opcodes + exploreLoaderViews(data, at, r, collector, options);
    return r;
  };
  // A second load from the same file starts at the end of a frame left open at STOP when that frame was
  // fetched with read(n) (the C unpickler drops the rest of it; the Python one reads whole frames): that
  // stream is read too — also after the first pickle of a legacy torch file, which torch-legacy walks.
  const followTail = (r: StreamResult): void => {
    const tail = r.frameTail;
    if (tail === undefined || tail <= r.end || tail >= data.length || !looksLikePickle(data, tail)) return;
    collector.add(collector.divergences, { offset: tail, kind: 'nextStream', frame: tail, left: tail - r.end, reached: [] });
    read(tail);
  };
  const first = read(start);
  let last = first;
  followTail(first);
  if (multi) {
    for (let streams = 1; last.complete && last.end < data.length && looksLikePickle(data, last.end); streams++) {
      if (streams >= MAX_STREAMS) {
        collector.add(collector.limits, { offset: last.end, kind: 'streams', limit: MAX_STREAMS });
        break;
      }
      if (Date.now() > context.deadline) {
        collector.add(collector.limits, { offset: last.end, kind: 'deadline', limit: 0 });
        break;
      }
      last = read(last.end);
      followTail(last);
    }
  }
  // Legacy PyTorch tar members interleave pickles with raw storage bytes by design; the torch-legacy
  // format walks them pickle by pickle, so their bytes after STOP are not searched here.
  const legacyTarMember = target.depth > 0 && /(^|[!/])(storages|tensors)$/.test(target.member ?? '');
  if (multi && last.complete && last.end < data.length && partialEnd === undefined && !legacyTarMember) {
    opcodes += searchTrailing(data, last.end, collector, options);
  }
  const nested = await scanNested(collector, target, context, offsetBase);
  await checkAnalysis({ collector, offsetBase, nested, partialEnd }, (rule) => (context.isEnabled(rule.id) ? context.reporter(rule, target) : undefined));
  return multi ? { end: last.end, complete: last.complete, opcodes } : { end: first.end, complete: first.complete, opcodes };
}

/** Bytes after the last pickle searched for hidden pickles, candidates tried, and pickles analysed there. */
const TRAILING_WINDOW = 64 * 1024 * 1024;
const TRAILING_CANDIDATES = 100_000;
const TRAILING_STREAMS = 32;
const GLOBAL_START = /c[A-Za-z_][\w.]{0,200}\n[A-Za-z_][\w.]{0,200}\n/g;

/**
 * Loaders ignore bytes after STOP, but a payload pickle parked there (after padding, say) is one seek
 * away for a custom loader and invisible to scanners that stop at STOP. The bytes are reported, and
 * searched for pickle starts (PROTO, or a protocol-0 GLOBAL), each of which is analysed.
 */
function searchTrailing(data: Buffer, from: number, collector: PickleCollector, options: StreamOptions): number {
  const end = Math.min(data.length, from + TRAILING_WINDOW);
  const candidates: number[] = [];
  for (let at = data.indexOf(0x80, from); at >= 0 && at < end - 1 && candidates.length < TRAILING_CANDIDATES; at = data.indexOf(0x80, at + 1)) {
    if (data[at + 1]! <= 5) candidates.push(at);
  }
  const text = data.toString('latin1', from, end);
  GLOBAL_START.lastIndex = 0;
  for (let m = GLOBAL_START.exec(text); m !== null && candidates.length < TRAILING_CANDIDATES; m = GLOBAL_START.exec(text)) candidates.push(from + m.index);
  candidates.sort((x, y) => x - y);
  let found = 0;
  let opcodes = 0;
  let resumeAt = from;
  for (const at of candidates) {
    if (found >= TRAILING_STREAMS || Date.now() > options.deadline) break;
    if (at < resumeAt || !looksLikePickle(data, at)) continue;
    const r = analyseStream(data, at, collector, options);
    opcodes += r.opcodes + exploreLoaderViews(data, at, r, collector, options);
    found += 1;
    resumeAt = Math.max(at + 1, r.end);
  }
  collector.add(collector.trailing, { offset: from, bytes: data.length - from, found });
  return opcodes;
}

/** Analyses the pickles passed to loaders inside the pickle (pickle.loads(b'...'), torch.storage._load_from_bytes…). */
async function scanNested(collector: PickleCollector, target: ScanTarget, context: ScanContext, offsetBase: number): Promise<NestedOutcome[]> {
  const out: NestedOutcome[] = [];
  let budget = nestedBudget.get(context);
  if (budget === undefined) {
    budget = { left: MAX_NESTED_PER_FILE };
    nestedBudget.set(context, budget);
  }
  let computed = 0;
  let handedOff = 0;
  for (const blob of collector.nested) {
    const name = `pickle@${blob.offset + offsetBase}`;
    const member = target.member === undefined ? name : `${target.member}!${name}`;
    // Bytes computed at load time (zlib, base64…) can expand without bound, so they are counted; constants
    // of the stream are slices of the file, so reading them all costs no more than the file's size (per
    // nesting level) — pickle.dumps of a state dict holds one per tensor storage.
    if (Date.now() > context.deadline || (!blob.constant && (computed >= MAX_NESTED || budget.left <= 0))) {
      out.push({ blob, member, outcome: 'dropped' });
      continue;
    }
    if (!blob.constant) {
      computed += 1;
      budget.left -= 1;
    }
    if (target.depth + 1 > context.limits.maxNesting) {
      out.push({ blob, member, outcome: 'tooDeep' });
      continue;
    }
    const bytes = blob.bytes;
    if (isTorchSave(bytes)) {
      // torch.load of bytes in torch.save's own formats (zip, or legacy stacked pickles and raw storages):
      // the container layer and the torch-legacy format read it as they read a file.
      await context.scanMember(target, name, new BufferSource(bytes));
      // One finding per torch storage would flood the report of a large state dict; the first few tie members to the loader.
      if (blob.via !== TORCH_STORAGE_LOADER || handedOff++ < MAX_NESTED) out.push({ blob, member, outcome: 'handedOff' });
      continue;
    }
    const nestedTarget: ScanTarget = { path: target.path, member, source: new BufferSource(bytes), head: bytes.subarray(0, HEAD_BYTES), depth: target.depth + 1 };
    await analyseAndReport(bytes, 0, nestedTarget, context, 0, true, undefined);
    out.push({ blob, member, outcome: 'analysed' });
  }
  return out;
}
