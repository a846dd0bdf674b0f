import type { Graph, GraphNode } from '../registry/lineage.js';
import { clip, html, type SafeHtml } from './html.js';

/**
 * The lineage graph laid out on the server, left to right in four layers: data (dataset versions,
 * unregistered datasets) → the run (source commit, builder, signing keys, tokens) → model versions →
 * the stages they are in now. Each node has its own row in its layer, so nodes never overlap however
 * many there are; a tall layer makes the picture taller and the page scrolls it (50 upstream
 * artifacts is 50 rows, about 1,900 px). Labels are clipped to the box (the full text is in the
 * node's <title> and in the table beside the picture). Edges are cubic curves between layer edges.
 */
export interface LaidOutNode {
  node: GraphNode;
  layer: number;
  row: number;
  x: number;
  y: number;
}

export const LAYERS = ['Data', 'Run', 'Versions', 'Stages'] as const;
const COL_W = 260;
const BOX_W = 210;
const BOX_H = 28;
const ROW_H = 38;
const TOP = 40;

export function layerOf(node: GraphNode): number {
  if (node.kind === 'version') return node.artifactKind === 'dataset' ? 0 : 2;
  if (node.kind === 'dataset') return 0;
  if (node.kind === 'model') return 2;
  return 1;
}

export function layoutLineage(graph: Graph): { nodes: LaidOutNode[]; width: number; height: number; stages: { stage: string; y: number }[] } {
  const byLayer: GraphNode[][] = [[], [], []];
  for (const n of graph.nodes) byLayer[layerOf(n)]?.push(n);
  // Stable order: by kind then label, the root version first among versions.
  for (const list of byLayer) list.sort((a, b) => (a.id === graph.root ? -1 : b.id === graph.root ? 1 : a.kind.localeCompare(b.kind) || a.label.localeCompare(b.label)));
  const nodes: LaidOutNode[] = [];
  byLayer.forEach((list, layer) => list.forEach((node, row) => nodes.push({ node, layer, row, x: 20 + layer * COL_W, y: TOP + row * ROW_H })));
  const stageNames = [...new Set(nodes.filter((n) => n.layer === 2 && n.node.stage).map((n) => n.node.stage as string))];
  const stages = stageNames.map((stage, row) => ({ stage, y: TOP + row * ROW_H }));
  const rows = Math.max(1, ...byLayer.map((l) => l.length), stages.length);
  return { nodes, width: 20 + 4 * COL_W, height: TOP + rows * ROW_H + 10, stages };
}

function nodeClass(n: GraphNode): string {
  if (n.kind === 'version') return `node version ${n.artifactKind ?? 'model'}`;
  return `node ${n.kind}`;
}

export function lineageSvg(graph: Graph, href: (n: GraphNode) => string | undefined): SafeHtml {
  const { nodes, width, height, stages } = layoutLineage(graph);
  const at = new Map(nodes.map((n) => [n.node.id, n] as const));
  const edges = graph.edges.map((e) => {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) return html``;
    const x1 = a.x + BOX_W;
    const y1 = a.y + BOX_H / 2;
    const x2 = b.x;
    const y2 = b.y + BOX_H / 2;
    const mid = (x1 + x2) / 2;
    const d = a.layer < b.layer ? `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` : `M${a.x + BOX_W / 2},${a.y + BOX_H} C${a.x + BOX_W / 2},${a.y + BOX_H + 20} ${b.x + BOX_W / 2},${b.y - 20} ${b.x + BOX_W / 2},${b.y}`;
    return html`<path d="${d}" class="edge${e.verified ? '' : ' unverified'}"><title>${e.label}${e.verified ? '' : ' (not verified)'}</title></path>`;
  });
  const stageX = 20 + 3 * COL_W;
  const stageEdges = nodes
    .filter((n) => n.layer === 2 && n.node.stage)
    .map((n) => {
      const s = stages.find((st) => st.stage === n.node.stage);
      if (!s) return html``;
      const x1 = n.x + BOX_W;
      const y1 = n.y + BOX_H / 2;
      const y2 = s.y + BOX_H / 2;
      const mid = (x1 + stageX) / 2;
      return html`<path d="${`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${stageX},${y2}`}" class="edge stage-edge"></path>`;
    });
  const boxes = nodes.map((n) => {
    const link = href(n.node);
    const label = clip(n.node.label, 26);
    const inner = html`<rect x="${n.x}" y="${n.y}" width="${BOX_W}" height="${BOX_H}" rx="5" class="box"></rect><text x="${n.x + 8}" y="${n.y + 18}" class="label">${label}</text><title>${n.node.kind === 'version' ? `${n.node.artifactKind ?? ''} version` : n.node.kind}: ${n.node.label}${n.node.forced ? ' (forced)' : ''}</title>`;
    return html`<g class="${nodeClass(n.node)}${n.node.id === graph.root ? ' root' : ''}">${link ? html`<a href="${link}">${inner}</a>` : inner}</g>`;
  });
  const stageBoxes = stages.map((s) => html`<g class="node stagebox stage-${/^[a-z]+$/.test(s.stage) ? s.stage : 'other'}"><rect x="${stageX}" y="${s.y}" width="${BOX_W - 60}" height="${BOX_H}" rx="14" class="box"></rect><text x="${stageX + 12}" y="${s.y + 18}" class="label">${s.stage}</text></g>`);
  const heads = LAYERS.map((l, i) => html`<text x="${20 + i * COL_W}" y="22" class="layer-head">${l}</text>`);
  return html`<div class="graph-scroll" tabindex="0" role="region" aria-label="Lineage graph (scrolls)"><svg class="lineage" role="img" aria-labelledby="lin-title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><title id="lin-title">Lineage: ${graph.nodes.length} nodes and ${graph.edges.length} edges, data on the left, stages on the right</title>${heads}${edges}${stageEdges}${boxes}${stageBoxes}</svg></div>`;
}
