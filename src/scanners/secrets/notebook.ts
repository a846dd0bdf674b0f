import { getKey, parseJsonTree, VirtualText, type JsonNode } from './json-tree.js';
import type { TextKind } from './types.js';

/**
 * Jupyter notebooks read natively: cell sources un-escaped (magics included), every output type
 * (stream text, execute results and display data by MIME type, error name, value and traceback with
 * ANSI colours removed), cell metadata, output metadata and notebook metadata (papermill parameters,
 * widget state). Image, audio, video and PDF payloads are skipped. Each field becomes a document whose
 * offsets map back to the raw `.ipynb` bytes.
 */

export type NotebookField = 'source' | 'outputs' | 'metadata' | 'notebook-metadata';

export interface NotebookPart {
  readonly field: NotebookField;
  readonly cell?: number;
  readonly output?: number;
  readonly kind: TextKind;
  readonly text: VirtualText;
}

/** MIME types whose payload is binary (base64) or cannot hold a typed secret: never read. */
function isSkippedMime(mime: string): boolean {
  return mime.startsWith('image/') || mime.startsWith('audio/') || mime.startsWith('video/') || mime === 'application/pdf' || mime === 'application/octet-stream' || mime === 'application/vnd.jupyter.widget-view+json';
}

/** Keys that hold only numbers, ids or enumerations. */
const INERT_CELL_KEYS = new Set(['cell_type', 'execution_count', 'id', 'attachments']);
const INERT_OUTPUT_KEYS = new Set(['output_type', 'execution_count', 'name']);

export interface NotebookParseOptions {
  readonly deadline: number;
}

/** Splits a notebook into scannable parts; throws JsonSyntaxError / JsonDeadlineError / NotebookShapeError. */
export function notebookParts(raw: string, options: NotebookParseOptions): NotebookPart[] {
  const root = parseJsonTree(raw, { buildDepth: 9, maxDepth: 512, deadline: options.deadline });
  if (root.type !== 'object') throw new NotebookShapeError('the top level is not an object');
  const parts: NotebookPart[] = [];
  const rawPart = (node: JsonNode, field: NotebookField, cell?: number, output?: number): void => {
    const text = new VirtualText();
    text.appendRaw(raw, node.start, node.end);
    parts.push({ field, ...(cell === undefined ? {} : { cell }), ...(output === undefined ? {} : { output }), kind: 'json', text });
  };

  let cells: JsonNode[] = [];
  const cellsNode = getKey(root, 'cells');
  const worksheets = getKey(root, 'worksheets');
  if (cellsNode?.type === 'array') cells = cellsNode.items;
  else if (worksheets?.type === 'array') {
    // nbformat 3: worksheets[].cells[], sources under `input`.
    for (const ws of worksheets.items) {
      const wc = getKey(ws, 'cells');
      if (wc?.type === 'array') cells.push(...wc.items);
      else if (wc !== undefined) rawPart(wc, 'source');
    }
  } else throw new NotebookShapeError('no `cells` array');

  for (let k = 0; k < root.keys.length; k++) {
    const key = root.keys[k]!;
    const value = root.values[k]!;
    if (key === 'cells' || key === 'worksheets' || key === 'nbformat' || key === 'nbformat_minor') continue;
    rawPart(value, 'notebook-metadata');
  }

  cells.forEach((cell, index) => {
    if (cell.type !== 'object') {
      rawPart(cell, 'source', index);
      return;
    }
    const cellType = stringValue(raw, getKey(cell, 'cell_type'));
    for (let k = 0; k < cell.keys.length; k++) {
      const key = cell.keys[k]!;
      const value = cell.values[k]!;
      if (INERT_CELL_KEYS.has(key)) continue;
      if (key === 'source' || key === 'input') {
        const text = stringsOf(raw, value);
        if (text) parts.push({ field: 'source', cell: index, kind: cellType === 'code' ? 'code' : 'text', text });
        else rawPart(value, 'source', index);
      } else if (key === 'outputs' && value.type === 'array') {
        value.items.forEach((output, o) => outputParts(raw, output, index, o, parts, rawPart));
      } else if (key === 'metadata') rawPart(value, 'metadata', index);
      else rawPart(value, key === 'outputs' ? 'outputs' : 'metadata', index);
    }
  });
  return parts;
}

function outputParts(raw: string, output: JsonNode, cell: number, index: number, parts: NotebookPart[], rawPart: (n: JsonNode, f: NotebookField, c?: number, o?: number) => void): void {
  if (output.type !== 'object') {
    rawPart(output, 'outputs', cell, index);
    return;
  }
  const add = (node: JsonNode, kind: TextKind): void => {
    const text = stringsOf(raw, node);
    if (text) parts.push({ field: 'outputs', cell, output: index, kind, text });
    else rawPart(node, 'outputs', cell, index);
  };
  for (let k = 0; k < output.keys.length; k++) {
    const key = output.keys[k]!;
    const value = output.values[k]!;
    if (INERT_OUTPUT_KEYS.has(key)) continue;
    if (key === 'data' && value.type === 'object') {
      for (let m = 0; m < value.keys.length; m++) {
        const mime = value.keys[m]!;
        const payload = value.values[m]!;
        if (isSkippedMime(mime)) continue;
        add(payload, mime.includes('json') ? 'json' : 'text');
      }
    } else if (key === 'text' || key === 'evalue' || key === 'ename' || key === 'traceback') add(value, 'text');
    else if (key === 'metadata') rawPart(value, 'metadata', cell, index);
    else rawPart(value, 'outputs', cell, index);
  }
}

/** A string, or an array of strings, decoded into one text; undefined for anything else. */
function stringsOf(raw: string, node: JsonNode): VirtualText | undefined {
  if (node.type === 'string') {
    const text = new VirtualText();
    text.appendString(raw, node.start, node.end);
    return text;
  }
  if (node.type !== 'array' || !node.items.every((i) => i.type === 'string')) return undefined;
  const text = new VirtualText();
  for (const item of node.items) {
    if (!text.endsWithNewline()) text.appendBreak(item.start);
    text.appendString(raw, item.start, item.end);
  }
  return text;
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
