import { CustodyError } from '../core/errors.js';
import { parseBundle } from '../integrity/bundle.js';
import { OMS_PREDICATE_TYPE } from '../integrity/oms.js';
import { SLSA_PROVENANCE_V1 } from '../integrity/provenance.js';
import { readSlsaProvenance } from '../integrity/provenance-read.js';
import { parseStatement } from '../integrity/statement.js';
import type { AttachmentInput, LineageEdge, MetadataStore, VersionRecord } from '../store/metadata.js';

/**
 * Lineage: what produced each version — the dataset (and base model) versions, code commit and
 * builder its provenance names, the keys that signed it, the account and token that pushed it — as
 * edges recorded when the evidence arrives. `lineage` walks them upstream from a version; `impact`
 * walks downstream from a dataset, key, builder or token to every version that depends on it,
 * transitively (a model trained on a dataset, a model fine-tuned from that model…).
 */

export const EDGE_KINDS = ['dataset', 'model', 'source', 'builder', 'key', 'token', 'account'] as const;
export type EdgeKind = (typeof EDGE_KINDS)[number];

/** Edges that a stored attachment implies for a version. */
export function edgesFromAttachment(versionId: number, a: AttachmentInput): LineageEdge[] {
  const out: LineageEdge[] = [];
  const verified = a.verified;
  if (a.kind === 'signature' || a.predicateType === OMS_PREDICATE_TYPE) {
    const hint = (JSON.parse(a.result) as { signer?: { keyHint?: string } }).signer?.keyHint;
    if (hint !== undefined) out.push({ versionId, kind: 'key', ref: hint, label: 'signed by', verified });
    return out;
  }
  if (a.predicateType !== SLSA_PROVENANCE_V1) return out;
  try {
    const bundle = parseBundle(a.bundle);
    const facts = readSlsaProvenance(parseStatement(bundle.dsseEnvelope.payloadType, Buffer.from(bundle.dsseEnvelope.payload, 'base64')));
    out.push({ versionId, kind: 'builder', ref: facts.builderId, label: 'built by', verified });
    for (const m of facts.materials) {
      if (m.digest['gitCommit'] !== undefined || m.role === 'source') {
        out.push({ versionId, kind: 'source', ref: m.uri || `git:${m.digest['gitCommit'] ?? ''}`, label: 'code', verified });
        continue;
      }
      const sha = m.digest['sha256'];
      if (typeof sha !== 'string') continue;
      if (m.role === 'lockfile' || m.role === 'container-image' || m.role === 'config') continue;
      out.push({ versionId, kind: m.role === 'model' || m.role === 'base-model' ? 'model' : 'dataset', ref: sha, label: m.name || m.uri || m.role, verified });
    }
  } catch {
    // an unreadable provenance implies nothing; the attachment itself records why
  }
  return out;
}

export interface GraphNode {
  id: string;
  kind: 'version' | EdgeKind;
  label: string;
  /** For versions: where they are now. */
  project?: string;
  artifactKind?: 'model' | 'dataset';
  name?: string;
  digest?: string;
  stage?: string;
  forced?: boolean;
}

export interface Graph {
  root: string;
  nodes: GraphNode[];
  edges: { from: string; to: string; label: string; verified: boolean }[];
  /** True when the walk stopped at its bound. */
  truncated: boolean;
}

const versionNode = (v: VersionRecord): GraphNode => ({ id: `v:${v.id}`, kind: 'version', label: `${v.project}/${v.name}@${v.digest.slice(0, 12)}`, project: v.project, artifactKind: v.kind, name: v.name, digest: v.digest, stage: v.stage, forced: v.forced });

