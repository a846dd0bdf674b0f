import { redactSecret } from '../../../core/redact.js';
import { defineRule, type AnyRule, type Report } from '../../../core/rule.js';
import { displayName, type ImportRecord, type NestedBlob, type PickleCollector } from './collector.js';

/** What the pickle rules check: one analysis (one or more concatenated streams) of one target. */
export interface PickleCheckContext {
  readonly collector: PickleCollector;
  /** Added to every reported offset (the stream's position in the file, for container members). */
  readonly offsetBase: number;
  /** What happened to each pickle nested in a loader call's arguments. */
  readonly nested: readonly NestedOutcome[];
  /**
   * Set when only a prefix of the target was analysed (it is larger than limits.maxMemberBytes): the
   * analysed bytes end there, and running out of data at that point is expected, not damage.
   */
  readonly partialEnd: number | undefined;
}

export interface NestedOutcome {
  readonly blob: NestedBlob;
  /** Member path the nested pickle's own findings carry. */
  readonly member: string;
  readonly outcome: 'analysed' | 'handedOff' | 'tooDeep' | 'dropped';
}

const TAGS = ['cwe:502', 'owasp-ml:ML06', 'format:pickle'] as const;
const MAX_EVIDENCE = 300;
const MAX_UNKNOWN_REPORTS = 500;

/**
 * Payload arguments can carry credentials (`curl -H 'Authorization: token ghp_…'`): tokens with a known
 * secret prefix, and long mixed letter-and-digit runs, are masked before they become evidence.
 */
const TOKEN = /\b(?:gh[pousr]_|github_pat_|glpat-|xox[abpsr]-|hf_|sk-|sk_live_|rk_live_|AKIA|ASIA|AIza)[A-Za-z0-9_-]{8,}|\b(?=[A-Za-z0-9+/_-]*\d)(?=[A-Za-z0-9+/_-]*[A-Za-z])[A-Za-z0-9+/_-]{32,}/g;
function maskTokens(text: string): string {
  return text.replace(TOKEN, (token) => redactSecret(token));
}

function evidenceOf(rec: ImportRecord): string {
  const calls = rec.calls.map((c) => c.evidence);
  if (rec.escalated !== undefined && !calls.includes(rec.escalated)) calls.unshift(rec.escalated);
  return clipped(calls.length > 0 ? calls.join(' ; ') : displayName(rec), MAX_EVIDENCE);
}

function how(rec: ImportRecord): string {
  const written = rec.written !== undefined ? ` (written ${rec.written})` : '';
  const direct = rec.op === 'GLOBAL' || rec.op === 'INST' || rec.op === 'STACK_GLOBAL';
  const calls = rec.callCount > 0 ? `, called ${rec.callCount} time(s)` : '';
  return `${written}${direct ? '' : ` through ${rec.op}`}${calls}`;
}

/** A conditional gadget (getattr, partial…) is dangerous unless every use of it was resolved to a named target. */
export function isDangerousRecord(rec: ImportRecord): boolean {
  if (rec.verdict !== 'dangerous') return false;
  if (!rec.conditional) return true;
  return rec.escalated !== undefined || rec.pushes > rec.resolved;
}

function firstOffset(rec: ImportRecord): number {
  return rec.calls[0]?.offset ?? rec.offset;
}

