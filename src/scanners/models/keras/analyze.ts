import type { Severity } from '../../../core/severity.js';
import { describeMarshalledCode, findDangerousNames } from '../python-marshal/index.js';
import { classifyTfFunction } from './tf-ops.js';
import { isRecord } from '../../../core/json.js';

/**
 * A walker for Keras model configs (Keras 3 `.keras` `config.json`, `model.to_json()`, the
 * `model_config` attribute of legacy HDF5 files, Keras metadata inside SavedModels). It reads the
 * JSON as data and reports what loading it would do beyond building layers: run marshalled Python
 * (Lambda layers), import modules outside Keras, call Keras or TF functions that touch files, or need
 * user code (custom objects).
 */

export type KerasIssueKind = 'lambda' | 'unsafe-module' | 'dangerous-function' | 'tf-op-lambda' | 'custom-object' | 'malformed';

export interface KerasIssue {
  readonly kind: KerasIssueKind;
  readonly severity: Severity;
  /** JSON path of the object in the config: `config.layers[2].config.function`. */
  readonly path: string;
  /** Name of the enclosing layer, when there is one. */
  readonly layer?: string;
  /** What is referenced: `os.system`, `keras.utils.get_file`, `Lambda`, … */
  readonly subject: string;
  /** Why it matters, one short sentence. */
  readonly reason: string;
  /** For Lambda bytecode: what the decoded code names (globals and attributes). */
  readonly names?: readonly string[];
  /** For Lambda bytecode: its string constants. */
  readonly consts?: readonly string[];
  /** For Lambda bytecode: the names that reach the OS, interpreter or network. */
  readonly dangerous?: readonly string[];
}

export interface KerasAnalyzeOptions {
  /** Deepest JSON nesting walked. */
  maxDepth?: number;
  /** Most JSON values visited. */
  maxNodes?: number;
}

const DEFAULT_MAX_DEPTH = 512;
const DEFAULT_MAX_NODES = 2_000_000;

/** Module roots that are Keras itself (or its official add-ons). */
const KERAS_ROOTS = ['keras', 'tf_keras', 'keras_hub', 'keras_nlp', 'keras_cv', 'tensorflow.keras', 'tensorflow.python.keras', 'tf.keras'];

export function isKerasModule(module: string): boolean {
  return KERAS_ROOTS.some((root) => module === root || module.startsWith(`${root}.`));
}

/** Python modules that give a config direct reach to the OS, the interpreter or the network. */
const DANGEROUS_MODULE_ROOTS = new Set([
  'os', 'posix', 'nt', 'subprocess', 'sys', 'shutil', 'socket', 'importlib', 'pickle', 'cPickle', '_pickle', 'marshal', 'runpy', 'code',
  'codeop', 'ctypes', 'cffi', 'pty', 'multiprocessing', 'asyncio', 'webbrowser', 'urllib', 'urllib2', 'urllib3', 'http', 'httplib',
  'requests', 'ftplib', 'smtplib', 'telnetlib', 'pathlib', 'io', '_io', 'commands', 'platform', 'pdb', 'timeit', 'operator', 'functools',
  'types', 'inspect', 'gc', 'tempfile', 'glob', 'dill', 'joblib', 'cloudpickle', 'torch', 'numpy', 'pandas', 'signal', 'threading', '_thread',
  'site', 'zipimport', 'pkgutil', 'distutils', 'setuptools', 'pip', 'imp',
]);

/**
 * Python standard-library top-level modules (`sys.stdlib_module_names`, CPython 3.12, plus the
 * private ones that reach the OS). A Keras config has no business importing any of them: those not
 * in DANGEROUS_MODULE_ROOTS still offer file, archive, process and debugger entry points
 * (`cProfile.run`, `pydoc.pipepager`, `tarfile.open`, `shelve.open`, `logging.config.listen`).
 */
