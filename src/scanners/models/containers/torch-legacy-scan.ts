import { SliceSource, type ByteSource } from '../../../core/byte-source.js';
import { isCustodyError } from '../../../core/errors.js';
import type { ScanContext, ScanTarget } from '../../../core/scanner.js';
import { readTarEntries } from '../../containers/tar.js';
import { looksLikePickle } from '../pickle/index.js';
import { isLegacyStacked } from '../pickle/sniff.js';
import { pickleExtent, type Extent } from './pickle-extent.js';
import { archiveLimitExceededRule } from '../../containers/archive-rules.js';
import { torchLegacyExtraPickleRule, torchLegacyMalformedRule } from './rules.js';

/*
 * Legacy (pre-1.6) PyTorch files.
 *
 * "Stacked" format (torch.save with _use_new_zipfile_serialization=False): pickles of the magic number
 * 0x1950a86a20f9469cfc6c, the protocol version, sys_info, the object (with persistent ids), a list of
 * storage keys; then for each key the storage: 8-byte element count and count × element-size bytes.
 * torch.load unpickles all five pickles, so each is scanned; bytes beyond the storages are checked.
 *
 * Tar format (older still): members sys_info, pickle, tensors and storages. The containers scanner
 * (always on) hands every tar member to the scanners, and the pickle format reads a member's leading
 * run of concatenated pickles; but `storages` and `tensors` interleave pickles (each one loaded by
 * torch.load) with raw bytes, so the pickles after the first raw block are walked and handed over here.
 */

const ELEMENT_SIZES = [4, 2, 8, 1, 16] as const;
const MAX_FRONTIER = 256;
const WINDOW = 64 * 1024;

export { isLegacyStacked };

export function isLegacyTar(head: Buffer): boolean {
  if (head.length < 512 || head.toString('latin1', 257, 262) !== 'ustar') return false;
  const text = head.toString('latin1');
  return text.includes('sys_info\0') || text.includes('storages\0');
}

type Found = { kind: 'end'; end: number; strings: number; int?: number } | { kind: 'invalid' };

/** Finds the pickle starting at `pos` in `source` (absolute offsets), reading more as needed. */
async function pickleAt(source: ByteSource, pos: number, end: number, maxBytes: number): Promise<Found> {
  let window = WINDOW;
  for (;;) {
    const length = Math.min(window, end - pos);
    if (length <= 0) return { kind: 'invalid' };
    const data = await source.read(pos, length);
    const complete = pos + data.length >= end || data.length < length;
    const extent: Extent = pickleExtent(data, 0, complete);
    if (extent.kind === 'end') {
      const found: Found = { kind: 'end', end: pos + extent.end, strings: extent.strings };
      if (extent.int !== undefined) found.int = extent.int;
      return found;
    }
    if (extent.kind === 'invalid' || window >= maxBytes) return { kind: 'invalid' };
    window = Math.min(maxBytes, window * 4);
  }
}

async function readU64(source: ByteSource, at: number): Promise<number | undefined> {
  const data = await source.read(at, 8);
  if (data.length < 8) return undefined;
  const value = data.readBigUInt64LE(0);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(value);
}

interface Walk {
  target: ScanTarget;
  context: ScanContext;
  source: ByteSource;
  /** Prefix for member labels (the tar member name, or '' for the stacked format). */
  label: string;
  /**
   * End of the leading run of concatenated pickles that the pickle format reads by itself when the
   * whole tar member is scanned (it continues after each STOP while looksLikePickle holds); pickles in
   * that run are not handed over again. -1: no such run (every pickle is handed over).
   */
  runEnd: number;
}

async function scanPickleMember(walk: Walk, index: number, pos: number, end: number, what: string): Promise<void> {
  if (pos === walk.runEnd) {
    const head = await walk.source.read(pos, 64);
    if (looksLikePickle(head, 0)) {
      walk.runEnd = end;
      return;
    }
  }
  walk.runEnd = -1;
  const label = `${walk.label}pickle ${index} (${what})@${pos}`;
  await walk.context.scanMember(walk.target, label, new SliceSource(walk.source, pos, end - pos));
}