export const pickleDangerousGlobalRule = defineRule<'dangerous', PickleCheckContext>({
  id: 'models/pickle-dangerous-global',
  title: 'Pickle imports a dangerous callable',
  description:
    'Unpickling imports every global the stream names and calls whatever REDUCE, NEWOBJ, OBJ, INST and BUILD ' +
    'point at. This pickle reaches a known gadget — something that runs commands, evaluates code, imports ' +
    'modules or reaches attributes by name, touches files or the network, or loads a further pickle — so ' +
    'loading it can execute attacker-chosen code.',
  severity: 'critical',
  confidence: 'high',
  tags: [...TAGS],
  remediation:
    'Do not load this file with pickle, torch.load(weights_only=False), joblib.load or numpy.load(allow_pickle=True). ' +
    'Obtain the model from a trusted source, or convert it to safetensors/ONNX in an isolated environment.',
  messages: { dangerous: 'Loading this pickle imports {{name}}{{how}}; it {{why}}.' },
  check(ctx, report) {
    for (const rec of ctx.collector.imports) {
      if (!isDangerousRecord(rec)) continue;
      report({
        message: 'dangerous',
        data: { name: displayName(rec), how: how(rec), why: rec.why },
        offset: firstOffset(rec) + ctx.offsetBase,
        evidence: evidenceOf(rec),
        confidence: rec.confidence,
        ...(rec.severity !== undefined ? { severity: rec.severity } : {}),
        key: displayName(rec),
        properties: { global: displayName(rec), reachedBy: rec.op, calls: rec.callCount, ...(rec.written ? { written: rec.written } : {}) },
      });
    }
  },
});

export const pickleComputedImportRule = defineRule<'stackGlobal' | 'indirectCall', PickleCheckContext>({
  id: 'models/pickle-computed-import',
  title: 'Pickle imports or calls a name computed at load time',
  description:
    'STACK_GLOBAL takes the module and name from the stack, so a pickle can build them at load time (from ' +
    'calls, or from values that are not plain string constants) instead of writing them out. Likewise a ' +
    'REDUCE can call a value produced by an earlier call instead of an imported name. Benign pickle writers ' +
    'never do either; it is how payloads hide from scanners that only read constant strings.',
  severity: 'critical',
  confidence: 'high',
  tags: [...TAGS],
  remediation: 'Treat the file as malicious: do not load it. Inspect it with `python -m pickletools` in an isolated environment.',
  messages: {
    stackGlobal: 'STACK_GLOBAL imports a module/name computed at load time: {{evidence}}.',
    indirectCall: 'The pickle calls a value computed at load time rather than an imported name: {{evidence}}.',
  },
  check(ctx, report) {
    for (const e of ctx.collector.computed) {
      const calls = e.rec?.calls.map((c) => c.evidence) ?? [];
      const evidence = calls.length > 0 ? `${e.evidence} ; ${calls.join(' ; ')}` : e.evidence;
      report({ message: e.kind, data: { evidence: clipped(e.evidence, 160) }, offset: e.offset + ctx.offsetBase, evidence: clipped(evidence, MAX_EVIDENCE), key: `${e.kind}@${e.offset}` });
    }
  },
});

export const pickleUnknownGlobalRule = defineRule<'unknown' | 'more', PickleCheckContext>({
  id: 'models/pickle-unknown-global',
  title: 'Pickle imports a global that is not allowlisted',
  description:
    'The pickle imports a module attribute that is neither on an allowlist profile (Python value types, ' +
    'NumPy, PyTorch, scikit-learn, joblib) nor a known gadget. Importing it runs its module\'s top-level code ' +
    'and the pickle may call it with arguments of its choosing; whether that is safe depends on code ' +
    'Custody did not read.',
  severity: 'medium',
  confidence: 'medium',
  tags: [...TAGS],
  remediation:
    'Check what the named callable does. If it is a plain data class you trust, allow it in .custody.yml ' +
    '(`models: { allow: [module.Name] }` or `module.*`); otherwise do not load the file.',
  messages: {
    unknown: 'Loading this pickle imports {{name}}{{how}}, which is on no allowlist.',
    more: '… and {{count}} more globals on no allowlist (not listed one by one).',
  },
  check(ctx, report) {
    let reported = 0;
    let more = 0;
    for (const rec of ctx.collector.imports) {
      if (rec.verdict !== 'unknown') continue;
      if (reported >= MAX_UNKNOWN_REPORTS) {
        more += 1;
        continue;
      }
      reported += 1;
      report({
        message: 'unknown',
        data: { name: displayName(rec), how: how(rec) },
        offset: firstOffset(rec) + ctx.offsetBase,
        evidence: evidenceOf(rec),
        key: displayName(rec),
        properties: { global: displayName(rec), reachedBy: rec.op, calls: rec.callCount, ...(rec.written ? { written: rec.written } : {}) },
      });
    }
    if (more > 0) report({ message: 'more', data: { count: more }, offset: ctx.offsetBase, key: 'more' });
  },
});