/** The upstream graph of a version (what it was made from, recursively), within the readable projects. */
export async function lineageOf(store: MetadataStore, root: VersionRecord, readable: (project: string) => boolean, maxNodes = 10_000): Promise<Graph> {
  const nodes = new Map<string, GraphNode>([[`v:${root.id}`, versionNode(root)]]);
  const edges: Graph['edges'] = [];
  let frontier = [root];
  let truncated = false;
  while (frontier.length > 0) {
    const out = await store.edgesOf(frontier.map((v) => v.id));
    const digests = [...new Set(out.filter((e) => e.kind === 'dataset' || e.kind === 'model').map((e) => e.ref))];
    const upstream = (await store.versionsByDigest(digests, null)).filter((v) => readable(v.project));
    const byDigest = new Map<string, VersionRecord[]>();
    for (const v of upstream) byDigest.set(v.digest, [...(byDigest.get(v.digest) ?? []), v]);
    const next: VersionRecord[] = [];
    for (const e of out) {
      const from = `v:${e.versionId}`;
      const matches = e.kind === 'dataset' || e.kind === 'model' ? (byDigest.get(e.ref) ?? []) : [];
      if (matches.length > 0) {
        for (const v of matches) {
          const id = `v:${v.id}`;
          if (!nodes.has(id)) {
            nodes.set(id, versionNode(v));
            next.push(v);
          }
          edges.push({ from: id, to: from, label: e.label, verified: e.verified });
        }
      } else {
        const id = `${e.kind}:${e.ref}`;
        if (!nodes.has(id)) nodes.set(id, { id, kind: e.kind as EdgeKind, label: e.kind === 'dataset' || e.kind === 'model' ? `${e.label} sha256:${e.ref.slice(0, 12)} (not registered)` : e.ref });
        edges.push({ from: id, to: from, label: e.label, verified: e.verified });
      }
    }
    if (nodes.size > maxNodes) {
      truncated = true;
      break;
    }
    frontier = next;
  }
  return { root: `v:${root.id}`, nodes: [...nodes.values()], edges, truncated };
}

export interface ImpactResult {
  start: { kind: EdgeKind; ref: string };
  versions: { project: string; kind: 'model' | 'dataset'; name: string; version: string; stage: string; forced: boolean; depth: number; via: string }[];
  truncated: boolean;
}

/**
 * Every version downstream of a dataset version, key, builder or token: those with an edge to it,
 * then those whose provenance names one of them as a material, and so on (breadth first, each
 * version once). Only versions in readable projects are listed.
 */
export async function impactOf(store: MetadataStore, start: { kind: EdgeKind; ref: string; seed?: VersionRecord }, readable: (project: string) => boolean, maxVersions = 1_000_000): Promise<ImpactResult> {
  const seen = new Set<number>();
  const result: ImpactResult['versions'] = [];
  let truncated = false;
  let refs: string[] = [start.ref];
  let kinds: string[] = start.kind === 'dataset' || start.kind === 'model' ? ['dataset', 'model'] : [start.kind];
  if (start.seed) seen.add(start.seed.id);
  let depth = 1;
  const refsDone = new Set<string>(refs);
  while (refs.length > 0) {
    const edges = await store.edgesTo(kinds, refs);
    const ids = [...new Set(edges.map((e) => e.versionId))].filter((id) => !seen.has(id));
    const via = new Map(edges.map((e) => [e.versionId, e.ref] as const));
    const versions = await store.versionPlacesByIds(ids);
    const next: string[] = [];
    for (const v of versions) {
      seen.add(v.id);
      if (readable(v.project)) result.push({ project: v.project, kind: v.kind, name: v.name, version: v.digest, stage: v.stage, forced: v.forced, depth, via: via.get(v.id) ?? '' });
      if (!refsDone.has(v.digest)) {
        refsDone.add(v.digest);
        next.push(v.digest);
      }
    }
    if (result.length >= maxVersions) {
      truncated = true;
      break;
    }
    refs = next;
    kinds = ['dataset', 'model'];
    depth += 1;
  }
  return { start: { kind: start.kind, ref: start.ref }, versions: result, truncated };
}

// --------------------------------------------------------------------------------------------------
// renderings: text, Mermaid, DOT (labels escaped for each; JSON is the objects themselves)

const mermaidText = (s: string): string => `"${s.replace(/["\\<>`]/g, (c) => `#${c.charCodeAt(0)};`).replace(/[\r\n]+/g, ' ')}"`;
const dotText = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/[\r\n]+/g, ' ')}"`;
const safeId = (i: number): string => `n${i}`;

function nodeLabel(n: GraphNode): string {
  if (n.kind !== 'version') return `${n.kind}: ${n.label}`;
  return `${n.artifactKind ?? 'version'} ${n.label} [${n.stage ?? '?'}${n.forced ? ', FORCED' : ''}]`;
}

