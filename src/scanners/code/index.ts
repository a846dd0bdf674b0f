import { lstatSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readAll } from '../../core/byte-source.js';
import type { AnyRule } from '../../core/rule.js';
import { readSmallRegularFileSync } from '../../core/safe-fs.js';
import type { ScanContext, Scanner, ScanTarget } from '../../core/scanner.js';
import { MANIFEST_PARSERS } from '../deps/manifests.js';
import { parseRequirementsFile } from '../deps/requirements.js';
import type { Dependency } from '../deps/types.js';
import { analysePython, type PythonFacts } from './python.js';
import { CODE_RULES, parseIncompleteRule, type CodeContext } from './rules.js';

export { CODE_RULES } from './rules.js';

/** Python files larger than this are reported, not parsed (generated code; tree-sitter's memory is linear). */
const MAX_SOURCE_BYTES = 8 * 1024 * 1024;

/**
 * Files without any of these words cannot hold a call the rules look for: they are not parsed.
 * (Every rule's callee or keyword is in the list; parsing is the expensive part.)
 */
const PREFILTER = /\b(?:torch|pickle|cPickle|_pickle|cloudpickle|dill|joblib|read_pickle|allow_pickle|shelve|skops|from_pretrained|from_single_file|hf_hub_download|snapshot_download|load_dataset|trust_remote_code|load_model|unsafe_deserialization|keras|yaml|eval|exec|compile|gradio|ray|mlflow|wandb|neptune|comet_ml|clearml)\b/;

function isPythonName(path: string): boolean {
  return /\.(?:py|pyw)$/i.test(path);
}

interface Source {
  text: string;
  locate: CodeContext['locate'];
}

/** Code cells of a notebook joined into one module (cells share a namespace), with IPython magics blanked. */
function notebookSource(raw: string): Source | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const cells = (doc as { cells?: unknown }).cells;
  if (!Array.isArray(cells)) return undefined;
  // The raw line of each cell's `"source"` key, in order (nbformat writes one source line per JSON line).
  const sourceLines: number[] = [];
  const re = /"source"\s*:/g;
  let line = 1;
  let last = 0;
  for (let m = re.exec(raw); m; m = re.exec(raw)) {
    for (let i = raw.indexOf('\n', last); i >= 0 && i < m.index; i = raw.indexOf('\n', i + 1)) line++;
    last = m.index;
    sourceLines.push(line);
  }
  const parts: string[] = [];
  const map: { cell: number; start: number; count: number; rawLine?: number; array: boolean }[] = [];
  let offset = 1;
  cells.forEach((cell, index) => {
    const c = cell as { cell_type?: unknown; source?: unknown };
    if (c.cell_type !== 'code') return;
    const text = Array.isArray(c.source) ? c.source.filter((s): s is string => typeof s === 'string').join('') : typeof c.source === 'string' ? c.source : '';
    const lines = text.split('\n').map((l) => (/^\s*[%!]/.test(l) ? '' : l)); // magics and shell escapes are not Python
    parts.push(lines.join('\n'));
    const rawLine = sourceLines[index];
    map.push({ cell: index, start: offset, count: lines.length, ...(rawLine === undefined ? {} : { rawLine }), array: Array.isArray(c.source) });
    offset += lines.length;
  });
  return {
    text: parts.join('\n'),
    locate(at, column) {
      const entry = map.find((m) => at >= m.start && at < m.start + m.count);
      if (!entry) return { line: at, column };
      const cellLine = at - entry.start + 1;
      // Array sources sit one JSON string per line after `"source": [`; a string source on the key's line.
      const rawLine = entry.rawLine === undefined ? at : entry.array ? entry.rawLine + cellLine : entry.rawLine;
      return { line: rawLine, column, properties: { cell: entry.cell + 1, cellLine } };
    },
  };
}

const torchByDirectory = new Map<string, string | null>();

/** The lowest torch version a pin or lower bound allows (`==2.5.1` → 2.5.1, `>=2.6` → 2.6). */
function torchVersionOf(dependencies: readonly Dependency[]): string | undefined {
  const torch = dependencies.find((d) => d.normalized === 'torch' || d.normalized === 'pytorch');
  if (!torch) return undefined;
  if (torch.pinned !== undefined) return torch.pinned;
  return /(?:>=|~=|==|\^|=)\s*(\d+(?:\.\d+)*)/.exec(torch.spec)?.[1];
}