const STDLIB_MODULE_ROOTS: ReadonlySet<string> = new Set([
  '_ctypes', '_frozen_importlib', '_frozen_importlib_external', '_imp', '_io', '_osx_support', '_pickle', '_posixsubprocess',
  '_socket', '_thread', '_winapi', 'abc', 'aifc', 'antigravity', 'argparse', 'array', 'ast', 'asynchat', 'asyncio', 'asyncore',
  'atexit', 'audioop', 'base64', 'bdb', 'binascii', 'bisect', 'builtins', 'bz2', 'cProfile', 'calendar', 'cgi', 'cgitb', 'chunk',
  'cmath', 'cmd', 'code', 'codecs', 'codeop', 'collections', 'colorsys', 'compileall', 'concurrent', 'configparser',
  'contextlib', 'contextvars', 'copy', 'copyreg', 'crypt', 'csv', 'ctypes', 'curses', 'dataclasses', 'datetime', 'dbm',
  'decimal', 'difflib', 'dis', 'distutils', 'doctest', 'email', 'encodings', 'ensurepip', 'enum', 'errno', 'faulthandler',
  'fcntl', 'filecmp', 'fileinput', 'fnmatch', 'fractions', 'ftplib', 'functools', 'gc', 'genericpath', 'getopt', 'getpass',
  'gettext', 'glob', 'graphlib', 'grp', 'gzip', 'hashlib', 'heapq', 'hmac', 'html', 'http', 'idlelib', 'imaplib', 'imghdr',
  'imp', 'importlib', 'inspect', 'io', 'ipaddress', 'itertools', 'json', 'keyword', 'lib2to3', 'linecache', 'locale', 'logging',
  'lzma', 'mailbox', 'mailcap', 'marshal', 'math', 'mimetypes', 'mmap', 'modulefinder', 'msilib', 'msvcrt', 'multiprocessing',
  'netrc', 'nis', 'nntplib', 'nt', 'ntpath', 'nturl2path', 'numbers', 'opcode', 'operator', 'optparse', 'os', 'ossaudiodev',
  'pathlib', 'pdb', 'pickle', 'pickletools', 'pipes', 'pkgutil', 'platform', 'plistlib', 'poplib', 'posix', 'posixpath',
  'pprint', 'profile', 'pstats', 'pty', 'pwd', 'py_compile', 'pyclbr', 'pydoc', 'pydoc_data', 'pyexpat', 'queue', 'quopri',
  'random', 're', 'readline', 'reprlib', 'resource', 'rlcompleter', 'runpy', 'sched', 'secrets', 'select', 'selectors', 'shelve',
  'shlex', 'shutil', 'signal', 'site', 'smtpd', 'smtplib', 'sndhdr', 'socket', 'socketserver', 'spwd', 'sqlite3', 'sre_compile',
  'sre_constants', 'sre_parse', 'ssl', 'stat', 'statistics', 'string', 'stringprep', 'struct', 'subprocess', 'sunau', 'symtable',
  'sys', 'sysconfig', 'syslog', 'tabnanny', 'tarfile', 'telnetlib', 'tempfile', 'termios', 'textwrap', 'this', 'threading',
  'time', 'timeit', 'tkinter', 'token', 'tokenize', 'tomllib', 'trace', 'traceback', 'tracemalloc', 'tty', 'turtle',
  'turtledemo', 'types', 'typing', 'unicodedata', 'unittest', 'urllib', 'uu', 'uuid', 'venv', 'warnings', 'wave', 'weakref',
  'webbrowser', 'winreg', 'winsound', 'wsgiref', 'xdrlib', 'xml', 'xmlrpc', 'zipapp', 'zipfile', 'zipimport', 'zlib', 'zoneinfo',
]);

/** Builtins a config can name through `module: "builtins"` that do more than maths. */
const DANGEROUS_BUILTINS = new Set([
  'exec', 'eval', 'compile', 'open', '__import__', 'getattr', 'setattr', 'delattr', 'globals', 'locals', 'vars', 'input', 'breakpoint',
  'help', 'exit', 'quit', 'memoryview', 'print', 'type', 'object', 'super', 'classmethod', 'staticmethod', 'property', 'dir',
]);

/**
 * Keras-namespace functions and classes that touch files, download, or switch safety off. `files`
 * entries have generic names (`copy`, `exists`) and count only in Keras' file helpers (`file_utils`,
 * `io_utils`, `gfile`), not in `keras.ops` where `copy` is a tensor op.
 */