/** Reports and scans bytes left after the layout: a pickle there is torch-legacy-extra-pickle. */
async function checkLeftover(walk: Walk, pos: number, end: number, where: string): Promise<void> {
  if (pos >= end) return;
  const found = await pickleAt(walk.source, pos, end, walk.context.limits.maxMemberBytes);
  if (found.kind === 'end') {
    walk.context.reporter(torchLegacyExtraPickleRule, walk.target)({ message: 'extra', offset: pos, data: { offset: pos, detail: where } });
  } else {
    walk.context.reporter(torchLegacyMalformedRule, walk.target)({ message: 'layout', offset: pos, data: { offset: pos, detail: `${end - pos} bytes ${where} are not part of the layout; they were scanned` } });
  }
  await walk.context.scanMember(walk.target, `${walk.label}data after the layout@${pos}`, new SliceSource(walk.source, pos, end - pos));
}

/**
 * Where `count` storages starting at `pos` can end, trying each element size. Returns the possible
 * end offsets (a small frontier: wrong sizes soon give counts that run past the file).
 */
async function storageEnds(walk: Walk, pos: number, count: number, end: number): Promise<number[]> {
  let frontier = [pos];
  for (let i = 0; i < count && frontier.length > 0; i++) {
    if (Date.now() > walk.context.deadline) return [];
    const next = new Set<number>();
    for (const p of frontier) {
      const numel = await readU64(walk.source, p);
      if (numel === undefined) continue;
      for (const size of ELEMENT_SIZES) {
        const q = p + 8 + numel * size;
        if (q <= end) next.add(q);
        if (numel === 0) break;
      }
    }
    frontier = [...next].sort((a, b) => b - a).slice(0, MAX_FRONTIER);
  }
  return frontier;
}

const STACKED_PICKLES = ['magic number', 'protocol version', 'sys_info', 'object', 'storage keys'] as const;

export async function scanLegacyStacked(target: ScanTarget, context: ScanContext): Promise<void> {
  const walk: Walk = { target, context, source: target.source, label: '', runEnd: -1 };
  const size = target.source.size;
  const malformed = context.reporter(torchLegacyMalformedRule, target);
  let pos = 0;
  let keys = 0;
  for (const [k, what] of STACKED_PICKLES.entries()) {
    const found = await pickleAt(target.source, pos, size, context.limits.maxMemberBytes);
    if (found.kind !== 'end') {
      malformed({ message: 'pickle', offset: pos, data: { index: k + 1, offset: pos } });
      if (k > 0 && pos < size) await context.scanMember(target, `unreadable pickle ${k + 1}@${pos}`, new SliceSource(target.source, pos, size - pos));
      return;
    }
    // The first pickle sits at offset 0, where the pickle format already reads the file.
    if (k > 0) await scanPickleMember(walk, k + 1, pos, found.end, what);
    if (k === STACKED_PICKLES.length - 1) keys = found.strings;
    pos = found.end;
  }
  const ends = await storageEnds(walk, pos, keys, size);
  if (ends.includes(size)) return;
  if (ends.length === 0) {
    malformed({ message: 'layout', offset: pos, data: { offset: pos, detail: `the ${keys} storages do not fit in the file` } });
    await context.scanMember(target, `data after the pickles@${pos}`, new SliceSource(target.source, pos, size - pos));
    return;
  }
  // The layout does not reach the end of the file. Prefer a reading after which a pickle starts.
  let leftover = Math.max(...ends);
  for (const candidate of [...ends].sort((a, b) => a - b)) {
    if (Date.now() > context.deadline) break;
    if ((await pickleAt(target.source, candidate, size, context.limits.maxMemberBytes)).kind === 'end') {
      leftover = candidate;
      break;
    }
  }
  await checkLeftover(walk, leftover, size, `after the ${keys} tensor storages`);
}

