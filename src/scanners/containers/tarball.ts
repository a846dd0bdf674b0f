import { posix } from 'node:path';
import { isCustodyError } from '../../core/errors.js';
import { SliceSource, type ByteSource } from '../../core/byte-source.js';
import type { AnyRule, Report, Rule } from '../../core/rule.js';
import type { ScanContext, ScanTarget } from '../../core/scanner.js';
import { scanImageConfig } from './config.js';
import { describeImages, isImageLayout, jsonReader, Removals, shortId, type ImageDescription, type ImageLayer } from './image.js';
import { archiveUnreadableRule, imageUnreadableRule, layerUnreadableRule } from './rules.js';
import { SPOOL_MEMORY_BYTES } from './decompress.js';
import { decompressToSpool, type SpooledSource } from './spool.js';
import { isTarHeader, normalizeTarPath, readTarEntries, type TarEntry } from './tar.js';

/** Most entries listed from one archive or layer. */
const MAX_ENTRIES = 500_000;

/**
 * Tarballs and container images, for every scanner.
 *
 * - A plain tarball: every regular file becomes a member (`path/in/archive`).
 * - An image (`docker save`, OCI layout): every file of every layer becomes a member
 *   `<layer digest, 12 hex>/<path>`, including files that a later layer deletes or replaces — they
 *   still ship in the image. Findings in them carry `properties.layer` (short digest), `layerIndex`
 *   (0 = base) and, when a later layer removes the file, `deletedInLayer` (that layer's index) and
 *   `removedBy` (`whiteout`, `opaque-directory` or `overwritten`). The image config (ENV, build
 *   history) is a member too and is checked for credentials recorded in ENV and build arguments.
 *
 * Returns where the members it handed over lie, so that a zip found in the tarball's tail that is one
 * of those members (a tarball whose last file is a zip) is not read a second time as the tarball itself.
 */
export async function scanTarball(target: ScanTarget, context: ScanContext): Promise<MemberSpan[]> {
  const entries = new Map<string, TarEntry>();
  const listed: TarEntry[] = [];
  const handed: MemberSpan[] = [];
  const failure = await listEntries(target.source, context, (entry) => {
    listed.push(entry);
    entries.set(normalizeTarPath(entry.name), entry);
  });

  if (isImageLayout(entries)) {
    await scanImage(target, context, entries, handed);
  } else {
    for (const [done, entry] of listed.entries()) {
      if (!hasContent(entry)) continue;
      if (Date.now() > context.deadline) {
        reportProblem(context, archiveUnreadableRule, target)({ message: 'timeout', data: { scanned: done } });
        return handed;
      }
      await context.scanMember(target, normalizeTarPath(entry.name), new SliceSource(target.source, entry.dataOffset, entry.size));
      handed.push({ start: entry.dataOffset, end: entry.dataOffset + entry.size });
    }
  }
  if (failure !== undefined) {
    reportProblem(context, archiveUnreadableRule, target)({ message: failure.kind, data: { reason: failure.reason, scanned: listed.length } });
  }
  return handed;
}

/** Where a member handed to the scanners lies in its tarball (byte offsets, end exclusive). */
export interface MemberSpan {
  start: number;
  end: number;
}

interface ListFailure {
  kind: 'malformed' | 'limit' | 'timeout';
  reason: string;
}

/** Lists entries until the end or the first damage; damage is returned, never thrown. */
async function listEntries(source: ByteSource, context: ScanContext, onEntry: (entry: TarEntry) => void | Promise<void>): Promise<ListFailure | undefined> {
  try {
    for await (const entry of readTarEntries(source, { maxEntries: MAX_ENTRIES, deadline: context.deadline })) await onEntry(entry);
    return undefined;
  } catch (error) {
    if (isCustodyError(error, 'PARSE_ERROR') || isCustodyError(error, 'INPUT_LIMIT')) {
      const kind = error.code === 'PARSE_ERROR' ? 'malformed' : error.details?.['bound'] === 'time' ? 'timeout' : 'limit';
      return { kind, reason: error.message.replace(/^tar: /, '') };
    }
    throw error;
  }
}