export function graphToMermaid(g: Graph): string {
  const ids = new Map(g.nodes.map((n, i) => [n.id, safeId(i)]));
  const lines = ['flowchart LR'];
  for (const n of g.nodes) lines.push(`  ${ids.get(n.id) ?? ''}[${mermaidText(nodeLabel(n))}]`);
  for (const e of g.edges) lines.push(`  ${ids.get(e.from) ?? ''} -->|${mermaidText(e.verified ? e.label : `${e.label} (unverified)`)}| ${ids.get(e.to) ?? ''}`);
  return `${lines.join('\n')}\n`;
}

export function graphToDot(g: Graph): string {
  const ids = new Map(g.nodes.map((n, i) => [n.id, safeId(i)]));
  const lines = ['digraph lineage {', '  rankdir=LR;'];
  for (const n of g.nodes) lines.push(`  ${ids.get(n.id) ?? ''} [label=${dotText(nodeLabel(n))}${n.kind === 'version' ? ', shape=box' : ''}${n.id === g.root ? ', style=bold' : ''}];`);
  for (const e of g.edges) lines.push(`  ${ids.get(e.from) ?? ''} -> ${ids.get(e.to) ?? ''} [label=${dotText(e.verified ? e.label : `${e.label} (unverified)`)}];`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export function graphToText(g: Graph): string {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const into = new Map<string, Graph['edges']>();
  for (const e of g.edges) into.set(e.to, [...(into.get(e.to) ?? []), e]);
  const lines: string[] = [];
  const seen = new Set<string>();
  const walk = (id: string, indent: string, via: string): void => {
    const n = byId.get(id);
    if (!n) return;
    lines.push(`${indent}${via}${nodeLabel(n)}${seen.has(id) ? ' (above)' : ''}`);
    if (seen.has(id)) return;
    seen.add(id);
    for (const e of into.get(id) ?? []) walk(e.from, `${indent}  `, `${e.label}${e.verified ? '' : ' (unverified)'}: `);
  };
  walk(g.root, '', '');
  if (g.truncated) lines.push('… (truncated)');
  return `${lines.join('\n')}\n`;
}

/** The impact as a graph (start → versions), for Mermaid and DOT. */
export function impactToGraph(r: ImpactResult): Graph {
  const root = `${r.start.kind}:${r.start.ref}`;
  const nodes: GraphNode[] = [{ id: root, kind: r.start.kind, label: r.start.ref }];
  const byDigest = new Map<string, string>();
  r.versions.forEach((v, i) => {
    const id = `v:${i}`;
    nodes.push({ id, kind: 'version', label: `${v.project}/${v.name}@${v.version.slice(0, 12)}`, project: v.project, artifactKind: v.kind, name: v.name, digest: v.version, stage: v.stage, forced: v.forced });
    byDigest.set(v.version, id);
  });
  const edges = r.versions.map((v, i) => ({ from: v.depth === 1 ? root : (byDigest.get(v.via) ?? root), to: `v:${i}`, label: v.depth === 1 ? r.start.kind : 'trained on', verified: true }));
  return { root, nodes, edges, truncated: r.truncated };
}

export function impactToText(r: ImpactResult): string {
  if (r.versions.length === 0) return `nothing downstream of ${r.start.kind} ${r.start.ref}\n`;
  const lines = [`${r.versions.length} version(s) downstream of ${r.start.kind} ${r.start.ref}:`];
  for (const v of r.versions) lines.push(`  ${v.stage.padEnd(10)} ${v.kind} ${v.project}/${v.name}@${v.version}${v.forced ? ' FORCED' : ''}${v.depth > 1 ? `  (depth ${v.depth}, via ${v.via.slice(0, 12)})` : ''}`);
  if (r.truncated) lines.push('  … (truncated)');
  return `${lines.join('\n')}\n`;
}

export function requireEdgeKind(value: string): EdgeKind {
  if (!(EDGE_KINDS as readonly string[]).includes(value)) throw new CustodyError('REQUEST_INVALID', `unknown lineage kind ${value.slice(0, 40)}`);
  return value as EdgeKind;
}

