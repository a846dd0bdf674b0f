import { BufferSource } from '../core/byte-source.js';
import type { ResolvedConfig } from '../core/config.js';
import { CustodyError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { Scanner } from '../core/scanner.js';
import type { Severity } from '../core/severity.js';
import { invalidSuppressionRule } from '../scanners/core/rules.js';
import { scanBlob } from '../scanners/file-scan.js';
import { MAX_NOTEBOOK_NODES } from '../scanners/secrets/notebook.js';
import { scanIncompleteRule } from '../scanners/secrets/rules/meta.js';

/**
 * `custody notebook clean` as a library: strips outputs and execution metadata from Jupyter
 * notebooks, and finds secrets in cell sources (which cleaning cannot remove, so the command refuses).
 *
 * The notebook is rewritten through a JSON tree that keeps every key in its order and every scalar
 * as written (`1.0` stays `1.0`, `\u00e9` stays escaped), and it is printed back in the file's own
 * style — nbformat's one-space indent, or whatever the file uses — with its line endings and trailing
 * newline. An unchanged notebook is never rewritten: `text` is then the input itself.
 */

/** Cell metadata stripped by default: execution timing, UI state, papermill run records. */
export const DEFAULT_CELL_METADATA: readonly string[] = ['ExecuteTime', 'collapsed', 'execution', 'heading_collapsed', 'hidden', 'papermill', 'scrolled'];
/** Notebook metadata stripped by default: widget state, the old signature, papermill run records. */
export const DEFAULT_NOTEBOOK_METADATA: readonly string[] = ['papermill', 'signature', 'widgets'];

export interface CleanOptions {
  /** Keep cell outputs (execution counts are still reset unless `execution_count` is kept). */
  keepOutput?: boolean;
  /** Keys to keep although they are on a strip list; `execution_count` keeps execution counts. */
  keepMetadata?: readonly string[];
  /** Cell metadata keys to strip (default DEFAULT_CELL_METADATA). */
  cellMetadata?: readonly string[];
  /** Notebook metadata keys to strip (default DEFAULT_NOTEBOOK_METADATA). */
  notebookMetadata?: readonly string[];
}

export interface CleanSummary {
  /** Outputs removed, over all cells. */
  outputs: number;
  /** Execution counts reset to null. */
  executionCounts: number;
  /** Metadata removed, as paths: `cells[3].metadata.ExecuteTime`, `metadata.widgets`. */
  metadata: string[];
}

export interface CleanResult {
  changed: boolean;
  /** The cleaned notebook; the input itself when nothing changed. */
  text: string;
  summary: CleanSummary;
  /** Each cell's `id` (nbformat ≥ 4.5), by 0-based index. */
  cellIds: (string | undefined)[];
}

/** Deepest JSON nesting read (nbformat nests about 6 deep; widget state a little more). */
const MAX_DEPTH = 512;

/**
 * Values kept as nodes while cleaning (cells, keys, lines of sources and kept outputs); each costs
 * memory, so a notebook with more is refused (INPUT_LIMIT) — the limit of the secrets check, which must
 * read a notebook cell by cell before it is written. Outputs that are stripped are checked for syntax
 * and skipped without building nodes, however many lines they hold.
 */
export const MAX_NOTEBOOK_VALUES = MAX_NOTEBOOK_NODES;

export function cleanNotebook(text: string, options: CleanOptions = {}): CleanResult {
  const root = parseJson(text, { skipOutputs: !options.keepOutput });
  if (root.kind !== 'object') throw new CustodyError('PARSE_ERROR', 'not a notebook: the top level is not a JSON object');
  const keep = new Set(options.keepMetadata ?? []);
  const cellStrip = (options.cellMetadata ?? DEFAULT_CELL_METADATA).filter((k) => !keep.has(k));
  const notebookStrip = (options.notebookMetadata ?? DEFAULT_NOTEBOOK_METADATA).filter((k) => !keep.has(k));
  const summary: CleanSummary = { outputs: 0, executionCounts: 0, metadata: [] };
  const cellIds: (string | undefined)[] = [];

  const cells = get(root, 'cells');
  const worksheets = get(root, 'worksheets');
  const cellLists: { path: string; cells: JsonArray; countKey: string }[] = [];
  if (cells?.kind === 'array') cellLists.push({ path: 'cells', cells, countKey: 'execution_count' });
  else if (worksheets?.kind === 'array') {
    // nbformat 3: worksheets[].cells[], counts in `prompt_number`.
    worksheets.items.forEach((ws, w) => {
      const list = ws.kind === 'object' ? get(ws, 'cells') : undefined;
      if (list?.kind === 'array') cellLists.push({ path: `worksheets[${w}].cells`, cells: list, countKey: 'prompt_number' });
    });
  } else throw new CustodyError('PARSE_ERROR', 'not a notebook: no `cells` array');

  for (const { path, cells: list, countKey } of cellLists) {
    list.items.forEach((cell, index) => {
      // One entry per cell, objects or not: the secrets scanner counts every cell.
      const id = cell.kind === 'object' ? get(cell, 'id') : undefined;
      cellIds.push(stringOf(id));
      if (cell.kind !== 'object') return;
      const where = `${path}[${index}]`;
      if (stringOf(get(cell, 'cell_type')) === 'code') {
        const outputs = get(cell, 'outputs');
        const count = outputs?.kind === 'array' ? outputs.items.length : outputs?.kind === 'skipped' && outputs.array ? outputs.count : 0;
        if (!options.keepOutput && count > 0) {
          summary.outputs += count;
          set(cell, 'outputs', { kind: 'array', items: [] });
        }
        if (!keep.has('execution_count')) {
          const count = get(cell, countKey);
          if (countKey === 'execution_count' && count !== undefined && !(count.kind === 'scalar' && count.raw === 'null')) {
            set(cell, countKey, { kind: 'scalar', raw: 'null' });
            summary.executionCounts += 1;
          } else if (countKey === 'prompt_number' && count !== undefined) {
            remove(cell, countKey);
            summary.executionCounts += 1;
          }
        }
      }
      const metadata = get(cell, 'metadata');
      if (metadata?.kind === 'object') {
        for (const key of cellStrip) if (remove(metadata, key)) summary.metadata.push(`${where}.metadata.${key}`);
      }
    });
  }
  const metadata = get(root, 'metadata');
  if (metadata?.kind === 'object') {
    for (const key of notebookStrip) if (remove(metadata, key)) summary.metadata.push(`metadata.${key}`);
  }

  const changed = summary.outputs + summary.executionCounts + summary.metadata.length > 0;
  return { changed, text: changed ? printJson(root, detectStyle(text)) : text, summary, cellIds };
}

export interface CellSecret {
  /** 0-based cell index (as in `properties.cell` of secrets findings). */
  cell: number;
  /** 1-based line within the cell source (or output text). */
  line: number;
  field: 'source' | 'outputs';
  ruleId: string;
  severity: Severity;
  message: string;
  /** Redacted. */
  evidence?: string;
}

export interface SecretCheckOptions {
  /** The secrets scanner (injectable for tests). */
  scanners: readonly Scanner[];
  config: ResolvedConfig;
  knownRuleIds: ReadonlySet<string>;
  /** Also report secrets in outputs (when outputs are kept, cleaning does not remove them). */
  includeOutputs?: boolean;
}

/**
 * Secrets that cleaning would leave in the notebook: those in cell sources (and in outputs when they
 * are kept), from the secrets scanner's notebook findings (`properties.field`, `cell`, `cellLine`).
 * An inline `custody-ignore <rule-id> -- <reason>` on the finding's line or the line above holds, as in
 * `custody scan`. A notebook the scanner could not read cell by cell (too large, out of time, not
 * notebook JSON) throws INPUT_LIMIT or PARSE_ERROR: "no secrets" would then be a guess.
 */
export async function findCellSecrets(path: string, bytes: Buffer, options: SecretCheckOptions): Promise<CellSecret[]> {
  const limit = options.config.limits.maxTextBytes;
  if (bytes.length > limit) {
    throw new CustodyError('INPUT_LIMIT', `the secrets check reads notebooks of up to limits.maxTextBytes (${limit} bytes) cell by cell; this one is ${bytes.length} bytes — raise the limit in .custody.yml`);
  }
  const findings = await scanBlob(path, new BufferSource(bytes), { scanners: options.scanners, config: options.config, knownRuleIds: options.knownRuleIds });
  const fields = new Set(['source', ...(options.includeOutputs ? ['outputs'] : [])]);
  const secrets: CellSecret[] = [];
  for (const finding of findings) {
    // A malformed suppression comment is about the comment, not a secret (the secret it failed to
    // silence is its own finding).
    if (finding.ruleId === invalidSuppressionRule.id) continue;
    const field = finding.properties?.['field'];
    const cell = finding.properties?.['cell'];
    if (typeof field !== 'string' || (fields.has(field) && typeof cell !== 'number')) throw unreadable(finding);
    if (!fields.has(field) || typeof cell !== 'number') continue;
    const cellLine = finding.properties?.['cellLine'];
    const secret: CellSecret = {
      cell,
      line: typeof cellLine === 'number' ? cellLine : 1,
      field: field as CellSecret['field'],
      ruleId: finding.ruleId,
      severity: finding.severity,
      message: finding.message,
    };
    if (finding.evidence !== undefined) secret.evidence = finding.evidence;
    secrets.push(secret);
  }
  return secrets.sort((a, b) => a.cell - b.cell || a.line - b.line || (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0));
}

/**
 * A finding that names no notebook cell: the scan stopped early or read the file as plain text. Only
 * the rule id goes into the error (a secret rule's message is safe, but the id says enough).
 */
function unreadable(finding: Finding): CustodyError {
  const code = finding.ruleId === scanIncompleteRule.id ? 'INPUT_LIMIT' : 'PARSE_ERROR';
  return new CustodyError(code, `the secrets check could not read this notebook cell by cell (${finding.ruleId}); fix the notebook or raise limits.fileTimeoutMs, then run again`);
}

// ---------------------------------------------------------------------------------------------
// An order- and token-preserving JSON tree.

/** A scalar as written; strings are decoded only when read (stringOf). */
type JsonScalar = { kind: 'scalar'; raw: string };
type JsonArray = { kind: 'array'; items: JsonNode[] };
type JsonObject = { kind: 'object'; entries: { rawKey: string; key: string; value: JsonNode }[] };
/** A value checked but not built (stripped outputs): its text, and its element count if it is an array. */
type JsonSkipped = { kind: 'skipped'; raw: string; array: boolean; count: number };
type JsonNode = JsonScalar | JsonArray | JsonObject | JsonSkipped;

function get(node: JsonObject, key: string): JsonNode | undefined {
  // JSON allows duplicate keys; like JSON.parse, the last one wins.
  for (let i = node.entries.length - 1; i >= 0; i--) if (node.entries[i]?.key === key) return node.entries[i]?.value;
  return undefined;
}

function set(node: JsonObject, key: string, value: JsonNode): void {
  for (let i = node.entries.length - 1; i >= 0; i--) {
    const entry = node.entries[i];
    if (entry?.key === key) {
      entry.value = value;
      return;
    }
  }
}

function remove(node: JsonObject, key: string): boolean {
  const before = node.entries.length;
  node.entries = node.entries.filter((e) => e.key !== key);
  return node.entries.length !== before;
}

function stringOf(node: JsonNode | undefined): string | undefined {
  return node?.kind === 'scalar' && node.raw.startsWith('"') ? (JSON.parse(node.raw) as string) : undefined;
}

/** Where a value sits in a notebook, as far as cleaning cares. */
type Place = 'root' | 'cells' | 'cell' | 'worksheets' | 'worksheet' | 'other';

function placeOf(parent: Place, key: string | undefined): Place {
  if (parent === 'root') return key === 'cells' ? 'cells' : key === 'worksheets' ? 'worksheets' : 'other';
  if (parent === 'worksheets') return 'worksheet';
  if (parent === 'worksheet') return key === 'cells' ? 'cells' : 'other';
  if (parent === 'cells') return 'cell';
  return 'other';
}

/**
 * Parses JSON into the order- and token-preserving tree, bounded in depth (MAX_DEPTH) and in nodes
 * built (MAX_NOTEBOOK_VALUES). With `skipOutputs`, a cell's `outputs` is checked for syntax and kept as
 * its text without building nodes (it is about to be stripped).
 */
function parseJson(text: string, options: { skipOutputs: boolean }): JsonNode {
  let pos = 0;
  let nodes = 0;
  const fail = (what: string): never => {
    throw new CustodyError('PARSE_ERROR', `not valid JSON: ${what} at character ${pos}`);
  };
  const count = (): void => {
    if (++nodes > MAX_NOTEBOOK_VALUES) {
      throw new CustodyError('INPUT_LIMIT', `the notebook holds more than ${MAX_NOTEBOOK_VALUES} JSON values (cells, source lines, kept outputs); notebooks are cleaned up to that many`, {
        details: { limit: 'values', max: MAX_NOTEBOOK_VALUES },
      });
    }
  };
  const skipSpace = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else return;
    }
  };
  const readString = (): string => {
    const start = pos;
    pos++;
    for (;;) {
      const quote = text.indexOf('"', pos);
      if (quote === -1) fail('unterminated string');
      // Count the backslashes before the quote: an odd number escapes it.
      let backslashes = 0;
      for (let i = quote - 1; i >= start + 1 && text.charCodeAt(i) === 0x5c; i--) backslashes++;
      pos = quote + 1;
      if (backslashes % 2 === 0) return text.slice(start, pos);
    }
  };
  const decode = (raw: string): string => {
    try {
      return JSON.parse(raw) as string;
    } catch {
      return fail('invalid string');
    }
  };
  const readScalar = (): string => {
    const match = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(pos, pos + 400));
    if (!match) return fail('unexpected token');
    pos += match[0].length;
    return match[0];
  };
  /**
   * One value. `build` false checks it (same grammar, strings decoded and dropped) without keeping
   * nodes; it then returns undefined.
   */
  const value = (depth: number, place: Place, build: boolean): JsonNode | undefined => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    if (build) count();
    skipSpace();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const node: JsonObject | undefined = build ? { kind: 'object', entries: [] } : undefined;
      skipSpace();
      if (text[pos] === '}') {
        pos++;
        return node;
      }
      for (;;) {
        skipSpace();
        if (text[pos] !== '"') fail('expected a key');
        const rawKey = readString();
        const key = decode(rawKey);
        skipSpace();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        if (node !== undefined) {
          const child = place === 'cell' && key === 'outputs' && options.skipOutputs ? skipped(depth + 1) : (value(depth + 1, placeOf(place, key), true) as JsonNode);
          node.entries.push({ rawKey, key, value: child });
        } else value(depth + 1, 'other', false);
        skipSpace();
        if (text[pos] === ',') pos++;
        else if (text[pos] === '}') {
          pos++;
          return node;
        } else fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const node: JsonArray | undefined = build ? { kind: 'array', items: [] } : undefined;
      skipSpace();
      if (text[pos] === ']') {
        pos++;
        return node;
      }
      for (;;) {
        const item = value(depth + 1, placeOf(place, undefined), build);
        if (node !== undefined) node.items.push(item as JsonNode);
        skipSpace();
        if (text[pos] === ',') pos++;
        else if (text[pos] === ']') {
          pos++;
          return node;
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') {
      const raw = readString();
      decode(raw); // a string JSON does not allow is refused even where it is not read
      return build ? { kind: 'scalar', raw } : undefined;
    }
    const raw = readScalar();
    return build ? { kind: 'scalar', raw } : undefined;
  };
  /** A value checked without building nodes; an array's top-level elements are counted. */
  const skipped = (depth: number): JsonSkipped => {
    skipSpace();
    const start = pos;
    const array = text[pos] === '[';
    let elements = 0;
    if (array) {
      pos++;
      skipSpace();
      if (text[pos] !== ']') {
        for (;;) {
          value(depth + 1, 'other', false);
          elements++;
          skipSpace();
          if (text[pos] === ',') pos++;
          else if (text[pos] === ']') break;
          else fail("expected ',' or ']'");
        }
      }
      pos++;
    } else value(depth, 'other', false);
    return { kind: 'skipped', raw: text.slice(start, pos), array, count: elements };
  };
  const root = value(0, 'root', true) as JsonNode;
  skipSpace();
  if (pos !== text.length) fail('trailing content');
  return root;
}