export const pickleGlobalMutationRule = defineRule<'mutation', PickleCheckContext>({
  id: 'models/pickle-global-mutation',
  title: 'Pickle modifies an imported object',
  description:
    'BUILD, SETITEM(S), APPEND(S) or ADDITEMS applied to an imported module attribute, class or registry ' +
    'changes shared interpreter state: it can replace a class\'s methods, rewrite sys.modules or the copyreg ' +
    'extension registry, and so redirect what later imports and calls do — in this load and in the process ' +
    'afterwards. Pickle writers only ever modify objects the pickle itself created.',
  severity: 'critical',
  confidence: 'high',
  tags: [...TAGS],
  remediation: 'Treat the file as malicious: do not load it.',
  messages: { mutation: 'The pickle modifies the imported object {{target}}.' },
  check(ctx, report) {
    for (const e of ctx.collector.mutations) {
      report({ message: 'mutation', data: { target: e.target }, offset: e.offset + ctx.offsetBase, evidence: clipped(e.evidence, MAX_EVIDENCE), key: `${e.target}@${e.offset}` });
    }
  },
});

export const pickleUnknownExtensionRule = defineRule<'extension', PickleCheckContext>({
  id: 'models/pickle-unknown-extension',
  title: 'Pickle uses a copyreg extension code',
  description:
    'EXT1/EXT2/EXT4 name a global by a number looked up in the loading process\'s copyreg extension ' +
    'registry. No standard writer uses them and the registry is empty by default, so what the code ' +
    'resolves to depends on the process that loads the file — it cannot be checked statically.',
  severity: 'high',
  confidence: 'high',
  tags: [...TAGS],
  remediation: 'Do not load the file unless you control and know the extension registry of the loading process.',
  messages: { extension: 'The pickle imports extension code {{code}}, whose target depends on the loading process.' },
  check(ctx, report) {
    for (const e of ctx.collector.extensions) {
      const calls = e.rec.calls.map((c) => c.evidence);
      report({ message: 'extension', data: { code: e.code }, offset: e.offset + ctx.offsetBase, evidence: clipped(calls.length > 0 ? calls.join(' ; ') : e.evidence, MAX_EVIDENCE), key: `ext${e.code}@${e.offset}` });
    }
  },
});

export const pickleNestedRule = defineRule<'analysed' | 'handedOff' | 'tooDeep' | 'dropped', PickleCheckContext>({
  id: 'models/pickle-nested',
  title: 'Pickle loads a pickle nested inside it',
  description:
    'The pickle passes a bytes value to a loader (torch.storage._load_from_bytes, pickle.loads, dill, ' +
    'cloudpickle, joblib, numpy…), so a second pickle is unpickled during the load. Custody analyses the ' +
    'nested pickle too and reports what it reaches under its own member path; this finding ties the two ' +
    'together. Nesting is a common way to hide a payload from scanners that read one stream.',
  severity: 'high',
  confidence: 'high',
  tags: [...TAGS],
  remediation: 'Treat the file as untrusted code; see the findings on the nested member for what it does.',
  messages: {
    analysed: 'A pickle nested in the argument of {{via}} ({{bytes}} bytes) is loaded too; its findings are reported under {{member}}.',
    handedOff: 'A torch.save archive or stream nested in the argument of {{via}} ({{bytes}} bytes) is loaded too; it is scanned as {{member}}.',
    tooDeep: 'A pickle nested in the argument of {{via}} ({{bytes}} bytes) was not analysed: nesting is deeper than limits.maxNesting.',
    dropped: 'A pickle nested in the argument of {{via}} ({{bytes}} bytes) was not analysed: too many nested pickles in one stream.',
  },
  check(ctx, report) {
    for (const n of ctx.nested) {
      report({
        message: n.outcome,
        data: { via: n.blob.via, bytes: n.blob.bytes.length, member: n.member },
        offset: n.blob.offset + ctx.offsetBase,
        evidence: clipped(n.blob.evidence, MAX_EVIDENCE),
        severity: n.outcome === 'handedOff' && n.blob.via === 'torch.storage._load_from_bytes' ? 'low' : n.outcome === 'analysed' || n.outcome === 'handedOff' ? 'high' : 'critical',
        key: `${n.blob.via}@${n.blob.offset}`,
        properties: { nestedMember: n.member },
      });
    }
  },
});