const KERAS_DANGEROUS: ReadonlyMap<string, { severity: Severity; reason: string; files?: true }> = new Map([
  ['enable_unsafe_deserialization', { severity: 'critical', reason: 'switches Keras safe mode off for the rest of the load (CVE-2025-9906)' }],
  ['func_load', { severity: 'critical', reason: 'rebuilds a Python function from marshalled bytecode' }],
  ['get_file', { severity: 'critical', reason: 'downloads a URL and writes it to a path chosen by the config (CVE-2025-8747)' }],
  ['extract_archive', { severity: 'critical', reason: 'extracts an archive to a path chosen by the config' }],
  ['save_img', { severity: 'critical', reason: 'writes a file at a path chosen by the config' }],
  ['plot_model', { severity: 'critical', reason: 'writes a file at a path chosen by the config' }],
  ['load_model', { severity: 'high', reason: 'loads another model (and whatever it carries) from a path or URL chosen by the config' }],
  ['TFSMLayer', { severity: 'high', reason: 'loads a TensorFlow SavedModel, with all its graph ops, from a path chosen by the config' }],
  ['load_img', { severity: 'high', reason: 'reads a file at a path chosen by the config' }],
  ['image_dataset_from_directory', { severity: 'high', reason: 'reads files under a directory chosen by the config' }],
  ['text_dataset_from_directory', { severity: 'high', reason: 'reads files under a directory chosen by the config' }],
  ['audio_dataset_from_directory', { severity: 'high', reason: 'reads files under a directory chosen by the config' }],
  ['rmtree', { severity: 'critical', reason: 'deletes a directory tree', files: true }],
  ['remove', { severity: 'critical', reason: 'deletes a file', files: true }],
  ['rename', { severity: 'critical', reason: 'moves a file', files: true }],
  ['copy', { severity: 'critical', reason: 'copies a file to a path chosen by the config', files: true }],
  ['makedirs', { severity: 'critical', reason: 'creates directories', files: true }],
  ['listdir', { severity: 'high', reason: 'lists a directory', files: true }],
  ['exists', { severity: 'high', reason: 'probes the file system', files: true }],
  ['hash_file', { severity: 'high', reason: 'reads a file', files: true }],
  ['File', { severity: 'high', reason: 'opens a file', files: true }],
]);

/** Keras modules for saving, loading, legacy formats, export and downloads: no function there belongs in a config. */
const KERAS_INTERNAL_HELPERS = /(^|\.)(saving|legacy|export|datasets|applications|callbacks|dtensor|distribution)(\.|$)/;

const FILE_HELPER_MODULE = /(^|\.)(file_utils|io_utils|gfile)(\.|$)/;

function kerasDanger(module: string | undefined, name: string): { severity: Severity; reason: string } | undefined {
  const danger = KERAS_DANGEROUS.get(name);
  if (danger === undefined) return undefined;
  if (danger.files === true && (module === undefined || !FILE_HELPER_MODULE.test(module))) return undefined;
  return danger;
}

/** Keras lookup layers whose `vocabulary` (or `idf_weights`) may be a file path read at load. */
const VOCABULARY_LAYERS = new Set(['StringLookup', 'IntegerLookup', 'TextVectorization']);

/** Keras' own serialization markers (`__tensor__`, …): data, not code. */
const SPECIAL_CLASS_NAMES = new Set(['__keras_tensor__', '__tensor__', '__numpy__', '__bytes__', '__ellipsis__', '__slice__', '__typespec__']);

const MODULE_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

interface Frame {
  value: unknown;
  path: string;
  layer: string | undefined;
  depth: number;
}

/**
 * Analyzes a parsed Keras model config (or its JSON text). Never throws: input it cannot read,
 * or that exceeds the bounds, becomes a `malformed` issue.
 */
