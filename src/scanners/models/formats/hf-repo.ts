import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, posix, relative } from 'node:path';
import { FileSource, readAll } from '../../../core/byte-source.js';
import { defineRule, type Report } from '../../../core/rule.js';
import type { ScanContext, ScanTarget } from '../../../core/scanner.js';
import type { ModelFormat } from '../format.js';
import { scanJinjaTemplate } from '../jinja/index.js';
import { scanJsonStructure } from './safetensors.js';
import { describeJsonType } from '../../../core/json.js';

/**
 * Hugging Face model repositories (snapshots). What runs code there is not the weights but the
 * configs: an `auto_map` in `config.json`, `tokenizer_config.json`, `preprocessor_config.json` or
 * `processor_config.json` makes `from_pretrained(..., trust_remote_code=True)` import the `.py`
 * files it names (and whatever they import relatively); a chat template in the tokenizer config (or
 * `chat_template.jinja`) is rendered by vLLM, SGLang, TGI and transformers; a dataset loading script
 * runs under `load_dataset(..., trust_remote_code=True)`. Configs are recognised by their JSON
 * content, wherever they are; sibling files are read only for top-level files (`target.absPath`).
 */

const TAGS = ['owasp-ml:ML06', 'format:huggingface'] as const;
/** Largest config read (tokenizer configs with big added-token tables are a few MB). */
const MAX_CONFIG_BYTES = 32 * 1024 * 1024;
const MAX_JSON_DEPTH = 64;
/** Bounds for following the Python files an auto_map loads. */
const MAX_CODE_FILES = 64;
const MAX_CODE_BYTES = 4 * 1024 * 1024;
const MAX_TEMPLATE_FILES = 32;
/** Bytes of a `.jinja` template file read: as many as the template scanner looks at (DEFAULT_JINJA_LIMITS.maxChars). */
const MAX_TEMPLATE_FILE_BYTES = 4 * 1024 * 1024;
const MAX_REPORTS_PER_FILE = 30;

const CONFIG_MARKERS = ['"auto_map"', '"custom_pipelines"', '"chat_template"', '"architectures"', '"model_type"', '"tokenizer_class"', '"processor_class"', '"image_processor_type"', '"feature_extractor_type"', '"_name_or_path"', '"transformers_version"'];
/** Files whose `auto_map` (or template) transformers reads, in the order that owns sibling template files. */
const CONFIG_NAMES = ['tokenizer_config.json', 'processor_config.json', 'preprocessor_config.json', 'config.json', 'chat_template.json'];

export const hfRemoteCodeRule = defineRule<'localCode' | 'otherRepo' | 'notChecked', void>({
  id: 'models/hf-remote-code',
  title: 'Model repository runs its own Python code (auto_map)',
  description:
    'A Hugging Face config carries an `auto_map`: loading the repository with `trust_remote_code=True` imports the Python ' +
    'files it names and runs them with the user\'s rights — before any weight is read. Entries of the form ' +
    '`org/repo--module.Class` fetch the code from another repository at load time. One finding per config lists every ' +
    'file that would run.',
  severity: 'high',
  confidence: 'high',
  tags: [...TAGS, 'cwe:94', 'cwe:829'],
  remediation:
    'Load the model without trust_remote_code (use a transformers-native architecture), or review every listed file, pin the ' +
    'repository revision (`revision=<commit>`) and vendor the code into your own project.',
  messages: {
    localCode: '{{file}} auto_map ({{classes}}) makes trust_remote_code=True run {{files}}{{notes}}.',
    otherRepo: '{{file}} auto_map entry {{entry}} makes trust_remote_code=True fetch and run {{module}}.py from the repository {{repo}}.',
    notChecked: '{{file}} auto_map ({{classes}}) makes trust_remote_code=True run {{files}}; the files were not checked (inside a container).',
  },
  check: () => undefined,
});

export const hfRemoteCodeDangerousRule = defineRule<'call', void>({
  id: 'models/hf-remote-code-dangerous',
  title: 'Remote code of a model repository runs commands, code or network calls',
  description:
    'A Python file that a config\'s `auto_map` loads (directly or through a relative import) calls what model code has no ' +
    'need for: shell commands (`os.system`, `subprocess`), dynamic code (`exec`, `eval`, `compile`, `__import__`), sockets and ' +
    'HTTP clients, deserialisers (`pickle`, `marshal`), `ctypes`. With trust_remote_code=True this runs at load time.',
  severity: 'critical',
  confidence: 'medium',
  tags: [...TAGS, 'cwe:94', 'cwe:506'],
  remediation: 'Do not load the repository with trust_remote_code=True; read the code at the reported line, and report the repository if it is malicious.',
  messages: { call: '{{what}} in code that {{config}} auto_map runs: {{snippet}}' },
  check: () => undefined,
});