export const pickleMalformedRule = defineRule<'broken' | 'leftover' | 'trailing', PickleCheckContext>({
  id: 'models/pickle-malformed',
  title: 'Malformed pickle stream',
  description:
    'The stream breaks before its end (truncated data, an invalid opcode, a stack underflow, a bad argument, ' +
    'a missing memo entry) or stops with values left on the stack. Unpicklers execute opcodes as they read ' +
    'them, so everything before the break still runs — a broken pickle is a classic way to crash scanners ' +
    'while the payload has already executed. Custody reports what was reached before the break separately.',
  severity: 'high',
  confidence: 'high',
  tags: [...TAGS, 'cwe:20'],
  remediation: 'Do not load the file; re-export the model from its source. A truncated download should be fetched again and verified against its digest.',
  messages: {
    broken: 'The pickle breaks at offset {{offset}}: {{detail}} ({{kind}}). {{reached}}',
    leftover: 'The pickle stops with {{items}} value(s) and {{marks}} MARK(s) left on the stack; pickle writers never leave any.',
    trailing: '{{bytes}} byte(s) that are not a pickle follow the last STOP (offset {{offset}}); loaders ignore them, but they were searched for hidden pickles: {{found}} found and analysed.',
  },
  check(ctx, report) {
    for (const e of ctx.collector.errors) {
      if (ctx.partialEnd !== undefined && e.kind === 'truncated') continue;
      const reached = e.reached > 0 ? `${e.reached} non-allowlisted name(s) reached before it are reported separately.` : 'Nothing dangerous was reached before it.';
      report({ message: 'broken', data: { offset: e.offset + ctx.offsetBase, detail: e.detail, kind: e.kind, reached }, offset: e.offset + ctx.offsetBase, key: `${e.kind}@${e.offset}` });
    }
    for (const e of ctx.collector.leftovers) {
      report({ message: 'leftover', data: { items: e.items, marks: e.marks }, offset: e.offset + ctx.offsetBase, severity: 'medium', key: `leftover@${e.offset}` });
    }
    for (const e of ctx.collector.trailing) {
      report({ message: 'trailing', data: { bytes: e.bytes, offset: e.offset + ctx.offsetBase, found: e.found }, offset: e.offset + ctx.offsetBase, severity: e.found > 0 ? 'high' : 'medium', key: 'trailing' });
    }
  },
});

const LIMIT_WHAT: Record<string, string> = {
  opcodes: 'the number of opcodes',
  memo: 'the number of memo entries',
  stack: 'the stack size',
  marks: 'the number of open MARKs',
  deadline: 'the time budget (limits.fileTimeoutMs)',
  depth: 'the depth of inline nested streams',
  streams: 'the number of concatenated pickles in one file',
  shadow: 'the budget for checking joblib array bytes as opcodes',
  globals: 'the number of distinct globals classified one by one',
  views: 'the number of loader readings explored (frames read differently by different unpicklers)',
};