interface Style {
  /** One level of indentation; undefined for compact JSON on one line. */
  indent: string | undefined;
  newline: string;
  finalNewline: boolean;
}

/** The file's own style: the indentation of its first key, its line endings, its final newline. */
function detectStyle(text: string): Style {
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  const finalNewline = text.endsWith('\n');
  const match = /^\s*[{[][ \t]*\r?\n([ \t]+)\S/.exec(text);
  if (match) return { indent: match[1], newline, finalNewline };
  return { indent: /^\s*[{[]\s*\r?\n/.test(text) ? '' : undefined, newline, finalNewline };
}

function printJson(root: JsonNode, style: Style): string {
  const { indent, newline } = style;
  const parts: string[] = [];
  const print = (node: JsonNode, level: number): void => {
    if (node.kind === 'scalar' || node.kind === 'skipped') {
      parts.push(node.raw);
      return;
    }
    const [open, close] = node.kind === 'array' ? ['[', ']'] : ['{', '}'];
    const count = node.kind === 'array' ? node.items.length : node.entries.length;
    if (count === 0) {
      parts.push(open, close);
      return;
    }
    parts.push(open);
    const inner = indent === undefined ? '' : newline + indent.repeat(level + 1);
    for (let i = 0; i < count; i++) {
      if (i > 0) parts.push(',');
      parts.push(inner);
      if (node.kind === 'array') print(node.items[i] as JsonNode, level + 1);
      else {
        const entry = node.entries[i] as JsonObject['entries'][number];
        parts.push(entry.rawKey, indent === undefined ? ':' : ': ');
        print(entry.value, level + 1);
      }
    }
    if (indent !== undefined) parts.push(newline, indent.repeat(level));
    parts.push(close);
  };
  print(root, 0);
  if (style.finalNewline) parts.push(newline);
  return parts.join('');
}