export const hfChatTemplateInjectionRule = defineRule<'construct', void>({
  id: 'models/hf-chat-template-injection',
  title: 'Chat template of a model repository reaches Python internals',
  description:
    'The repository\'s chat template (`chat_template` in tokenizer_config.json or chat_template.json, or chat_template.jinja) is ' +
    'a Jinja template that serving stacks render on every request. It contains template-injection constructs — dunder walks ' +
    '(`__class__`, `__globals__`, …), the `attr` filter, names hidden by escapes or concatenation, or globals such as `cycler` ' +
    'and `lipsum` whose attributes reach module globals — that escape weak sandboxes and run code or leak data.',
  severity: 'critical',
  confidence: 'high',
  tags: [...TAGS, 'cwe:1336', 'cwe:94'],
  remediation: 'Replace the chat template with the base model\'s known-good template; keep serving stacks updated so they render templates sandboxed.',
  messages: { construct: '{{where}} at line {{line}}, column {{column}}: {{construct}} — {{detail}}' },
  check: () => undefined,
});

export const hfChatTemplateUnreadableRule = defineRule<'notString' | 'unterminated' | 'truncated' | 'unreadable', void>({
  id: 'models/hf-chat-template-unreadable',
  title: 'Chat template of a model repository could not be fully analysed',
  description:
    'A chat template is not a string (or a list of named templates), does not tokenize to the end, or the scan stopped at a ' +
    'limit. What was not read is unknown, so it is reported.',
  severity: 'medium',
  confidence: 'medium',
  tags: [...TAGS, 'cwe:1336'],
  remediation: 'Read the template by hand or replace it with a known-good one.',
  messages: {
    notString: '{{where}} holds {{found}}, not a template string.',
    unterminated: '{{where}}: {{reason}} at line {{line}}, column {{column}}; the rest was not analysed.',
    truncated: '{{where}}: the scan stopped at a limit; part of the template was not analysed.',
    unreadable: '{{where}} could not be read ({{reason}}); it was not analysed.',
  },
  check: () => undefined,
});

export const hfDatasetScriptRule = defineRule<'script' | 'scriptDangerous', void>({
  id: 'models/hf-dataset-script',
  title: 'Dataset loading script',
  description:
    'A Python dataset loading script (a `datasets.GeneratorBasedBuilder` with `_generate_examples`). `load_dataset(..., ' +
    'trust_remote_code=True)` runs it — it can download, read and write anything. Recent `datasets` releases refuse scripts; ' +
    'older ones and pinned environments still run them. Medium by itself, high when the script runs commands, code or ' +
    'network calls of its own.',
  severity: 'medium',
  confidence: 'high',
  tags: [...TAGS, 'cwe:94'],
  remediation: 'Convert the dataset to data files (Parquet, JSON Lines, Arrow) and drop the script; never load datasets from untrusted repositories with trust_remote_code=True.',
  messages: {
    script: 'Dataset loading script ({{builder}}): load_dataset(..., trust_remote_code=True) runs it.',
    scriptDangerous: 'Dataset loading script ({{builder}}) runs {{what}} (line {{line}}): {{snippet}}',
  },
  check: () => undefined,
});

export const hfConfigInvalidRule = defineRule<'notJson' | 'tooLarge' | 'badAutoMap', void>({
  id: 'models/hf-config-invalid',
  title: 'Model repository config could not be read',
  description:
    'A file that looks like a Hugging Face config (config.json, tokenizer_config.json, processor configs) is not valid JSON, ' +
    'nests too deeply, is too large to read, or has an `auto_map` that is not a mapping of strings. Custody could not check ' +
    'what it makes transformers load, so it is reported.',
  severity: 'medium',
  confidence: 'medium',
  tags: [...TAGS, 'cwe:20'],
  remediation: 'Fix or regenerate the config with `save_pretrained`; inspect it by hand before loading the repository.',
  messages: {
    notJson: 'Config is not valid JSON: {{reason}}',
    tooLarge: 'Config of {{size}} bytes is larger than the {{limit}} bytes read.',
    badAutoMap: 'auto_map entry {{entry}} is {{found}}, not a "module.Class" string.',
  },
  check: () => undefined,
});