export const pickleLimitExceededRule = defineRule<'limit' | 'derived', PickleCheckContext>({
  id: 'models/pickle-limit-exceeded',
  title: 'Pickle analysis stopped at a limit',
  description:
    'The analysis is bounded in opcodes, memo entries, stack size, nesting and time, so a hostile file cannot ' +
    'exhaust memory or hang the scan. This pickle exceeded one of the bounds; the rest of it was not analysed ' +
    'and is reported rather than passed. Bytes the pickle decompresses at load time (zlib.decompress, ' +
    'gzip.decompress) are decoded up to a bound too: a payload that expands beyond it is not analysed, and is reported.',
  severity: 'high',
  confidence: 'medium',
  tags: [...TAGS, 'cwe:400'],
  remediation: 'Inspect the file by hand or raise limits.fileTimeoutMs for legitimately huge pickles; prefer safetensors for large weights.',
  messages: {
    limit: 'Analysis stopped at offset {{offset}}: {{what}} exceeded its bound ({{limit}}). The rest of the pickle was not analysed.',
    derived: 'The call at offset {{offset}} decompresses bytes at load time to more than {{limit}} bytes; what it produces (a pickle a loader runs, perhaps) was not analysed.',
  },
  check(ctx, report) {
    for (const e of ctx.collector.limits) {
      if (e.kind === 'derived') {
        report({ message: 'derived', data: { offset: e.offset + ctx.offsetBase, limit: e.limit }, offset: e.offset + ctx.offsetBase, key: `derived@${e.offset}` });
        continue;
      }
      report({ message: 'limit', data: { offset: e.offset + ctx.offsetBase, what: LIMIT_WHAT[e.kind] ?? e.kind, limit: e.kind === 'deadline' ? 'time' : e.limit }, offset: e.offset + ctx.offsetBase, key: e.kind });
    }
    if (ctx.collector.dropped > 0) {
      report({ message: 'limit', data: { offset: ctx.offsetBase, what: 'the number of events kept per pickle', limit: ctx.collector.maxEvents }, offset: ctx.offsetBase, severity: 'medium', key: 'events' });
    }
  },
});

export const pickleFrameMismatchRule = defineRule<'span' | 'overlap' | 'trailing' | 'joblib', PickleCheckContext>({
  id: 'models/pickle-frame-mismatch',
  title: 'Pickle FRAME lengths do not match the opcodes',
  description:
    'Protocol 4+ pickles group opcodes in FRAMEs. CPython\'s C unpickler only requires a frame\'s bytes to be ' +
    'present and then reads opcodes sequentially, while the pure-Python unpickler enforces frame boundaries; ' +
    'a scanner that trusts the lengths can be desynchronised. A frame that ends inside an opcode, overlaps the ' +
    'next frame or runs past STOP is never written by pickle itself and is how a payload is hidden from one reader.',
  severity: 'medium',
  confidence: 'high',
  tags: [...TAGS],
  remediation: 'Do not load the file; re-export it with a standard pickler.',
  messages: {
    span: 'Opcodes cross a frame boundary at offset {{offset}} ({{detail}}).',
    overlap: 'Frames overlap at offset {{offset}} ({{detail}}).',
    trailing: 'The last frame is longer than the pickle at offset {{offset}} ({{detail}}).',
    joblib: 'A joblib array wrapper at offset {{offset}} is not at the end of its frame ({{detail}}).',
  },
  check(ctx, report) {
    for (const e of ctx.collector.frames) {
      report({ message: e.kind, data: { offset: e.offset + ctx.offsetBase, detail: e.detail }, offset: e.offset + ctx.offsetBase, severity: e.kind === 'trailing' ? 'medium' : 'high', key: `${e.kind}@${e.offset}` });
    }
  },
});

