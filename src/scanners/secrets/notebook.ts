import { getKey, JsonDeadlineError, parseJsonTree, RawSpan, VirtualText, type JsonNode, type MappedText } from './json-tree.js';
import type { TextKind } from './types.js';

/**
 * Jupyter notebooks read natively: cell sources un-escaped (magics included), every output type
 * (stream text, execute results and display data by MIME type, error name, value and traceback with
 * ANSI colours removed), cell attachments by MIME type, cell metadata, output metadata and notebook
 * metadata (papermill parameters, widget state). Image, audio, video and PDF payloads are skipped.
 * Every other value is scanned as raw JSON text, so nothing a notebook holds goes unread. Each field
 * becomes a document whose offsets map back to the raw `.ipynb` bytes.
 */

export type NotebookField = 'source' | 'outputs' | 'attachments' | 'metadata' | 'notebook-metadata';

export interface NotebookPart {
  readonly field: NotebookField;
  readonly cell?: number;
  readonly output?: number;
  readonly kind: TextKind;
  readonly text: MappedText;
}

/**
 * Values kept as nodes while parsing (cells, outputs, lines of sources and output text). Each costs
 * memory whatever its size, so a notebook of millions of tiny values is reported and read as raw text.
 */
export const MAX_NOTEBOOK_NODES = 500_000;

/** MIME types whose payload is binary (base64) or cannot hold a typed secret: never read. */
function isSkippedMime(mime: string): boolean {
  return mime.startsWith('image/') || mime.startsWith('audio/') || mime.startsWith('video/') || mime === 'application/pdf' || mime === 'application/octet-stream' || mime === 'application/vnd.jupyter.widget-view+json';
}

/** Keys that hold only numbers, ids or enumerations. */
const INERT_CELL_KEYS = new Set(['cell_type', 'execution_count', 'id']);
const INERT_OUTPUT_KEYS = new Set(['output_type', 'execution_count', 'name']);

export interface NotebookParseOptions {
  readonly deadline: number;
}

interface Where {
  readonly field: NotebookField;
  readonly cell?: number;
  readonly output?: number;
}

/** Splits a notebook into scannable parts; throws JsonSyntaxError / JsonLimitError / JsonDeadlineError / NotebookShapeError. */
export function notebookParts(raw: string, options: NotebookParseOptions): NotebookPart[] {
  const root = parseJsonTree(raw, { buildDepth: 9, maxDepth: 512, maxNodes: MAX_NOTEBOOK_NODES, deadline: options.deadline });
  if (root.type !== 'object') throw new NotebookShapeError('the top level is not an object');
  const reader = new PartReader(raw, options.deadline);

  const cells: JsonNode[] = [];
  let cellsNode = getKey(root, 'cells');
  if (cellsNode?.type === 'array') for (const cell of cellsNode.items) cells.push(cell);
  else {
    // nbformat 3: worksheets[].cells[], sources under `input`.
    cellsNode = getKey(root, 'worksheets');
    if (cellsNode?.type !== 'array') throw new NotebookShapeError('no `cells` array');
    for (const ws of cellsNode.items) {
      const wsCells = getKey(ws, 'cells');
      if (wsCells?.type === 'array') for (const cell of wsCells.items) cells.push(cell);
      if (ws.type !== 'object') reader.raw(ws, { field: 'notebook-metadata' });
      else for (const value of ws.values) if (value !== wsCells || wsCells.type !== 'array') reader.raw(value, { field: value === wsCells ? 'source' : 'notebook-metadata' });
    }
  }
  // Everything at the top level but the cells read above: metadata, and duplicate or unexpected keys too.
  for (const value of root.values) if (value !== cellsNode) reader.raw(value, { field: 'notebook-metadata' });

  cells.forEach((cell, index) => {
    if (cell.type !== 'object') {
      reader.raw(cell, { field: 'source', cell: index });
      return;
    }
    const kind = stringValue(raw, getKey(cell, 'cell_type')) === 'code' ? 'code' : 'text';
    for (let k = 0; k < cell.keys.length; k++) {
      const key = cell.keys[k]!;
      const value = cell.values[k]!;
      if (INERT_CELL_KEYS.has(key)) continue;
      if (key === 'source' || key === 'input') reader.text(value, kind, { field: 'source', cell: index });
      else if (key === 'outputs' && value.type === 'array') value.items.forEach((output, o) => reader.output(output, index, o));
      else if (key === 'attachments' && value.type === 'object') {
        // `{ "image.png": { "image/png": "…" } }`: one MIME bundle per attached file.
        for (const bundle of value.values) reader.mimeBundle(bundle, { field: 'attachments', cell: index });
      } else reader.raw(value, { field: key === 'outputs' ? 'outputs' : key === 'attachments' ? 'attachments' : 'metadata', cell: index });
    }
  });
  return reader.parts;
}

class PartReader {
  readonly parts: NotebookPart[] = [];
  private steps = 0;

  constructor(
    private readonly source: string,
    private readonly deadline: number,
  ) {}

  private add(where: Where, kind: TextKind, text: MappedText, at: number): void {
    if (++this.steps % 4096 === 0 && Date.now() > this.deadline) throw new JsonDeadlineError(at);
    this.parts.push({ ...where, kind, text });
  }

  /** A value scanned as raw JSON text. Numbers, booleans and null hold no secret. */
  raw(node: JsonNode, where: Where): void {
    if (node.type === 'number' || node.type === 'literal') return;
    this.add(where, 'json', new RawSpan(this.source, node.start, node.end), node.start);
  }

  /** A string or an array of strings (sources, output text), decoded into one text; anything else as raw JSON. */
  text(node: JsonNode, kind: TextKind, where: Where): void {
    let text: VirtualText | undefined;
    if (node.type === 'string') {
      text = new VirtualText();
      text.appendString(this.source, node.start, node.end);
    } else if (node.type === 'array' && node.items.every((i) => i.type === 'string')) {
      text = new VirtualText();
      for (const item of node.items) {
        if (!text.endsWithNewline()) text.appendBreak(item.start);
        text.appendString(this.source, item.start, item.end);
      }
    }
    if (text === undefined) this.raw(node, where);
    else this.add(where, kind, text, node.start);
  }

  /** `{ mime: payload }`: binary payloads skipped, the rest decoded. */
  mimeBundle(node: JsonNode, where: Where): void {
    if (node.type !== 'object') {
      this.raw(node, where);
      return;
    }
    for (let m = 0; m < node.keys.length; m++) {
      const mime = node.keys[m]!;
      if (!isSkippedMime(mime)) this.text(node.values[m]!, mime.includes('json') ? 'json' : 'text', where);
    }
  }

  output(output: JsonNode, cell: number, index: number): void {
    const where: Where = { field: 'outputs', cell, output: index };
    if (output.type !== 'object') {
      this.raw(output, where);
      return;
    }
    for (let k = 0; k < output.keys.length; k++) {
      const key = output.keys[k]!;
      const value = output.values[k]!;
      if (INERT_OUTPUT_KEYS.has(key)) continue;
      if (key === 'data') this.mimeBundle(value, where);
      else if (key === 'text' || key === 'evalue' || key === 'ename' || key === 'traceback') this.text(value, 'text', where);
      else this.raw(value, key === 'metadata' ? { field: 'metadata', cell, output: index } : where);
    }
  }
}

function stringValue(raw: string, node: JsonNode | undefined): string | undefined {
  if (node?.type !== 'string') return undefined;
  return raw.slice(node.start + 1, node.end - 1);
}

export class NotebookShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotebookShapeError';
  }
}
