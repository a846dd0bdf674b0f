import type { ByteSource } from '../../core/byte-source.js';
import { normalizeTarPath, type TarEntry } from './tar.js';
import { asRecord } from '../../core/json.js';

/**
 * Reading the two image tarball layouts:
 *
 * - `docker save`: `manifest.json` is `[{ Config, RepoTags, Layers: [path…] }]`, paths inside the
 *   tarball (`<id>/layer.tar` in older Docker, `blobs/sha256/<hex>` since Docker 25).
 * - OCI image layout: `oci-layout` plus `index.json`, whose `manifests` point (by digest, into
 *   `blobs/<alg>/<hex>`) at image manifests or at further indexes (multi-platform images).
 *
 * Both may be present (Docker 25 writes both); images described twice are read once.
 */
export interface ImageLayer {
  /** Path of the layer inside the tarball. */
  file: string;
  /** `sha256:<hex>` when known (OCI descriptors, blob paths). */
  digest?: string;
  mediaType?: string;
}

export interface ImageDescription {
  /** Where the image was described: `manifest.json[0]`, `index.json → sha256:…`. */
  origin: string;
  /** A tag or reference name, when the tarball records one. */
  name?: string;
  /** Path of the image config inside the tarball. */
  config?: string;
  layers: ImageLayer[];
}

export interface ImageProblem {
  kind: 'manifest' | 'missingBlob';
  file: string;
  reason?: string;
  blob?: string;
}

/** Largest manifest, index or config read into memory. */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;
const MAX_INDEX_DEPTH = 4;
const MAX_MANIFESTS = 1024;

export function isImageLayout(entries: ReadonlyMap<string, TarEntry>): boolean {
  return entries.has('manifest.json') || (entries.has('index.json') && entries.has('oci-layout'));
}

/** `sha256:abc…` → `blobs/sha256/abc…`; undefined for anything that is not a plain digest. */
export function blobPath(digest: unknown): string | undefined {
  if (typeof digest !== 'string') return undefined;
  const match = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(digest);
  return match ? `blobs/${match[1]}/${match[2]}` : undefined;
}

/** `blobs/sha256/<hex>` → `sha256:<hex>`. */
export function digestOfPath(path: string): string | undefined {
  const match = /^blobs\/([a-z0-9]+)\/([a-f0-9]{32,128})$/.exec(path);
  return match ? `${match[1]}:${match[2]}` : undefined;
}

/** The short form used in member paths: the first 12 hex digits of a digest or layer id. */
export function shortId(layer: ImageLayer, index: number): string {
  const digest = layer.digest ?? digestOfPath(layer.file);
  if (digest !== undefined) return digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
  const id = /^([a-f0-9]{12})[a-f0-9]*\/layer\.tar$/.exec(layer.file);
  return id?.[1] ?? `layer-${index}`;
}

export type JsonReader = (file: string) => Promise<{ ok: true; value: unknown } | { ok: false; reason: string }>;

/** Reads a tar member as JSON, bounded. */
export function jsonReader(source: ByteSource, entries: ReadonlyMap<string, TarEntry>): JsonReader {
  return async (file) => {
    const entry = entries.get(file);
    if (entry === undefined || entry.type !== 'file') return { ok: false, reason: 'not in the tarball' };
    if (entry.size > MAX_JSON_BYTES) return { ok: false, reason: `${entry.size} bytes, above the ${MAX_JSON_BYTES}-byte bound` };
    const bytes = await source.read(entry.dataOffset, entry.size);
    try {
      return { ok: true, value: JSON.parse(bytes.toString('utf8')) as unknown };
    } catch (error) {
      return { ok: false, reason: `not JSON (${(error as Error).message})` };
    }
  };
}