const RULES = [hfChatTemplateInjectionRule, hfChatTemplateUnreadableRule, hfConfigInvalidRule, hfDatasetScriptRule, hfRemoteCodeDangerousRule, hfRemoteCodeRule] as const;

// ------------------------------------------------------------------------------------------------
// detection

function firstNonSpace(head: Buffer): number {
  for (let i = 0; i < Math.min(head.length, 1024); i++) {
    const b = head[i] as number;
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09 && b !== 0xef && b !== 0xbb && b !== 0xbf) return b;
  }
  return -1;
}

/** Config keys as transformers reads them (after JSON unescaping). */
const CONFIG_KEYS = CONFIG_MARKERS.map((marker) => marker.slice(1, -1));

function fileName(target: ScanTarget): string {
  return (target.member?.split('!').pop() ?? target.path).split(/[\\/]/).pop() ?? '';
}

/** A config by its markers in the head, or by the names transformers reads. */
function looksLikeConfigByHead(target: ScanTarget): boolean {
  if (firstNonSpace(target.head) !== 0x7b) return false;
  const text = target.head.toString('latin1');
  return CONFIG_MARKERS.some((marker) => text.includes(marker)) || CONFIG_NAMES.includes(fileName(target));
}

/**
 * Could be a config whose markers the head does not show: a JSON object larger than the head (save_pretrained
 * sorts keys, so a big `added_tokens_decoder` comes before `auto_map` and `chat_template`), or one whose keys
 * are written with escapes (`"auto\u005fmap"`). Read whole and judged by its parsed keys.
 */
function mayBeConfig(target: ScanTarget): boolean {
  if (firstNonSpace(target.head) !== 0x7b) return false;
  return (target.source.size > target.head.length && target.source.size <= MAX_CONFIG_BYTES) || target.head.includes('\\u');
}

function looksLikeConfig(target: ScanTarget): boolean {
  return looksLikeConfigByHead(target) || mayBeConfig(target);
}

const DATASET_BUILDER = /\b(?:datasets\.)?(GeneratorBasedBuilder|ArrowBasedBuilder|BeamBasedBuilder|DatasetBuilder)\b/;

const GENERATE_METHOD = /\bdef _generate_(?:examples|tables)\b/;

/**
 * `import datasets`, a builder class and a `_generate_*` method in the head — or, in a file longer than the
 * head (long `_DESCRIPTION`/`_URLS` constants come first), the import in the head and the rest checked on
 * the whole file by the scan.
 */
function looksLikeDatasetScript(target: ScanTarget): boolean {
  if (target.head.includes(0)) return false;
  const text = target.head.toString('latin1');
  if (!/\b(?:import datasets|from datasets\b)/.test(text)) return false;
  return (DATASET_BUILDER.test(text) && GENERATE_METHOD.test(text)) || target.source.size > target.head.length;
}

// ------------------------------------------------------------------------------------------------
// Python source: a light tokenizer that blanks strings and comments (keeping line numbers), then a
// table of calls that model code has no reason to make.

/** Returns the source with comments removed and string literal contents replaced by spaces. */
export function maskPython(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i] as string;
    if (ch === '#') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      const triple = source.startsWith(ch.repeat(3), i);
      const quote = triple ? ch.repeat(3) : ch;
      out += quote;
      i += quote.length;
      while (i < source.length && !source.startsWith(quote, i)) {
        if (source[i] === '\\') {
          out += '  ';
          i += 2;
          continue;
        }
        if (!triple && source[i] === '\n') break;
        out += source[i] === '\n' ? '\n' : ' ';
        i++;
      }
      if (source.startsWith(quote, i)) {
        out += quote;
        i += quote.length;
      }
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