async function scanImage(target: ScanTarget, context: ScanContext, entries: Map<string, TarEntry>, handed: MemberSpan[]): Promise<void> {
  const readJson = jsonReader(target.source, entries);
  const { images, problems } = await describeImages(entries, readJson);
  const imageReport = reportProblem(context, imageUnreadableRule, target);
  for (const problem of problems) {
    if (problem.kind === 'missingBlob') imageReport({ message: 'missingBlob', data: { file: problem.file, blob: problem.blob ?? '' } });
    else imageReport({ message: 'manifest', data: { file: problem.file, reason: problem.reason ?? 'unreadable' } });
  }

  const consumed = new Set<string>(['manifest.json', 'index.json', 'oci-layout', 'repositories']);
  const scannedLayers = new Set<string>();
  for (const image of images) {
    if (image.config !== undefined && !consumed.has(image.config)) {
      consumed.add(image.config);
      const resolved = resolveEntry(entries, image.config);
      if (resolved !== undefined) consumed.add(resolved.path);
      const entry = resolved?.entry;
      if (entry !== undefined) {
        const source = new SliceSource(target.source, entry.dataOffset, entry.size);
        await context.scanMember(target, image.config, source);
        handed.push({ start: entry.dataOffset, end: entry.dataOffset + entry.size });
        const read = await readJson(image.config);
        if (read.ok) scanImageConfig(read.value, image.config, target, context);
        else reportProblem(context, imageUnreadableRule, target)({ message: 'config', data: { file: image.config, reason: read.reason } });
      }
    }
    for (const layer of image.layers) {
      consumed.add(layer.file);
      const resolved = resolveEntry(entries, layer.file);
      if (resolved !== undefined) consumed.add(resolved.path);
    }
    await scanLayers(target, context, entries, image, scannedLayers);
  }

  // Files the image metadata does not account for (unreferenced blobs, extra files) are scanned as
  // plain members: an image tarball must not be a hiding place.
  let done = 0;
  for (const [path, entry] of entries) {
    if (!hasContent(entry) || consumed.has(path)) continue;
    if (Date.now() > context.deadline) {
      reportProblem(context, archiveUnreadableRule, target)({ message: 'timeout', data: { scanned: done } });
      return;
    }
    done += 1;
    await context.scanMember(target, path, new SliceSource(target.source, entry.dataOffset, entry.size));
    handed.push({ start: entry.dataOffset, end: entry.dataOffset + entry.size });
  }
}

/**
 * Scans an image's layers from the top down, so that when a layer is read, what the layers above it
 * delete or replace is already known. Layers shared with an image already scanned are not read again.
 */
async function scanLayers(target: ScanTarget, context: ScanContext, entries: ReadonlyMap<string, TarEntry>, image: ImageDescription, scannedLayers: Set<string>): Promise<void> {
  const removals = new Removals();
  for (let index = image.layers.length - 1; index >= 0; index--) {
    const layer = image.layers[index] as ImageLayer;
    const short = shortId(layer, index);
    const layerReport = reportProblem(context, layerUnreadableRule, target);
    if (!entries.has(layer.file)) continue; // reported as a missing blob already
    // `docker save` stores a layer shared by two images once, the other as a symlink to it.
    const resolved = resolveEntry(entries, layer.file);
    if (resolved === undefined) {
      layerReport({ message: 'missing', member: layer.file, data: { layer: short, file: layer.file } });
      continue;
    }
    const entry = resolved.entry;
    if (Date.now() > context.deadline) {
      layerReport({ message: 'damaged', member: layer.file, data: { layer: short, reason: 'the time budget ran out before this layer', scanned: 0 } });
      continue;
    }
    const opened = await openLayer(target, context, entry, layer, short);
    if (opened === undefined) continue;
    const paths: { path: string; type: TarEntry['type'] }[] = [];
    const shouldScan = !scannedLayers.has(resolved.path);
    scannedLayers.add(resolved.path);
    let scanned = 0;
    try {
      const failure = await listEntries(opened.source, context, async (member) => {
        const path = normalizeTarPath(member.name);
        paths.push({ path, type: member.type });
        if (!shouldScan || !hasContent(member) || path.split('/').pop()?.startsWith('.wh.') === true) return;
        const removal = removals.lookup(path);
        const properties: Record<string, unknown> = { layer: short, layerIndex: index };
        if (image.name !== undefined) properties['image'] = image.name;
        if (removal !== undefined) {
          properties['deletedInLayer'] = removal.layer;
          properties['removedBy'] = removal.by;
        }
        await context.scanMember(target, `${short}/${path}`, new SliceSource(opened.source, member.dataOffset, member.size), properties);
        scanned += 1;
      });
      if (opened.stopped !== undefined) {
        if (opened.stopped.reason === 'limit') layerReport({ message: 'tooLarge', member: layer.file, data: { layer: short, limit: layerLimit(context) } });
        else layerReport({ message: 'damaged', member: layer.file, data: { layer: short, reason: opened.stopped.detail, scanned } });
      } else if (failure !== undefined) {
        layerReport({ message: 'damaged', member: layer.file, data: { layer: short, reason: failure.reason, scanned } });
      }
    } finally {
      await opened.dispose();
    }
    removals.recordLayer(index, paths);
  }
}