export function analyzeKerasConfig(config: unknown, options: KerasAnalyzeOptions = {}): KerasIssue[] {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxNodes = options.maxNodes ?? DEFAULT_MAX_NODES;
  const issues: KerasIssue[] = [];
  let root = config;
  if (typeof config === 'string' || Buffer.isBuffer(config)) {
    try {
      root = JSON.parse(config.toString());
    } catch (error) {
      return [malformed('', `the model config is not valid JSON: ${(error as Error).message}`)];
    }
  }

  const stack: Frame[] = [{ value: root, path: '', layer: undefined, depth: 0 }];
  let visited = 0;
  let truncated: string | undefined;
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    visited += 1;
    if (visited > maxNodes) {
      truncated = `the config holds more than ${maxNodes} values; the rest was not analysed`;
      break;
    }
    if (frame.depth > maxDepth) {
      truncated = `the config nests deeper than ${maxDepth} levels at ${clipText(frame.path, 100) || '(root)'}; that part was not analysed`;
      continue;
    }
    const { value } = frame;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i -= 1) stack.push({ value: value[i], path: `${frame.path}[${i}]`, layer: frame.layer, depth: frame.depth + 1 });
      continue;
    }
    if (!isRecord(value)) continue;
    let layer = frame.layer;
    if (typeof value['class_name'] === 'string') {
      const inner = value['config'];
      if (isRecord(inner) && typeof inner['name'] === 'string') layer = inner['name'];
      inspectObject(value, frame.path, layer, issues);
    }
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i -= 1) {
      const key = keys[i] as string;
      stack.push({ value: value[key], path: joinPath(frame.path, key), layer, depth: frame.depth + 1 });
    }
  }
  if (truncated !== undefined) issues.push(malformed('', truncated));
  return dedupe(issues);
}

function inspectObject(obj: Record<string, unknown>, path: string, layer: string | undefined, issues: KerasIssue[]): void {
  const className = obj['class_name'] as string;
  const module = typeof obj['module'] === 'string' ? obj['module'] : undefined;
  const registered = typeof obj['registered_name'] === 'string' ? obj['registered_name'] : undefined;
  const inner = obj['config'];
  const at = (issue: Omit<KerasIssue, 'path' | 'layer'>): void => {
    issues.push(layer === undefined ? { ...issue, path } : { ...issue, path, layer });
  };

  if (className === '__lambda__') {
    at(lambdaIssue(lambdaCode(inner), 'a serialized Python lambda'));
    return;
  }
  if (className === '__typespec__') {
    const spec = typeof obj['spec_name'] === 'string' ? obj['spec_name'] : className;
    if (module !== undefined) checkModule(module, spec, 'class', registered, at);
    return;
  }
  if (SPECIAL_CLASS_NAMES.has(className)) return;

  if (className === 'function') {
    const name = typeof inner === 'string' ? inner : registered ?? '';
    if (module === undefined) {
      const danger = kerasDanger(undefined, name);
      if (danger) at({ kind: 'dangerous-function', severity: danger.severity, subject: name, reason: danger.reason });
      return;
    }
    checkModule(module, name, 'function', registered, at);
    return;
  }

  if (className === 'Lambda' && (module === undefined || isKerasModule(module))) inspectLambdaLayer(inner, at);
  if ((className === 'TFOpLambda' || className === 'SlicingOpLambda') && (module === undefined || isKerasModule(module))) {
    const fn = isRecord(inner) ? inner['function'] : undefined;
    if (typeof fn === 'string') {
      const info = classifyTfFunction(fn);
      if (info) at({ kind: 'tf-op-lambda', severity: info.severity, subject: `tf.${fn.replace(/^(tf|tensorflow)\./, '')}`, reason: info.reason });
      else if (className === 'SlicingOpLambda' && fn !== '__operators__.getitem') {
        at({ kind: 'tf-op-lambda', severity: 'medium', subject: `tf.${fn}`, reason: 'a slicing layer that calls something other than __getitem__' });
      }
    }
  }
  if (VOCABULARY_LAYERS.has(className) && isRecord(inner)) {
    for (const key of ['vocabulary', 'idf_weights']) {
      const file = inner[key];
      if (typeof file === 'string' && file !== '') {
        at({ kind: 'dangerous-function', severity: 'high', subject: `${className}.${key}`, reason: `reads the file "${clipText(file, 80)}" when the layer is built` });
      }
    }
  }

  if (module !== undefined) {
    checkModule(module, className, 'class', registered, at);
    return;
  }
  // Legacy configs (tf.keras, HDF5) carry no module: registered custom objects show as `Package>Name`.
  const custom = [className, registered].find((n) => n !== undefined && n.includes('>') && !KERAS_CUSTOM_PACKAGE_OPTIMIZER.test(n));
  if (custom !== undefined) at({ kind: 'custom-object', severity: 'medium', subject: custom, reason: 'a registered custom object: loading needs its code' });
  const danger = kerasDanger(undefined, className);
  if (danger && className === 'TFSMLayer') at({ kind: 'dangerous-function', severity: danger.severity, subject: className, reason: danger.reason });
}