/** Walks the `storages` member of a legacy tar: count, then (args pickle, raw storage) × count, then views. */
async function walkTarStorages(walk: Walk, start: number, end: number): Promise<void> {
  const { context, source } = walk;
  const max = context.limits.maxMemberBytes;
  const malformed = context.reporter(torchLegacyMalformedRule, walk.target);
  let index = 1;
  const first = await pickleAt(source, start, end, max);
  if (first.kind !== 'end') {
    malformed({ message: 'pickle', offset: start, data: { index, offset: start } });
    return;
  }
  await scanPickleMember(walk, index++, start, first.end, 'storage count');
  let pos = first.end;
  const count = first.int ?? 0;
  for (let i = 0; i < count; i++) {
    if (Date.now() > context.deadline) {
      context.reporter(archiveLimitExceededRule, walk.target)({ message: 'timeout', data: { kind: 'legacy PyTorch tar', count: count - i } });
      return;
    }
    const args = await pickleAt(source, pos, end, max);
    if (args.kind !== 'end') {
      malformed({ message: 'pickle', offset: pos, data: { index, offset: pos } });
      await checkLeftover(walk, pos, end, 'in the storages member');
      return;
    }
    await scanPickleMember(walk, index++, pos, args.end, 'storage arguments');
    const numel = await readU64(source, args.end);
    let next: number | undefined;
    for (const size of ELEMENT_SIZES) {
      if (numel === undefined) break;
      const q = args.end + 8 + numel * size;
      if (q < end && (await pickleAt(source, q, end, max)).kind === 'end') {
        next = q;
        break;
      }
    }
    if (next === undefined) {
      malformed({ message: 'layout', offset: args.end, data: { offset: args.end, detail: 'a storage is not followed by the next pickle' } });
      await checkLeftover(walk, args.end, end, 'in the storages member');
      return;
    }
    pos = next;
  }
  const views = await pickleAt(source, pos, end, max);
  if (views.kind !== 'end') {
    await checkLeftover(walk, pos, end, 'in the storages member');
    return;
  }
  await scanPickleMember(walk, index, pos, views.end, 'storage views');
  await checkLeftover(walk, views.end, end, 'after the storage views');
}

/** Walks the `tensors` member: count, then (key pickle, (storage id, type) pickle, fixed-size shape data) × count. */
async function walkTarTensors(walk: Walk, start: number, end: number): Promise<void> {
  const { context, source } = walk;
  const max = context.limits.maxMemberBytes;
  const first = await pickleAt(source, start, end, max);
  if (first.kind !== 'end') {
    context.reporter(torchLegacyMalformedRule, walk.target)({ message: 'pickle', offset: start, data: { index: 1, offset: start } });
    return;
  }
  let index = 1;
  await scanPickleMember(walk, index++, start, first.end, 'tensor count');
  let pos = first.end;
  const count = first.int ?? 0;
  for (let i = 0; i < count; i++) {
    if (Date.now() > context.deadline) {
      context.reporter(archiveLimitExceededRule, walk.target)({ message: 'timeout', data: { kind: 'legacy PyTorch tar', count: count - i } });
      return;
    }
    for (const what of ['tensor key', 'tensor storage']) {
      const found = await pickleAt(source, pos, end, max);
      if (found.kind !== 'end') {
        await checkLeftover(walk, pos, end, 'in the tensors member');
        return;
      }
      await scanPickleMember(walk, index++, pos, found.end, what);
      pos = found.end;
    }
    const header = await source.read(pos, 4);
    const ndim = header.length === 4 ? header.readInt32LE(0) : -1;
    if (ndim < 0 || ndim > 64) {
      context.reporter(torchLegacyMalformedRule, walk.target)({ message: 'layout', offset: pos, data: { offset: pos, detail: `tensor with ${ndim} dimensions` } });
      return;
    }
    pos += 8 + 16 * ndim + 8;
  }
  await checkLeftover(walk, pos, end, 'after the tensors');
}

export async function scanLegacyTar(target: ScanTarget, context: ScanContext): Promise<void> {
  const walk = (label: string, start: number): Walk => ({ target, context, source: target.source, label, runEnd: start });
  try {
    for await (const entry of readTarEntries(target.source, { maxEntries: context.limits.maxEntries, deadline: context.deadline })) {
      if (entry.type !== 'file') continue;
      const end = entry.dataOffset + entry.size;
      // Every member as a whole (sys_info, pickle, …) is scanned by the containers scanner.
      if (entry.name === 'storages') await walkTarStorages(walk('storages: ', entry.dataOffset), entry.dataOffset, end);
      else if (entry.name === 'tensors') await walkTarTensors(walk('tensors: ', entry.dataOffset), entry.dataOffset, end);
    }
  } catch (error) {
    const detail = isCustodyError(error) ? `${error.code}: ${error.message}` : 'unreadable tar';
    context.reporter(torchLegacyMalformedRule, target)({ message: 'layout', data: { offset: 0, detail } });
  }
}
