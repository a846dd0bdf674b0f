import { createRequire } from 'node:module';
import { Language, Parser, type Node } from 'web-tree-sitter';

/**
 * Python source read with tree-sitter's Python grammar (web-tree-sitter, WebAssembly: nothing native,
 * nothing executed). The analysis resolves what each call refers to — `import torch as t` then `t.load`
 * is `torch.load`; `from torch import load` then `load` is too; `demo = gr.Blocks()` then `demo.launch`
 * is `gradio.Blocks().launch` — and what its keyword arguments are when they are literals or module
 * constants. Rules read only these facts.
 */

export type Value =
  | { kind: 'bool'; value: boolean; text: string }
  | { kind: 'none'; text: string }
  | { kind: 'string'; value: string; text: string }
  | { kind: 'number'; value: number; text: string }
  /** A name or attribute, resolved through imports (`yaml.SafeLoader`, `os.environ`). */
  | { kind: 'name'; qualified: string; text: string }
  | { kind: 'other'; text: string };

export interface Call {
  /** Resolved callee: `torch.load`, `transformers.AutoModel.from_pretrained`, `gradio.Blocks().launch`, `?.from_pretrained`. */
  name: string;
  /** The last component (`load`, `from_pretrained`, `launch`). */
  method: string;
  args: Value[];
  kwargs: ReadonlyMap<string, Value>;
  /** `**kwargs` spread: keyword values are not all known. */
  spread: boolean;
  /** The argument expressions contain a value derived from model or tokenizer output. */
  argsFromModelOutput: boolean;
  line: number;
  column: number;
}

export interface PythonFacts {
  calls: Call[];
  /** Module names imported anywhere (`torch`, `gradio`, `ray`). */
  imports: ReadonlySet<string>;
  /** Subscript assignments such as `run["params"] = os.environ` (Neptune). */
  itemAssignments: { target: string; key?: string; value: Value; line: number; column: number }[];
  /** The parse stopped at the deadline: facts cover only part of the file. */
  incomplete: boolean;
}

let parserPromise: Promise<Parser> | undefined;

/** One parser per thread; the grammar is loaded once (from the tree-sitter-python package). */
export function pythonParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    await Parser.init();
    const wasm = createRequire(import.meta.url).resolve('tree-sitter-python/tree-sitter-python.wasm');
    const language = await Language.load(wasm);
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return parserPromise;
}

/** Methods whose result is text a model or tokenizer produced. */
const MODEL_OUTPUT_METHODS = new Set(['generate', 'decode', 'batch_decode', 'predict', 'invoke', 'chat', 'complete', 'completion', 'create', 'generate_content', 'run', 'text_generation', 'chat_completion', 'apply_chat_template']);
const MODEL_FACTORIES = /(?:^|\.)(?:pipeline|AutoModel\w*|\w+ForCausalLM|\w+ForSeq2SeqLM|OpenAI|Anthropic|Llama|LLM|InferenceClient|ChatOpenAI|GenerativeModel)(?:\(\))?$/;

export async function analysePython(source: string, deadline: number): Promise<PythonFacts> {
  const parser = await pythonParser();
  let cancelled = false;
  const tree = parser.parse(source, null, {
    progressCallback: (() => {
      if (Date.now() > deadline) cancelled = true;
      return cancelled;
    }) as unknown as () => void,
  });
  if (!tree) return { calls: [], imports: new Set(), itemAssignments: [], incomplete: true };
  try {
    return new Analyser(tree.rootNode).run(cancelled);
  } finally {
    tree.delete();
  }
}

class Analyser {
  private readonly aliases = new Map<string, string>();
  private readonly constants = new Map<string, Value>();
  /** Variables bound to the result of a call: `demo = gr.Blocks()` → `gradio.Blocks()`. */
  private readonly instances = new Map<string, string>();
  private readonly tainted = new Set<string>();
  /** Variables bound to `open("<literal path>")`: `with open("m.pkl", "rb") as f` → f → `m.pkl`. */
  private readonly opened = new Map<string, string>();
  private readonly imports = new Set<string>();

  constructor(private readonly root: Node) {}

  /** Taint tracking (model output → eval/exec) costs a walk per expression: only files that eval or exec pay it. */
  private trackTaint = false;