export const pickleLoaderDivergenceRule = defineRule<'drop' | 'pastEnd' | 'nextStream', PickleCheckContext>({
  id: 'models/pickle-loader-divergence',
  title: 'Loaders execute different opcodes from this pickle',
  description:
    'CPython\'s unpicklers do not read FRAMEs alike. pickle.loads (bytes) ignores frames; the C unpickler ' +
    'reading a file (pickle.load, torch.load) fetches a frame with read(n) whenever its prefetch cannot serve ' +
    'it — always for io.BytesIO (torch.load\'s data.pkl) and for frames of 128 KiB or more — and then drops ' +
    'the rest of the frame when an opcode\'s argument or line runs past its end; the pure-Python unpickler ' +
    '(joblib) refuses such opcodes but reads on past a FRAME longer than the data, which the C unpickler ' +
    'refuses. Pickle writers never produce any of this: a stream that one loader reads differently from ' +
    'another is how a payload is hidden from scanners that read it one way. Custody analyses every reading; ' +
    'what each one reaches is reported by the other pickle rules.',
  severity: 'high',
  confidence: 'high',
  tags: [...TAGS],
  remediation: 'Treat the file as malicious: do not load it. Re-export the model with a standard pickler (or, better, as safetensors).',
  messages: {
    drop: 'A C unpickler reading this file with the FRAME at offset {{frame}} fetched by read(n) drops its last {{left}} byte(s) at offset {{offset}} and executes other opcodes than pickle.loads does{{reached}}.',
    pastEnd: 'The FRAME at offset {{frame}} declares {{declared}} bytes but only {{left}} remain: the C unpickler (pickle.load, torch.load) refuses it, while the pure-Python unpickler (joblib.load) reads on and executes the rest.',
    nextStream: 'A frame is still open at STOP: the pure-Python unpickler, and a C unpickler that fetched the frame with read(n), leave the file at offset {{offset}}, {{left}} byte(s) after STOP, so the next load of the same file (as legacy torch.load does) reads the pickle there.',
  },
  check(ctx, report) {
    for (const e of ctx.collector.divergences) {
      if (e.kind === 'pastEnd' && ctx.partialEnd !== undefined) continue;
      const reached = e.reached.length > 0 ? `, reaching ${e.reached.join(', ')}` : '';
      report({
        message: e.kind,
        data: { frame: e.frame + ctx.offsetBase, left: e.left, offset: e.offset + ctx.offsetBase, declared: e.declared ?? 0, reached },
        offset: e.offset + ctx.offsetBase,
        key: `${e.kind}@${e.frame}@${e.offset}`,
        properties: { reading: e.kind === 'pastEnd' ? 'pickle._Unpickler' : 'C unpickler, frame fetched with read(n)', ...(e.reached.length > 0 ? { reached: e.reached.join(', ') } : {}) },
      });
    }
  },
});

export const pickleResourceExhaustionRule = defineRule<'walk' | 'cycle', PickleCheckContext>({
  id: 'models/pickle-resource-exhaustion',
  title: 'Pickle builds an object that explodes when walked',
  description:
    'Unpickling shares references (a memo GET or a DUP adds a pointer, not a copy), so the load itself stays ' +
    'small; but code that walks the result as a tree — repr/str, json.dumps, recursive flattening, comparisons ' +
    '— visits a shared object once per reference. References nested in references multiply ("billion ' +
    'laughs": ten lists of ten references, nine levels deep, is 10^9 visits from a few hundred bytes). ' +
    'Custody measures the nodes such a walk visits (cycles cut at the first repeat) and reports objects that ' +
    'expand past 10^7 nodes and 1,000 nodes per opcode, and containers that hold 16 or more references to ' +
    'themselves or an enclosing container (walkers without cycle detection never finish; depth-limited ' +
    'ones visit N^depth nodes). Model writers produce neither.',
  severity: 'medium',
  confidence: 'high',
  tags: [...TAGS, 'cwe:400', 'cwe:776'],
  remediation: 'Do not load the file in a process that walks or prints what it loads; re-export the data from its source.',
  messages: {
    walk: 'A tree walk of the object built at offset {{offset}} visits {{count}} nodes, {{ratio}} per opcode of the stream ({{opcodes}} opcodes): nested shared references multiply.',
    cycle: 'The container built at offset {{offset}} holds {{count}} references to itself or to a container enclosing it.',
  },
  check(ctx, report) {
    for (const e of ctx.collector.expansions) {
      const ratio = Math.round(e.count / Math.max(1, e.opcodes));
      report({
        message: e.kind,
        data: { offset: e.offset + ctx.offsetBase, count: e.count >= 1e15 ? e.count.toExponential(2) : Math.round(e.count), ratio: ratio >= 1e15 ? ratio.toExponential(2) : ratio, opcodes: e.opcodes },
        offset: e.offset + ctx.offsetBase,
        // A walk of a billion nodes from a short stream is not something a writer makes by accident.
        severity: e.kind === 'walk' && e.count >= 1e9 && ratio >= 1e5 ? 'high' : 'medium',
        key: `${e.kind}@${e.offset}`,
      });
    }
  },
});