/** What the project's manifests say about torch: the nearest directory upwards (up to the repository root) that pins it. */
function torchVersionNear(absPath: string): string | undefined {
  let dir = dirname(absPath);
  for (let depth = 0; depth < 8; depth++) {
    const cached = torchByDirectory.get(dir);
    if (cached !== undefined) return cached ?? undefined;
    let found: string | undefined;
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      names = [];
    }
    for (const name of names) {
      const lower = name.toLowerCase();
      const parse = /^requirements[\w.-]*\.txt$/.test(lower)
        ? (t: string) => parseRequirementsFile(t).dependencies
        : lower === 'uv.lock' ? (t: string) => MANIFEST_PARSERS['uv-lock'](t).dependencies
          : lower === 'poetry.lock' ? (t: string) => MANIFEST_PARSERS['poetry-lock'](t).dependencies
            : lower === 'pyproject.toml' ? (t: string) => MANIFEST_PARSERS.pyproject(t).dependencies
              : name === 'Pipfile.lock' ? (t: string) => MANIFEST_PARSERS['pipfile-lock'](t).dependencies
                : /^environment[\w.-]*\.ya?ml$/.test(lower) ? (t: string) => MANIFEST_PARSERS.conda(t).dependencies : undefined;
      if (!parse) continue;
      try {
        found = torchVersionOf(parse(readFileBounded(join(dir, name))));
      } catch {
        found = undefined;
      }
      if (found !== undefined) break;
    }
    if (found !== undefined) {
      torchByDirectory.set(dir, found);
      return found;
    }
    torchByDirectory.set(dir, null);
    if (lstatSync(join(dir, '.git'), { throwIfNoEntry: false }) || dirname(dir) === dir) return undefined;
    dir = dirname(dir);
  }
  return undefined;
}

/** A manifest next to the code: a small regular file (never a link, FIFO or device), read synchronously. */
function readFileBounded(path: string): string {
  return readSmallRegularFileSync(path, 8 * 1024 * 1024)?.toString('utf8') ?? '';
}

export async function scanCode(target: ScanTarget, context: ScanContext): Promise<void> {
  const name = target.member ?? target.path;
  const notebook = /\.ipynb$/i.test(name);
  if (!notebook && !isPythonName(name)) return;
  const report = context.reporter(parseIncompleteRule, target);
  const limit = Math.min(MAX_SOURCE_BYTES, context.limits.maxTextBytes);
  const bytes = await readAll(target.source, notebook ? context.limits.maxTextBytes : limit);
  if (!bytes) {
    report({ message: 'tooLarge', data: { size: target.source.size, limit }, line: 1, key: 'too-large' });
    return;
  }
  const raw = bytes.toString('utf8');
  if (!PREFILTER.test(raw)) return;
  let source: Source | undefined;
  if (notebook) {
    source = notebookSource(raw);
    if (!source) return; // not a notebook JSON document: the secrets scanner reports unreadable notebooks
    if (source.text.length > limit) {
      report({ message: 'tooLarge', data: { size: source.text.length, limit }, line: 1, key: 'too-large' });
      return;
    }
  } else source = { text: raw.replace(/^\uFEFF/, ''), locate: (line, column) => ({ line, column }) };
  if (!PREFILTER.test(source.text)) return;
  const facts: PythonFacts = await analysePython(source.text, context.deadline);
  const lines = source.text.split('\n');
  const torchVersion = target.absPath !== undefined && target.member === undefined && facts.calls.some((c) => c.name === 'torch.load') ? torchVersionNear(target.absPath) : undefined;
  const codeContext: CodeContext = {
    facts,
    ...(torchVersion === undefined ? {} : { torchVersion }),
    locate: source.locate,
    lineText: (line) => lines[line - 1] ?? '',
  };
  for (const rule of CODE_RULES) await rule.check(codeContext, context.reporter(rule, target));
}

export const codeScanner: Scanner = {
  name: 'code',
  description: 'Model-loading and ML-serving code (Python files and notebook code cells, parsed with tree-sitter).',
  rules: CODE_RULES as readonly AnyRule[],
  scan: (target, context) => scanCode(target, context),
};