/**
 * TF 2.11–2.15 register their own optimizers under the default "Custom" package, so HDF5 files saved by
 * tf.keras carry `Custom>Adam` in training_config: Keras code, not a custom object.
 */
const KERAS_CUSTOM_PACKAGE_OPTIMIZER = /^Custom>(?:Adam|AdamW|SGD|RMSprop|Adagrad|Adadelta|Adamax|Nadam|Ftrl|Lion|Adafactor)$/;

function checkModule(
  module: string,
  name: string,
  kind: 'class' | 'function',
  registered: string | undefined,
  at: (issue: Omit<KerasIssue, 'path' | 'layer'>) => void,
): void {
  const subject = `${module}.${name}`;
  if (!MODULE_PATH.test(module)) {
    at({ kind: 'unsafe-module', severity: 'high', subject: clipText(subject, 120), reason: 'the module is not a Python module path; Keras would hand it to importlib as is' });
    return;
  }
  if (isKerasModule(module)) {
    const danger = kerasDanger(module, name);
    if (danger) {
      at({ kind: 'dangerous-function', severity: danger.severity, subject, reason: danger.reason });
      return;
    }
    if (FILE_HELPER_MODULE.test(module) || module.endsWith('python_utils') || KERAS_INTERNAL_HELPERS.test(module)) {
      if (kind === 'function') at({ kind: 'dangerous-function', severity: 'high', subject, reason: 'a Keras internal helper for files, code or loading, called from a config' });
    }
    if (registered !== undefined && registered !== name && registered !== 'function' && !isKerasRegistration(registered, name)) {
      if (registered.includes('>')) at({ kind: 'custom-object', severity: 'medium', subject: `${subject} as ${registered}`, reason: 'registered_name names a custom object while module claims a Keras built-in' });
      else at({ kind: 'custom-object', severity: 'medium', subject: `${subject} as ${registered}`, reason: 'registered_name differs from the Keras name it claims' });
    }
    return;
  }
  const root = module.split('.')[0] as string;
  if (module === 'builtins' || module === '__builtin__') {
    if (DANGEROUS_BUILTINS.has(name)) at({ kind: 'unsafe-module', severity: 'critical', subject, reason: 'resolves a Python builtin that evaluates code, opens files or walks attributes' });
    return;
  }
  if (DANGEROUS_MODULE_ROOTS.has(root)) {
    at({ kind: 'unsafe-module', severity: 'critical', subject, reason: `imports ${root} and resolves ${name} from it while the model loads (CVE-2025-1550)` });
    return;
  }
  if (STDLIB_MODULE_ROOTS.has(root)) {
    at({ kind: 'unsafe-module', severity: 'high', subject, reason: `imports the standard-library module ${root} and resolves ${name} from it while the model loads (CVE-2025-1550)` });
    return;
  }
  if (root === 'tensorflow' || root === 'tf') {
    const info = classifyTfFunction(`${module.replace(/^(tensorflow|tf)\.?/, '')}.${name}`.replace(/^\./, '')) ?? classifyTfFunction(name);
    if (info) {
      at({ kind: 'unsafe-module', severity: info.severity, subject, reason: info.reason });
      return;
    }
  }
  if (/^(keras|tf_keras)/i.test(root)) {
    at({ kind: 'unsafe-module', severity: 'high', subject, reason: 'a module named like Keras that is not Keras' });
    return;
  }
  at({ kind: 'custom-object', severity: 'medium', subject, reason: `needs code from ${root}, which Keras imports while loading` });
}