export const pickleJoblibArrayRule = defineRule<'unknownSize' | 'externalFile' | 'hiddenPayload', PickleCheckContext>({
  id: 'models/pickle-joblib-array',
  title: 'joblib array data cannot be located or hides opcodes',
  description:
    'joblib writes the raw bytes of each NumPy array straight into the pickle stream after a NumpyArrayWrapper, ' +
    'and its unpickler skips them using the wrapper\'s shape and dtype. When that size cannot be worked out, ' +
    'the rest of the stream cannot be analysed; when the skipped bytes are themselves opcodes with a payload, ' +
    'a loader that is not joblib (pickle.load of the same file) runs it. Old joblib files also point at ' +
    'separate array files, which are loaded from the directory of the pickle.',
  severity: 'high',
  confidence: 'high',
  tags: [...TAGS],
  remediation: 'Re-save the model with a current joblib, or convert it to a format without pickle (skops, ONNX, safetensors).',
  messages: {
    unknownSize: 'The size of the joblib array at offset {{offset}} cannot be determined ({{detail}}); the rest of the stream was not analysed.',
    externalFile: 'The joblib wrapper at offset {{offset}} loads its array from a separate file ({{detail}}).',
    hiddenPayload: 'The joblib array bytes at offset {{offset}} read as pickle opcodes that reach {{detail}}; pickle.load of this file would run them.',
  },
  check(ctx, report) {
    for (const e of ctx.collector.joblib) {
      const severity = e.kind === 'hiddenPayload' ? 'critical' : e.kind === 'externalFile' ? 'low' : 'high';
      report({ message: e.kind, data: { offset: e.offset + ctx.offsetBase, detail: e.detail }, offset: e.offset + ctx.offsetBase, severity, key: `${e.kind}@${e.offset}` });
    }
  },
});

export const pickleTooLargeRule = defineRule<'tooLarge', { size: number; limit: number }>({
  id: 'models/pickle-too-large',
  title: 'Pickle larger than the scan limit',
  description:
    'The pickle is larger than limits.maxMemberBytes, so it was not read in full. Custody analyses the first ' +
    'limits.maxMemberBytes bytes (and reports what they reach), but the rest is unread and is reported rather ' +
    'than passed.',
  severity: 'high',
  confidence: 'high',
  tags: [...TAGS, 'cwe:400'],
  remediation: 'Raise limits.maxMemberBytes in .custody.yml if the machine has the memory, or convert the weights to safetensors.',
  messages: { tooLarge: 'The pickle is {{size}} bytes, more than limits.maxMemberBytes ({{limit}}); only the first {{limit}} bytes were analysed.' },
  check(ctx, report) {
    if (ctx.size > ctx.limit) report({ message: 'tooLarge', data: { size: ctx.size, limit: ctx.limit }, offset: ctx.limit });
  },
});

/** The rules that run on an analysis, in id order. */
export const analysisRules = [
  pickleComputedImportRule,
  pickleDangerousGlobalRule,
  pickleFrameMismatchRule,
  pickleGlobalMutationRule,
  pickleJoblibArrayRule,
  pickleLimitExceededRule,
  pickleLoaderDivergenceRule,
  pickleMalformedRule,
  pickleNestedRule,
  pickleResourceExhaustionRule,
  pickleUnknownExtensionRule,
  pickleUnknownGlobalRule,
] as const;

export async function checkAnalysis(ctx: PickleCheckContext, reporter: (rule: AnyRule) => Report<string> | undefined): Promise<void> {
  const rules: readonly AnyRule[] = analysisRules;
  for (const rule of rules) {
    const report = reporter(rule);
    if (report !== undefined) await rule.check(ctx, report);
  }
}

function clipped(text: string, max: number): string {
  const masked = maskTokens(text);
  return masked.length > max ? `${masked.slice(0, max - 1)}…` : masked;
}
