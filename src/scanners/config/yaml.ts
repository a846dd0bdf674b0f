import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Node as YamlNode } from 'yaml';

/**
 * YAML with source positions, for config rules: every value carries the line and column it was written
 * at, so findings point at the key that is wrong. Anchors and aliases are resolved by reference (an alias
 * shows the anchored node, and its position), never expanded into copies, so alias bombs cost nothing.
 */

export interface Positioned {
  line: number;
  column: number;
}

export type YValue = YMap | YSeq | YScalar;

export interface YScalar extends Positioned {
  type: 'scalar';
  value: string | number | boolean | null;
  /** The text as written (quoted or not). */
  source: string;
}

export interface YSeq extends Positioned {
  type: 'seq';
  items: YValue[];
}

export interface YMap extends Positioned {
  type: 'map';
  entries: { key: string; keyAt: Positioned; value: YValue }[];
}

export interface YamlDocument {
  /** The document's root, or undefined for an empty document. */
  root?: YValue;
  /** Parse errors with their position; a document with errors may still have a usable root. */
  errors: { message: string; at: Positioned }[];
}

const MAX_DEPTH = 200;

/** Parses every document of a YAML stream (Kubernetes manifests, CloudFormation, CI files). */
export function parseYamlDocuments(text: string): YamlDocument[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false, strict: false });
  const list = Array.isArray(docs) ? docs : [docs];
  return list.map((doc) => {
    const at = (offset: number | undefined): Positioned => {
      const pos = lineCounter.linePos(offset ?? 0);
      return { line: pos.line, column: pos.col };
    };
    const convert = (node: unknown, depth: number, seen: Set<unknown>): YValue | undefined => {
      if (depth > MAX_DEPTH || node === null || node === undefined) return undefined;
      if (isAlias(node)) {
        const target = node.resolve(doc);
        if (!target || seen.has(target)) return undefined;
        const next = new Set(seen).add(target);
        return convert(target, depth + 1, next);
      }
      const n = node as YamlNode;
      const pos = at(n.range?.[0]);
      if (isScalar(n)) {
        const v = n.value;
        const value = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null ? v : String(v);
        const source = n.range ? text.slice(n.range[0], n.range[1]) : String(value);
        return { type: 'scalar', value, source, ...pos };
      }
      if (isSeq(n)) return { type: 'seq', items: n.items.map((i) => convert(i, depth + 1, seen)).filter((i): i is YValue => i !== undefined), ...pos };
      if (isMap(n)) {
        const entries: YMap['entries'] = [];
        for (const pair of n.items) {
          if (!isPair(pair)) continue;
          const keyNode = pair.key as YamlNode | null;
          const key = isScalar(keyNode) ? String(keyNode.value) : keyNode ? String(keyNode) : '';
          if (key === '<<' && (isAlias(pair.value) || isMap(pair.value))) {
            // merge key: the merged map's entries come first, this map's own keys win
            const merged = convert(pair.value, depth + 1, seen);
            if (merged?.type === 'map') entries.unshift(...merged.entries);
            continue;
          }
          const value = convert(pair.value, depth + 1, seen) ?? { type: 'scalar' as const, value: null, source: '', ...at(keyNode?.range?.[1]) };
          entries.push({ key, keyAt: at(keyNode?.range?.[0]), value });
        }
        return { type: 'map', entries, ...pos };
      }
      return undefined;
    };
    const root = convert(doc.contents, 0, new Set());
    const errors = doc.errors.map((e) => ({ message: e.message.split('\n', 1)[0]!, at: at(e.pos[0]) }));
    return root === undefined ? { errors } : { root, errors };
  });
}

/** The value at `key` in a map (the last one, as most loaders keep). */
export function get(node: YValue | undefined, key: string): YValue | undefined {
  if (node?.type !== 'map') return undefined;
  for (let i = node.entries.length - 1; i >= 0; i--) if (node.entries[i]!.key === key) return node.entries[i]!.value;
  return undefined;
}

/** Walks `a.b.c` through maps. */
export function getPath(node: YValue | undefined, path: readonly string[]): YValue | undefined {
  let current = node;
  for (const key of path) current = get(current, key);
  return current;
}

export function scalar(node: YValue | undefined): string | number | boolean | null | undefined {
  return node?.type === 'scalar' ? node.value : undefined;
}

export function str(node: YValue | undefined): string | undefined {
  const v = scalar(node);
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

/** YAML 1.1 and 1.2 truthiness as Kubernetes, Compose and CI runners read booleans written as strings. */
export function isTruthy(node: YValue | undefined): boolean {
  const v = scalar(node);
  return v === true || (typeof v === 'string' && /^(?:true|yes|on|y)$/i.test(v));
}

export function items(node: YValue | undefined): YValue[] {
  return node?.type === 'seq' ? node.items : [];
}

export function entries(node: YValue | undefined): YMap['entries'] {
  return node?.type === 'map' ? node.entries : [];
}