function layerLimit(context: ScanContext): number {
  return context.limits.maxMemberBytes * 16;
}

/** Opens a layer blob as a tar stream (decompressing gzip or zstd); reports and returns undefined when it cannot. */
async function openLayer(target: ScanTarget, context: ScanContext, entry: TarEntry, layer: ImageLayer, short: string): Promise<SpooledSource | undefined> {
  const blob = new SliceSource(target.source, entry.dataOffset, entry.size);
  const head = await blob.read(0, 512);
  const report = reportProblem(context, layerUnreadableRule, target);
  const codec = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528 ? 'zstd' : undefined;
  if (codec !== undefined) {
    return decompressToSpool(blob, codec, { memoryBytes: SPOOL_MEMORY_BYTES, maxBytes: layerLimit(context), deadline: context.deadline });
  }
  if (entry.size === 0 || isTarHeader(head) || isEmptyTar(head)) return { source: blob, onDisk: false, dispose: () => Promise.resolve() };
  const method = /zstd/.test(layer.mediaType ?? '') ? 'zstd' : /bzip2|xz|lz4/.exec(layer.mediaType ?? '')?.[0];
  if (method !== undefined) report({ message: 'compression', member: layer.file, data: { layer: short, method } });
  else report({ message: 'notTar', member: layer.file, data: { layer: short } });
  return undefined;
}

/** Follows symlinks and hard links inside the archive (at most 8 hops) to a regular file. */
function resolveEntry(entries: ReadonlyMap<string, TarEntry>, path: string): { path: string; entry: TarEntry } | undefined {
  let current = path;
  for (let hops = 0; hops <= 8; hops++) {
    const entry = entries.get(current);
    if (entry === undefined) return undefined;
    if (entry.type === 'file') return { path: current, entry };
    if ((entry.type !== 'symlink' && entry.type !== 'hardlink') || entry.linkName === undefined) return undefined;
    const target = entry.type === 'hardlink' ? entry.linkName : posix.join(posix.dirname(current), entry.linkName);
    current = normalizeTarPath(posix.normalize(target));
  }
  return undefined;
}

/**
 * Regular files, and entries of other types that carry data (GNU sparse files, unknown types): their
 * bytes are scanned as stored rather than skipped. Links, directories and devices carry none.
 */
function hasContent(entry: TarEntry): boolean {
  return entry.type === 'file' || (entry.type === 'other' && entry.size > 0);
}

/** A reporter for the scanner's own "could not read" rules: the message id becomes `properties.problem`. */
function reportProblem<M extends string>(context: ScanContext, rule: Rule<M, void>, target: ScanTarget): Report<M> {
  const report = context.reporter<M>(rule as AnyRule, target);
  return (input) => report({ ...input, properties: { problem: input.message, ...input.properties } });
}

/** An empty layer is an end-of-archive marker alone (1024 zero bytes or more). */
function isEmptyTar(head: Buffer): boolean {
  return head.length === 512 && head.every((b) => b === 0);
}