const DANGEROUS_PYTHON: readonly { what: string; pattern: RegExp }[] = [
  { what: 'a shell command (os.system / os.popen)', pattern: /\bos\s*\.\s*(?:system|popen|exec[lv]p?e?|spawn[lv]p?e?|posix_spawn)\s*\(/ },
  { what: 'a subprocess', pattern: /\bsubprocess\s*\.\s*(?:Popen|run|call|check_call|check_output|getoutput|getstatusoutput)\b|\bfrom\s+subprocess\s+import\b/ },
  { what: 'dynamic code (exec / eval / compile)', pattern: /(?<![\w.])(?:exec|eval|compile)\s*\(/ },
  { what: 'a dynamic import (__import__ / importlib)', pattern: /(?<![\w.])__import__\s*\(|\bimportlib\s*\.\s*import_module\s*\(/ },
  { what: 'a raw socket', pattern: /\bsocket\s*\.\s*(?:socket|create_connection)\s*\(|\bimport\s+socket\b/ },
  { what: 'an HTTP request', pattern: /\burllib\d?\s*\.\s*request\b|\burlopen\s*\(|\burlretrieve\s*\(|\brequests\s*\.\s*(?:get|post|put|request|Session)\s*\(|\bhttp\.client\b|\bhttpx\s*\.\s*(?:get|post|Client)\b/ },
  { what: 'deserialisation of code or objects (pickle / marshal / dill)', pattern: /\b(?:pickle|cPickle|dill|marshal)\s*\.\s*loads?\s*\(/ },
  { what: 'native code (ctypes / cffi)', pattern: /\bimport\s+ctypes\b|\bctypes\s*\.\s*(?:CDLL|cdll|windll)\b|\bcffi\b/ },
  { what: 'a pseudo-terminal (pty)', pattern: /\bpty\s*\.\s*spawn\s*\(/ },
  { what: 'decoding of an embedded payload (base64 / codecs)', pattern: /\b(?:base64\s*\.\s*(?:b64decode|b32decode|b85decode|a85decode)|codecs\s*\.\s*decode)\s*\(/ },
  { what: 'deletion of files (shutil.rmtree / os.remove)', pattern: /\bshutil\s*\.\s*rmtree\s*\(|\bos\s*\.\s*(?:remove|unlink|rmdir)\s*\(/ },
  { what: 'a change to the environment or permissions', pattern: /\bos\s*\.\s*(?:putenv|chmod|chown|setuid)\s*\(|\bos\.environ\s*\[[^\]]*\]\s*=/ },
];

interface PythonHit {
  what: string;
  line: number;
  snippet: string;
}

export function findDangerousPython(source: string): PythonHit[] {
  const masked = maskPython(source);
  const maskedLines = masked.split('\n');
  const lines = source.split('\n');
  const hits: PythonHit[] = [];
  const seen = new Set<string>();
  for (let n = 0; n < maskedLines.length && hits.length < MAX_REPORTS_PER_FILE; n++) {
    const line = maskedLines[n] as string;
    for (const { what, pattern } of DANGEROUS_PYTHON) {
      if (!pattern.test(line) || seen.has(`${what}:${n}`)) continue;
      seen.add(`${what}:${n}`);
      hits.push({ what, line: n + 1, snippet: (lines[n] ?? '').trim().slice(0, 160) });
    }
  }
  return hits;
}

/** Modules a Python file imports relatively (`from .x import y`, `from . import x`), as file stems. */
function relativeImports(source: string): string[] {
  const masked = maskPython(source);
  const out = new Set<string>();
  for (const match of masked.matchAll(/^\s*from\s+(\.+)([\w.]*)\s+import\s+([^\n]+)/gm)) {
    const dots = match[1] as string;
    if (dots.length !== 1) continue;
    const module = match[2] as string;
    if (module !== '') out.add(module.split('.')[0] as string);
    else for (const name of (match[3] as string).replace(/[()]/g, '').split(',')) out.add(name.trim().split(/\s+/)[0] as string);
  }
  return [...out].filter((m) => /^\w+$/.test(m));
}

// ------------------------------------------------------------------------------------------------
// auto_map

interface AutoMapEntry {
  key: string;
  reference: string;
}

function collectAutoMap(autoMap: unknown, report: Report<'badAutoMap'>): AutoMapEntry[] {
  const entries: AutoMapEntry[] = [];
  if (autoMap === null || typeof autoMap !== 'object' || Array.isArray(autoMap)) {
    report({ message: 'badAutoMap', data: { entry: 'auto_map', found: describeJsonType(autoMap) }, key: 'auto_map' });
    return entries;
  }
  for (const [key, value] of Object.entries(autoMap as Record<string, unknown>)) {
    // AutoTokenizer maps to [slow, fast]; either may be null.
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      if (item === null) continue;
      if (typeof item !== 'string' || !item.includes('.')) {
        report({ message: 'badAutoMap', data: { entry: clip(key), found: describeJsonType(item) }, key: `auto_map:${key}` });
        continue;
      }
      entries.push({ key, reference: item });
    }
  }
  return entries;
}

function parseReference(reference: string): { repo?: string; module: string } {
  const split = reference.indexOf('--');
  const repo = split >= 0 ? reference.slice(0, split) : undefined;
  const rest = split >= 0 ? reference.slice(split + 2) : reference;
  const module = rest.slice(0, rest.lastIndexOf('.'));
  return repo === undefined ? { module } : { repo, module };
}

function clip(text: string, max = 120): string {
  let out = '';
  for (const ch of text.slice(0, max + 1)) out += ch < ' ' ? '?' : ch;
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** A target for a sibling file, so that findings point at that file (and its lines). */
function siblingTarget(target: ScanTarget, fileName: string): ScanTarget {
  return { ...target, path: posix.join(posix.dirname(target.path.split('\\').join('/')), fileName) };
}

/** `custom_pipelines: {task: {impl: "module.Class"}}`: pipeline(..., trust_remote_code=True) imports `impl`. */
function collectCustomPipelines(pipelines: unknown): AutoMapEntry[] {
  if (pipelines === null || typeof pipelines !== 'object' || Array.isArray(pipelines)) return [];
  const entries: AutoMapEntry[] = [];
  for (const [task, spec] of Object.entries(pipelines as Record<string, unknown>)) {
    const impl = spec !== null && typeof spec === 'object' ? (spec as Record<string, unknown>)['impl'] : undefined;
    if (typeof impl === 'string' && impl.includes('.')) entries.push({ key: `custom_pipelines.${task}`, reference: impl });
  }
  return entries;
}

async function checkRemoteCode(config: Record<string, unknown>, target: ScanTarget, context: ScanContext): Promise<void> {
  if (config['auto_map'] === undefined && config['custom_pipelines'] === undefined) return;
  const invalid = context.reporter(hfConfigInvalidRule, target);
  const entries = [...(config['auto_map'] === undefined ? [] : collectAutoMap(config['auto_map'], invalid)), ...collectCustomPipelines(config['custom_pipelines'])];
  if (entries.length === 0) return;
  const report = context.reporter(hfRemoteCodeRule, target);
  const file = target.member === undefined ? basename(target.path) : target.member.split('!').pop() ?? target.path;
  const local = new Map<string, string[]>();
  for (const entry of entries) {
    const { repo, module } = parseReference(entry.reference);
    if (repo !== undefined) {
      report({ message: 'otherRepo', data: { file, entry: clip(`${entry.key}: ${entry.reference}`), module: clip(module), repo: clip(repo) }, key: `repo:${entry.reference}` });
      continue;
    }
    const classes = local.get(module) ?? [];
    classes.push(entry.key);
    local.set(module, classes);
  }
  if (local.size === 0) return;
  const classes = [...new Set([...local.values()].flat())].join(', ');
  const modules = [...local.keys()];
  if (target.absPath === undefined) {
    report({ message: 'notChecked', data: { file, classes: clip(classes, 200), files: clip(modules.map((m) => `${m.split('.').join('/')}.py`).join(', '), 300) }, key: 'auto_map' });
    return;
  }
  const dir = dirname(target.absPath);
  const { ran, missing, unchecked } = await followCode(dir, modules, target, context, file);
  const notes = [
    missing.length > 0 ? ` (not in the snapshot, so transformers fails or the file is supplied later: ${missing.join(', ')})` : '',
    unchecked.length > 0 ? ` (not fully checked for dangerous calls: ${unchecked.join(', ')})` : '',
  ].join('');
  report({
    message: 'localCode',
    data: { file, classes: clip(classes, 200), files: clip([...ran, ...missing].join(', '), 400), notes: clip(notes, 300) },
    key: 'auto_map',
    properties: { files: [...ran, ...missing], missing, ...(unchecked.length > 0 ? { unchecked } : {}) },
  });
}

/**
 * Follows the modules an auto_map names and their relative imports; reports dangerous calls in each.
 * `unchecked` names what the bounds (file count, file size) or a failed read kept from being checked.
 */
async function followCode(dir: string, modules: readonly string[], target: ScanTarget, context: ScanContext, config: string): Promise<{ ran: string[]; missing: string[]; unchecked: string[] }> {
  const queue = [...modules];
  const visited = new Set<string>();
  const ran: string[] = [];
  const missing: string[] = [];
  const unchecked: string[] = [];
  while (queue.length > 0) {
    const module = queue.shift() as string;
    if (visited.has(module) || !/^[\w.]+$/.test(module)) continue;
    if (visited.size >= MAX_CODE_FILES) {
      unchecked.push(`imports past the first ${MAX_CODE_FILES} files`);
      break;
    }
    visited.add(module);
    const rel = `${module.split('.').join('/')}.py`;
    const path = join(dir, rel);
    if (relative(dir, path).startsWith('..') || !(await exists(path))) {
      missing.push(rel);
      continue;
    }
    ran.push(rel);
    let source: string;
    try {
      const file = await FileSource.open(path);
      try {
        if (file.size > MAX_CODE_BYTES) unchecked.push(`${rel} past its first ${MAX_CODE_BYTES} bytes`);
        source = (await file.read(0, MAX_CODE_BYTES)).toString('utf8');
      } finally {
        await file.close();
      }
    } catch {
      unchecked.push(`${rel} (could not be read)`);
      continue;
    }
    const report = context.reporter(hfRemoteCodeDangerousRule, siblingTarget(target, rel));
    for (const hit of findDangerousPython(source)) {
      report({ message: 'call', line: hit.line, data: { what: hit.what, config, snippet: hit.snippet }, evidence: hit.snippet, key: `${hit.what}:${hit.snippet}` });
    }
    for (const imported of relativeImports(source)) {
      const base = module.includes('.') ? `${module.slice(0, module.lastIndexOf('.'))}.` : '';
      queue.push(`${base}${imported}`);
    }
  }
  return { ran, missing, unchecked };
}

// ------------------------------------------------------------------------------------------------
// chat templates

/** `partial`: only the start of the template was read (a file past MAX_TEMPLATE_FILE_BYTES). */
function reportTemplate(text: string, where: string, target: ScanTarget, context: ScanContext, withLines: boolean, partial = false): void {
  const injection = context.reporter(hfChatTemplateInjectionRule, target);
  const unreadable = context.reporter(hfChatTemplateUnreadableRule, target);
  const result = scanJinjaTemplate(text);
  for (const issue of result.issues) {
    injection({
      message: 'construct',
      severity: issue.severity,
      ...(withLines ? { line: issue.line, column: issue.column } : {}),
      data: { where, line: issue.line, column: issue.column, construct: issue.construct, detail: issue.detail },
      evidence: issue.construct,
      key: `${where}:${issue.kind}:${issue.line}:${issue.column}`,
      properties: { template: where, templateLine: issue.line, templateColumn: issue.column, construct: issue.kind },
    });
  }
  // Real chat templates are a few KB; one that reaches the scan limits is padding around something (high).
  if (partial) unreadable({ message: 'truncated', severity: 'high', data: { where }, key: where });
  else if (result.error) unreadable({ message: 'unterminated', data: { where, reason: result.error.message, line: result.error.line, column: result.error.column }, key: where });
  else if (result.truncated) unreadable({ message: 'truncated', severity: 'high', data: { where }, key: where });
}

function checkEmbeddedTemplates(config: Record<string, unknown>, target: ScanTarget, context: ScanContext): void {
  const value = config['chat_template'];
  if (value === undefined || value === null) return;
  const unreadable = context.reporter(hfChatTemplateUnreadableRule, target);
  if (typeof value === 'string') {
    reportTemplate(value, 'chat_template', target, context, false);
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const record = item !== null && typeof item === 'object' ? (item as Record<string, unknown>) : {};
      const name = typeof record['name'] === 'string' ? record['name'] : String(i);
      const where = `chat_template[${clip(name, 60)}]`;
      if (typeof record['template'] === 'string') reportTemplate(record['template'], where, target, context, false);
      else unreadable({ message: 'notString', data: { where, found: describeJsonType(record['template']) }, key: where });
    }
    return;
  }
  unreadable({ message: 'notString', data: { where: 'chat_template', found: describeJsonType(value) }, key: 'chat_template' });
}

/** `chat_template.jinja` and `chat_templates/*.jinja` beside the config that owns them. */
async function checkTemplateFiles(target: ScanTarget, context: ScanContext): Promise<void> {
  if (target.absPath === undefined) return;
  const dir = dirname(target.absPath);
  let owner: string | undefined;
  for (const name of CONFIG_NAMES) {
    if (await exists(join(dir, name))) {
      owner = name;
      break;
    }
  }
  if (owner !== basename(target.absPath)) return;
  const files: string[] = [];
  // Anything by that name counts (a directory, a dangling link): the loader would try it, so an entry
  // we cannot read is reported, not skipped.
  if (await lstat(join(dir, 'chat_template.jinja')).then(() => true, () => false)) files.push('chat_template.jinja');
  try {
    for (const name of (await readdir(join(dir, 'chat_templates'))).sort()) if (name.endsWith('.jinja') && files.length < MAX_TEMPLATE_FILES) files.push(`chat_templates/${name}`);
  } catch {
    // no chat_templates directory
  }
  for (const rel of files) {
    let text: string;
    let partial: boolean;
    try {
      const file = await FileSource.open(join(dir, rel));
      try {
        partial = file.size > MAX_TEMPLATE_FILE_BYTES;
        text = (await file.read(0, MAX_TEMPLATE_FILE_BYTES)).toString('utf8');
      } finally {
        await file.close();
      }
    } catch (error) {
      // Listed a moment ago but unreadable now (permissions, a race): never a silent pass.
      const reason = (error as NodeJS.ErrnoException).code ?? 'read error';
      context.reporter(hfChatTemplateUnreadableRule, siblingTarget(target, rel))({ message: 'unreadable', severity: 'high', data: { where: rel, reason }, key: rel });
      continue;
    }
    reportTemplate(text, rel, siblingTarget(target, rel), context, true, partial);
  }
}

// ------------------------------------------------------------------------------------------------

async function scanConfig(target: ScanTarget, context: ScanContext): Promise<void> {
  // Files recognised only by size or escapes are reported only when they turn out to be configs.
  const certain = looksLikeConfigByHead(target);
  const invalid = certain ? context.reporter(hfConfigInvalidRule, target) : (): void => undefined;
  const bytes = await readAll(target.source, Math.min(MAX_CONFIG_BYTES, context.limits.maxMemberBytes));
  if (bytes === undefined) {
    invalid({ message: 'tooLarge', data: { size: target.source.size, limit: MAX_CONFIG_BYTES } });
    return;
  }
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let config: unknown;
  try {
    if (scanJsonStructure(text, MAX_JSON_DEPTH).depth > MAX_JSON_DEPTH) throw new Error(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    config = JSON.parse(text);
  } catch (error) {
    invalid({ message: 'notJson', data: { reason: (error as Error).message.slice(0, 120) } });
    return;
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return;
  const record = config as Record<string, unknown>;
  if (!certain && !CONFIG_KEYS.some((key) => key in record)) return;
  await checkRemoteCode(record, target, context);
  checkEmbeddedTemplates(record, target, context);
  await checkTemplateFiles(target, context);
}

async function scanDatasetScript(target: ScanTarget, context: ScanContext): Promise<void> {
  const source = (await target.source.read(0, MAX_CODE_BYTES)).toString('utf8');
  if (!GENERATE_METHOD.test(source) || !DATASET_BUILDER.test(source)) return;
  const builder = DATASET_BUILDER.exec(source)?.[1] ?? 'GeneratorBasedBuilder';
  const report = context.reporter(hfDatasetScriptRule, target);
  const hits = findDangerousPython(source);
  for (const hit of hits) {
    report({ message: 'scriptDangerous', severity: 'high', line: hit.line, data: { builder, what: hit.what, line: hit.line, snippet: hit.snippet }, evidence: hit.snippet, key: `${hit.what}:${hit.snippet}` });
  }
  if (hits.length === 0) report({ message: 'script', data: { builder }, key: 'script' });
}

export const hfRepoFormat: ModelFormat = {
  name: 'hf-repo',
  rules: RULES,
  detect: (target) => looksLikeConfig(target) || looksLikeDatasetScript(target),
  async scan(target, context) {
    if (looksLikeConfig(target)) await scanConfig(target, context);
    else await scanDatasetScript(target, context);
  },
};