/** `keras_hub>GemmaBackbone` for class `GemmaBackbone`: Keras' own packages register their classes this way. */
function isKerasRegistration(registered: string, name: string): boolean {
  const cut = registered.indexOf('>');
  return cut > 0 && registered.slice(cut + 1) === name && isKerasModule(registered.slice(0, cut));
}

type LambdaPart = Pick<KerasIssue, 'severity' | 'reason'> & Partial<Pick<KerasIssue, 'names' | 'consts' | 'dangerous'>>;

const SEVERITY_ORDER: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

/**
 * Every Lambda layer is reported, whatever form its function takes: marshalled bytecode (any of the
 * shapes Keras has written), Python source text, base64 of anything, a registered or named function,
 * a Keras 3 `__lambda__` object (reported where it sits), or a shape Custody does not recognise. One
 * `lambda` issue per layer carries the worst of its function, output_shape and mask; references to
 * modules outside Keras are checked as such too.
 */
function inspectLambdaLayer(inner: unknown, at: (issue: Omit<KerasIssue, 'path' | 'layer'>) => void): void {
  if (!isRecord(inner)) {
    at({ kind: 'lambda', severity: 'high', subject: 'Lambda', reason: 'a Lambda layer without a readable config' });
    return;
  }
  const parts: LambdaPart[] = [];
  let covered = false;
  for (const field of ['function', 'output_shape', 'mask'] as const) {
    const typeKey = field === 'function' ? 'function_type' : `${field}_type`;
    const moduleKey = field === 'function' ? 'module' : `${field}_module`;
    const value = inner[field];
    const type = inner[typeKey];
    const what = `the Lambda layer's ${field}`;
    if (value === undefined || value === null) continue;
    if (isRecord(value)) {
      const cls = value['class_name'];
      if (cls === '__lambda__') {
        // The walker reports the serialized lambda where it sits.
        if (field === 'function') covered = true;
        continue;
      }
      if (cls === 'function') {
        const module = typeof value['module'] === 'string' ? value['module'] : undefined;
        const name = typeof value['config'] === 'string' ? value['config'] : typeof value['registered_name'] === 'string' ? value['registered_name'] : '?';
        parts.push(functionReference(module, name, what));
        continue;
      }
      if (field === 'function' || type === 'lambda') parts.push(lambdaPart(lambdaCode(value), what));
      continue;
    }
    if (type === 'lambda') {
      parts.push(lambdaPart(lambdaCode(value), what));
    } else if (type === 'function' && typeof value === 'string') {
      const module = typeof inner[moduleKey] === 'string' ? (inner[moduleKey] as string) : undefined;
      if (module !== undefined && module !== '__main__') checkModule(module, value, 'function', undefined, at);
      parts.push(functionReference(module, value, what));
    } else if (field === 'function') {
      // No (or an unknown) function_type: bytecode, base64, source text or something else — all code.
      parts.push(lambdaPart(lambdaCode(value), what));
    }
  }
  if (inner['function'] === undefined || inner['function'] === null) {
    parts.push({ severity: 'high', reason: 'a Lambda layer whose function is missing: it cannot be checked' });
  }
  if (parts.length === 0) {
    if (!covered) at({ kind: 'lambda', severity: 'high', subject: 'Lambda', reason: 'a Lambda layer whose function could not be read' });
    return;
  }
  let worst = parts[0]!;
  for (const part of parts) if (SEVERITY_ORDER.indexOf(part.severity) > SEVERITY_ORDER.indexOf(worst.severity)) worst = part;
  const names = [...new Set(parts.flatMap((p) => p.names ?? []))];
  const consts = [...new Set(parts.flatMap((p) => p.consts ?? []))];
  const dangerous = [...new Set(parts.flatMap((p) => p.dangerous ?? []))];
  at({
    kind: 'lambda',
    severity: worst.severity,
    subject: 'Lambda',
    reason: parts.map((p) => p.reason).join('; '),
    ...(names.length > 0 ? { names: names.slice(0, 50) } : {}),
    ...(consts.length > 0 ? { consts: consts.slice(0, 20) } : {}),
    ...(dangerous.length > 0 || parts.some((p) => p.dangerous !== undefined) ? { dangerous } : {}),
  });
}