/** Lists the images a tarball describes; problems are returned as data, never thrown. */
export async function describeImages(entries: ReadonlyMap<string, TarEntry>, readJson: JsonReader): Promise<{ images: ImageDescription[]; problems: ImageProblem[] }> {
  const images: ImageDescription[] = [];
  const problems: ImageProblem[] = [];
  const seen = new Set<string>();
  const add = (image: ImageDescription): void => {
    const key = `${image.config ?? ''}\0${image.layers.map((l) => l.file).join('\0')}`;
    if (seen.has(key)) return;
    seen.add(key);
    for (const layer of image.layers) {
      if (!entries.has(layer.file)) problems.push({ kind: 'missingBlob', file: image.origin, blob: layer.file });
    }
    if (image.config !== undefined && !entries.has(image.config)) problems.push({ kind: 'missingBlob', file: image.origin, blob: image.config });
    images.push(image);
  };

  if (entries.has('manifest.json')) {
    const read = await readJson('manifest.json');
    if (!read.ok) problems.push({ kind: 'manifest', file: 'manifest.json', reason: read.reason });
    else if (!Array.isArray(read.value)) problems.push({ kind: 'manifest', file: 'manifest.json', reason: 'expected a JSON array of images' });
    else {
      if (read.value.length > MAX_MANIFESTS) problems.push({ kind: 'manifest', file: 'manifest.json', reason: `more than ${MAX_MANIFESTS} images; the rest were not read` });
      for (const [i, item] of read.value.slice(0, MAX_MANIFESTS).entries()) {
        const origin = `manifest.json[${i}]`;
        const record = asRecord(item);
        const layers = record?.['Layers'];
        if (!record || !Array.isArray(layers) || !layers.every((l) => typeof l === 'string')) {
          problems.push({ kind: 'manifest', file: 'manifest.json', reason: `${origin} has no list of Layers` });
          continue;
        }
        const image: ImageDescription = { origin, layers: (layers as string[]).map((file) => layerOf(normalizeTarPath(file))) };
        const config = record['Config'];
        if (typeof config === 'string') image.config = normalizeTarPath(config);
        const tags = record['RepoTags'];
        if (Array.isArray(tags) && typeof tags[0] === 'string') image.name = tags[0];
        add(image);
      }
    }
  }

  if (entries.has('index.json') && entries.has('oci-layout')) {
    // Each index or manifest is read once: descriptors may share one (or point back up the chain),
    // and walking every reference again would multiply by MAX_MANIFESTS at every level.
    const walked = new Set<string>();
    const walk = async (file: string, origin: string, depth: number, name: string | undefined, above: readonly string[]): Promise<void> => {
      if (above.includes(file)) {
        problems.push({ kind: 'manifest', file: origin, reason: `${file} refers back to itself through its own manifests` });
        return;
      }
      if (walked.has(file)) return;
      walked.add(file);
      const read = await readJson(file);
      if (!read.ok) {
        problems.push({ kind: entries.has(file) ? 'manifest' : 'missingBlob', file: origin, reason: read.reason, blob: file });
        return;
      }
      const doc = asRecord(read.value);
      if (!doc) {
        problems.push({ kind: 'manifest', file, reason: 'expected a JSON object' });
        return;
      }
      const manifests = doc['manifests'];
      if (Array.isArray(manifests)) {
        if (depth >= MAX_INDEX_DEPTH) {
          problems.push({ kind: 'manifest', file, reason: `indexes nested deeper than ${MAX_INDEX_DEPTH}` });
          return;
        }
        if (manifests.length > MAX_MANIFESTS) problems.push({ kind: 'manifest', file, reason: `more than ${MAX_MANIFESTS} manifests; the rest were not read` });
        for (const descriptor of manifests.slice(0, MAX_MANIFESTS)) {
          const d = asRecord(descriptor);
          const path = blobPath(d?.['digest']);
          if (!d || path === undefined) {
            problems.push({ kind: 'manifest', file, reason: 'a manifest descriptor has no valid digest' });
            continue;
          }
          const annotations = asRecord(d['annotations']);
          const ref = annotations?.['org.opencontainers.image.ref.name'] ?? annotations?.['io.containerd.image.name'];
          await walk(path, `${file} → ${String(d['digest'])}`, depth + 1, typeof ref === 'string' ? ref : name, [...above, file]);
        }
        return;
      }
      const layers = doc['layers'];
      if (!Array.isArray(layers)) {
        problems.push({ kind: 'manifest', file, reason: 'neither an index (manifests) nor an image manifest (layers)' });
        return;
      }
      const image: ImageDescription = { origin, layers: [] };
      if (name !== undefined) image.name = name;
      const configPath = blobPath(asRecord(doc['config'])?.['digest']);
      if (configPath !== undefined) image.config = configPath;
      for (const descriptor of layers) {
        const d = asRecord(descriptor);
        const path = blobPath(d?.['digest']);
        if (!d || path === undefined) {
          problems.push({ kind: 'manifest', file, reason: 'a layer descriptor has no valid digest' });
          continue;
        }
        const layer: ImageLayer = { file: path, digest: String(d['digest']) };
        if (typeof d['mediaType'] === 'string') layer.mediaType = d['mediaType'];
        image.layers.push(layer);
      }
      add(image);
    };
    await walk('index.json', 'index.json', 0, undefined, []);
  }
  return { images, problems };
}

function layerOf(file: string): ImageLayer {
  const digest = digestOfPath(file);
  return digest === undefined ? { file } : { file, digest };
}


/**
 * What later layers do to a path of an earlier one (overlay semantics): `.wh.<name>` deletes
 * `<name>` (and everything under it), `.wh..wh..opq` hides everything the lower layers had in that
 * directory, and any non-directory entry at a path replaces the lower file there.
 */
export type Removal = { layer: number; by: 'whiteout' | 'opaque-directory' | 'overwritten' };

export class Removals {
  private readonly exact = new Map<string, Removal>();
  private readonly opaque = new Map<string, number>();

  /** Records a layer's entries; call for layers from the top down (each call with a lower index). */
  recordLayer(index: number, paths: Iterable<{ path: string; type: TarEntry['type'] }>): void {
    for (const { path, type } of paths) {
      const slash = path.lastIndexOf('/');
      const dir = slash === -1 ? '' : path.slice(0, slash);
      const base = path.slice(slash + 1);
      if (base === '.wh..wh..opq') this.opaque.set(dir, index);
      else if (base.startsWith('.wh.')) this.exact.set(dir === '' ? base.slice(4) : `${dir}/${base.slice(4)}`, { layer: index, by: 'whiteout' });
      else if (type !== 'dir') this.exact.set(path, { layer: index, by: 'overwritten' });
    }
  }

  /** The lowest later layer that deletes or replaces `path`, if any. */
  lookup(path: string): Removal | undefined {
    let best: Removal | undefined;
    const consider = (candidate: Removal | undefined): void => {
      if (candidate !== undefined && (best === undefined || candidate.layer < best.layer)) best = candidate;
    };
    consider(this.exact.get(path));
    const parts = path.split('/');
    for (let i = parts.length - 1; i >= 0; i--) {
      const dir = parts.slice(0, i).join('/');
      const opaque = this.opaque.get(dir);
      if (opaque !== undefined) consider({ layer: opaque, by: 'opaque-directory' });
      // A whiteout of an ancestor deletes the whole directory; a file replacing an ancestor hides it.
      if (i > 0) consider(this.exact.get(dir));
    }
    return best;
  }
}