  run(incomplete: boolean): PythonFacts {
    for (const node of this.root.descendantsOfType(['import_statement', 'import_from_statement', 'future_import_statement'])) {
      if (node) this.recordImport(node);
    }
    this.trackTaint = /\b(?:eval|exec|compile)\s*\(/.test(this.root.text);
    const assignments = this.root.descendantsOfType(['assignment', 'with_item']).filter((n): n is Node => n !== null);
    // Two passes: a binding may be used above where a later statement defines it (functions, loops).
    for (let pass = 0; pass < 2; pass++) for (const node of assignments) this.recordBinding(node);
    const calls: Call[] = [];
    for (const node of this.root.descendantsOfType('call')) if (node && this.isInteresting(node)) calls.push(this.describeCall(node));
    const itemAssignments: PythonFacts['itemAssignments'] = [];
    for (const node of assignments) {
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      if (node.type !== 'assignment' || left?.type !== 'subscript' || !right || !right.text.includes('environ')) continue;
      const target = this.qualify(left.childForFieldName('value'));
      const key = this.value(left.childForFieldName('subscript'));
      itemAssignments.push({ target, ...(key.kind === 'string' ? { key: key.value } : {}), value: this.value(right), line: node.startPosition.row + 1, column: node.startPosition.column + 1 });
    }
    return { calls, imports: this.imports, itemAssignments, incomplete };
  }

  /** Calls a rule can report: by the callee's last name, or any call passing trust_remote_code. */
  private isInteresting(node: Node): boolean {
    const fn = node.childForFieldName('function');
    const method = fn?.type === 'attribute' ? fn.childForFieldName('attribute')?.text : fn?.type === 'identifier' ? fn.text : undefined;
    if (method !== undefined && INTERESTING_METHODS.has(method)) return true;
    if (method !== undefined && this.aliases.has(method)) return true; // `from torch import load as tl`
    return node.childForFieldName('arguments')?.text.includes('trust_remote_code') === true;
  }

  private recordImport(node: Node): void {
    if (node.type === 'import_statement') {
      for (const child of node.namedChildren) {
        if (!child) continue;
        if (child.type === 'dotted_name') {
          const name = child.text;
          this.imports.add(name);
          const root = name.split('.')[0]!;
          this.aliases.set(root, root);
        } else if (child.type === 'aliased_import') {
          const name = child.childForFieldName('name')?.text;
          const alias = child.childForFieldName('alias')?.text;
          if (name && alias) {
            this.imports.add(name);
            this.aliases.set(alias, name);
          }
        }
      }
      return;
    }
    if (node.type !== 'import_from_statement') return;
    const module = node.childForFieldName('module_name')?.text;
    if (!module) return;
    this.imports.add(module);
    for (const child of node.childrenForFieldName('name')) {
      if (!child) continue;
      if (child.type === 'dotted_name') this.aliases.set(child.text, `${module}.${child.text}`);
      else if (child.type === 'aliased_import') {
        const name = child.childForFieldName('name')?.text;
        const alias = child.childForFieldName('alias')?.text;
        if (name && alias) this.aliases.set(alias, `${module}.${name}`);
      }
    }
  }

  private recordBinding(node: Node): void {
    let name: string | undefined;
    let value: Node | null;
    if (node.type === 'assignment') {
      const left = node.childForFieldName('left');
      if (left?.type !== 'identifier') return;
      name = left.text;
      value = node.childForFieldName('right');
    } else {
      // with_item: `with gr.Blocks() as demo:`
      const child = node.namedChildren[0];
      if (child?.type !== 'as_pattern') return;
      value = child.namedChildren[0] ?? null;
      const alias = child.childForFieldName('alias') ?? child.namedChildren[1] ?? null;
      name = alias?.type === 'as_pattern_target' ? alias.namedChildren[0]?.text : alias?.text;
    }
    if (!name || !value) return;
    const literal = this.literal(value);
    if (literal && node.parent?.type === 'expression_statement' && node.parent.parent?.type === 'module') this.constants.set(name, literal);
    if (value.type === 'call') {
      const callee = this.qualify(value.childForFieldName('function'));
      this.instances.set(name, `${callee}()`);
      const path = value.childForFieldName('arguments')?.namedChildren[0];
      const literal = path ? this.literal(path) : undefined;
      if (callee === 'open' && literal?.kind === 'string') this.opened.set(name, literal.value);
    }
    if (this.derivesFromModelOutput(value)) this.tainted.add(name);
  }

  /** True when an expression contains a call that returns model output or a variable holding it. */
  private derivesFromModelOutput(node: Node): boolean {
    if (!this.trackTaint) return false;
    for (const call of [node, ...node.descendantsOfType('call')]) {
      if (!call || call.type !== 'call') continue;
      const fn = call.childForFieldName('function');
      const name = this.qualify(fn);
      const method = name.slice(name.lastIndexOf('.') + 1);
      if (MODEL_OUTPUT_METHODS.has(method)) return true;
      // Calling a model or pipeline object: `generator(prompt)`, `llm(prompt)`.
      if (fn?.type === 'identifier' && MODEL_FACTORIES.test(this.instances.get(fn.text) ?? '')) return true;
    }
    for (const id of [node, ...node.descendantsOfType('identifier')]) if (id?.type === 'identifier' && this.tainted.has(id.text)) return true;
    return false;
  }

  /** `t.load` → `torch.load`; `demo.launch` → `gradio.Blocks().launch`; unknown roots become `?`. */
  qualify(node: Node | null): string {
    if (!node) return '?';
    if (node.type === 'identifier') return this.aliases.get(node.text) ?? this.instances.get(node.text) ?? (BUILTINS.has(node.text) ? node.text : `?${node.text}`);
    if (node.type === 'attribute') {
      const object = this.qualify(node.childForFieldName('object'));
      const attribute = node.childForFieldName('attribute')?.text ?? '?';
      return `${object}.${attribute}`;
    }
    if (node.type === 'call') return `${this.qualify(node.childForFieldName('function'))}()`;
    if (node.type === 'parenthesized_expression') return this.qualify(node.namedChildren[0] ?? null);
    return '?';
  }

  private literal(node: Node): Value | undefined {
    switch (node.type) {
      case 'true':
        return { kind: 'bool', value: true, text: node.text };
      case 'false':
        return { kind: 'bool', value: false, text: node.text };
      case 'none':
        return { kind: 'none', text: node.text };
      case 'integer':
      case 'float':
        return { kind: 'number', value: Number(node.text.replace(/_/g, '')), text: node.text };
      case 'string': {
        if (node.descendantsOfType('interpolation').length > 0) return undefined;
        const content = node.descendantsOfType('string_content').map((c) => c?.text ?? '').join('');
        return { kind: 'string', value: content, text: node.text };
      }
      case 'concatenated_string': {
        const parts = node.namedChildren.map((c) => (c ? this.literal(c) : undefined));
        if (parts.every((p) => p?.kind === 'string')) return { kind: 'string', value: parts.map((p) => (p as { value: string }).value).join(''), text: node.text };
        return undefined;
      }
      default:
        return undefined;
    }
  }

  value(node: Node | null): Value {
    if (!node) return { kind: 'other', text: '' };
    const literal = this.literal(node);
    if (literal) return literal;
    if (node.type === 'identifier') {
      const constant = this.constants.get(node.text);
      if (constant) return constant;
      const path = this.opened.get(node.text);
      if (path !== undefined) return { kind: 'name', qualified: 'open()', text: `open(${JSON.stringify(path)})` };
    }
    if (node.type === 'identifier' || node.type === 'attribute') return { kind: 'name', qualified: this.qualify(node), text: node.text };
    if (node.type === 'call') {
      // dict(os.environ), {**os.environ}: keep the resolved callee so rules can see what was passed.
      return { kind: 'name', qualified: `${this.qualify(node.childForFieldName('function'))}()`, text: node.text.slice(0, 200) };
    }
    return { kind: 'other', text: node.text.slice(0, 200) };
  }

  private describeCall(node: Node): Call {
    const fn = node.childForFieldName('function');
    const name = this.qualify(fn);
    const args: Value[] = [];
    const kwargs = new Map<string, Value>();
    let spread = false;
    let argsFromModelOutput = false;
    const list = node.childForFieldName('arguments');
    for (const arg of list?.namedChildren ?? []) {
      if (!arg) continue;
      if (arg.type === 'keyword_argument') {
        const key = arg.childForFieldName('name')?.text;
        const value = arg.childForFieldName('value');
        if (key) kwargs.set(key, this.value(value));
        if (value && this.derivesFromModelOutput(value)) argsFromModelOutput = true;
      } else if (arg.type === 'dictionary_splat') spread = true;
      else if (arg.type !== 'comment') {
        args.push(this.value(arg));
        if (this.derivesFromModelOutput(arg)) argsFromModelOutput = true;
      }
    }
    return { name, method: name.slice(name.lastIndexOf('.') + 1).replace(/^\?/, ''), args, kwargs, spread, argsFromModelOutput, line: node.startPosition.row + 1, column: node.startPosition.column + 1 };
  }
}

/** Last names of every callee a rule looks at (the rules resolve the full name). */
const INTERESTING_METHODS = new Set([
  'load', 'loads', 'Unpickler', 'read_pickle', 'open', 'from_pretrained', 'from_single_file', 'hf_hub_download', 'snapshot_download', 'load_dataset',
  'load_model', 'enable_unsafe_deserialization', 'unsafe_load', 'unsafe_load_all', 'full_load', 'full_load_all', 'load_all', 'eval', 'exec', 'compile',
  'launch', 'init', 'log_param', 'log_params', 'set_tag', 'update',
]);

const BUILTINS = new Set(['eval', 'exec', 'compile', 'open', 'dict', '__import__', 'getattr']);