/** A Lambda function given by name: Keras' own functions run no code of the model's; others need the loader's code. */
function functionReference(module: string | undefined, name: string, what: string): LambdaPart {
  const subject = `${module ?? '?'}.${name}`;
  if (module !== undefined && isKerasModule(module)) return { severity: 'low', reason: `${what} is the Keras function ${clipText(subject, 100)}` };
  if (module === undefined || module === '__main__') return { severity: 'medium', reason: `${what} is ${clipText(subject, 100)}, a function of the loading program` };
  return { severity: 'medium', reason: `${what} is ${clipText(subject, 100)}, code outside Keras that the loader imports` };
}

/** The base64 marshal text of a serialized lambda, in any of the shapes Keras has used. */
function lambdaCode(value: unknown): unknown {
  if (isRecord(value)) {
    if (typeof value['code'] === 'string') return value['code'];
    if (value['value'] !== undefined) return lambdaCode(value['value']);
    return undefined;
  }
  if (Array.isArray(value)) return value[0];
  return value;
}

function lambdaIssue(code: unknown, what: string): Omit<KerasIssue, 'path' | 'layer'> {
  return { kind: 'lambda', subject: 'Lambda', ...lambdaPart(code, what) };
}

const IDENTIFIER_TEXT = /[A-Za-z_][A-Za-z0-9_]*/g;
const STRING_LITERAL = /'([^'\\\n]{1,200})'|"([^"\\\n]{1,200})"/g;

/** What Python source text names (identifiers) and quotes (string literals), read as text only. */
function describeSource(text: string): { names: string[]; consts: string[] } {
  const names = [...new Set(text.match(IDENTIFIER_TEXT) ?? [])];
  const consts: string[] = [];
  for (const m of text.matchAll(STRING_LITERAL)) consts.push(m[1] ?? m[2] ?? '');
  return { names, consts };
}

function sourcePart(text: string, what: string, via: string): LambdaPart {
  const { names, consts } = describeSource(text);
  const dangerous = findDangerousNames({ names });
  return {
    severity: dangerous.length > 0 ? 'critical' : 'high',
    reason: `${what} is Python source text${via} (${clipText(JSON.stringify(text), 80)}) that a loader evaluating it would run`,
    names: names.slice(0, 50),
    consts: consts.slice(0, 20),
    dangerous,
  };
}

function lambdaPart(code: unknown, what: string): LambdaPart {
  if (typeof code !== 'string' || code.trim() === '') {
    return { severity: 'high', reason: `${what} carries Python code in a form that could not be read` };
  }
  if (!looksBase64(code)) return sourcePart(code, what, '');
  const bytes = Buffer.from(code.replace(/\\n/g, '\n'), 'base64');
  const described = describeMarshalledCode(bytes);
  if (described.error !== undefined && described.names.length === 0 && isPrintableText(bytes)) {
    return sourcePart(bytes.toString('utf8'), what, ' in base64');
  }
  const dangerous = findDangerousNames(described);
  const severity: Severity = dangerous.length > 0 ? 'critical' : 'high';
  const reason = described.error !== undefined && described.names.length === 0
    ? `${what} carries marshalled Python bytecode that runs when the model is used (undecodable: ${clipText(described.error, 80)})`
    : `${what} carries marshalled Python bytecode that runs when the model is used`;
  return { severity, reason, names: described.names.slice(0, 50), consts: described.consts.slice(0, 20), dangerous };
}

function isPrintableText(bytes: Buffer): boolean {
  if (bytes.length < 4) return false;
  const text = bytes.toString('utf8');
  if (text.includes('\ufffd')) return false;
  let printable = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (c >= 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) printable += 1;
  }
  return printable === [...text].length;
}

function looksBase64(text: string): boolean {
  return text.length >= 16 && /^[A-Za-z0-9+/=\s\\n]+$/.test(text);
}

function malformed(path: string, reason: string): KerasIssue {
  return { kind: 'malformed', severity: 'high', path, subject: 'config', reason };
}

function dedupe(issues: KerasIssue[]): KerasIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.kind}\0${issue.path}\0${issue.subject}\0${issue.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function joinPath(base: string, key: string): string {
  const part = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
  return base === '' ? part : `${base}.${part}`;
}

function clipText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
