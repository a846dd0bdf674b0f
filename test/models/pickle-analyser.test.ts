import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import type { ScanContext, ScanTarget } from '../../src/core/scanner.js';
import { buildFinding } from '../../src/scanners/file-scan.js';
import { pickleFormat } from '../../src/scanners/models/formats/pickle.js';
import { analyseStream, DEFAULT_ANALYSER_LIMITS, type StreamOptions } from '../../src/scanners/models/pickle/analyser.js';
import { classifyGlobal, compileAllow } from '../../src/scanners/models/pickle/classify.js';
import { PickleCollector } from '../../src/scanners/models/pickle/collector.js';
import { looksLikePickle, scanPickleStream } from '../../src/scanners/models/pickle/index.js';
import { OPCODES } from '../../src/scanners/models/pickle/opcodes.js';

const FIXTURES = 'test/.tmp/fixtures/pickle_unit';

function b(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}
function u64(n: number): string {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(BigInt(n));
  return buf.toString('latin1');
}

function analyse(data: Buffer, limits: Partial<typeof DEFAULT_ANALYSER_LIMITS> = {}, extra: Partial<StreamOptions> = {}) {
  const collector = new PickleCollector(compileAllow([]));
  const result = analyseStream(data, 0, collector, { deadline: Date.now() + 60_000, limits: { ...DEFAULT_ANALYSER_LIMITS, ...limits }, joblib: true, depth: 0, lenient: false, ...extra });
  return { collector, result };
}

function context(deadline = Date.now() + 60_000): { context: ScanContext; findings: Finding[] } {
  const config = defaultConfig();
  const findings: Finding[] = [];
  const ctx: ScanContext = {
    config,
    limits: config.limits,
    deadline,
    isEnabled: () => true,
    reporter: (rule, target) => (input) => {
      findings.push(buildFinding(rule, target, input, config));
    },
    scanMember: () => Promise.resolve(),
  };
  return { context: ctx, findings };
}

function target(data: Buffer): ScanTarget {
  return { path: 'x.pkl', source: new BufferSource(data), head: data.subarray(0, 65536), depth: 0 };
}

/** One minimal, well-formed stream per opcode (the opcode is used at least once). */
const PER_OPCODE: Record<string, string> = {
  MARK: '(N1N.',
  STOP: 'N.',
  POP: 'NN0.',
  POP_MARK: '(NN1N.',
  DUP: 'N20.',
  FLOAT: 'F1.5\n.',
  INT: 'I42\nI01\n0.',
  BININT: 'J\x01\x00\x00\x80.',
  BININT1: 'K\x01.',
  LONG: 'L12345678901234567890L\n.',
  BININT2: 'M\x01\x00.',
  NONE: 'N.',
  PERSID: 'P0\n.',
  BINPERSID: 'K\x01Q.',
  REDUCE: 'cbuiltins\nset\n)R.',
  STRING: "S'a\\'b'\n.",
  BINSTRING: 'T\x03\x00\x00\x00abc.',
  SHORT_BINSTRING: 'U\x03abc.',
  UNICODE: 'Vab\\u00e9\n.',
  BINUNICODE: 'X\x03\x00\x00\x00abc.',
  APPEND: ']Na.',
  BUILD: 'ccollections\nOrderedDict\n)R}b.',
  GLOBAL: 'cbuiltins\nset\n.',
  DICT: '(\x8c\x01aNd.',
  EMPTY_DICT: '}.',
  APPENDS: '](NNe.',
  GET: 'Np0\n0g0\n.',
  BINGET: 'Nq\x000h\x00.',
  INST: '(K\x01ibuiltins\nset\n.',
  LONG_BINGET: 'Nr\x05\x00\x00\x000j\x05\x00\x00\x00.',
  LIST: '(Nl.',
  EMPTY_LIST: '].',
  OBJ: '(cbuiltins\nset\no.',
  PUT: 'Np7\n.',
  BINPUT: 'Nq\x01.',
  LONG_BINPUT: 'Nr\x00\x00\x01\x00.',
  SETITEM: '}\x8c\x01aNs.',
  TUPLE: '(Nt.',
  EMPTY_TUPLE: ').',
  SETITEMS: '}(\x8c\x01aN\x8c\x01bNu.',
  BINFLOAT: 'G\x3f\xf8\x00\x00\x00\x00\x00\x00.',
  PROTO: '\x80\x02N.',
  NEWOBJ: 'cbuiltins\nset\n)\x81.',
  EXT1: '\x82\x01.',
  EXT2: '\x83\x01\x02.',
  EXT4: '\x84\x01\x02\x03\x04.',
  TUPLE1: 'N\x85.',
  TUPLE2: 'NN\x86.',
  TUPLE3: 'NNN\x87.',
  NEWTRUE: '\x88.',
  NEWFALSE: '\x89.',
  LONG1: '\x8a\x02\x01\x80.',
  LONG4: '\x8b\x02\x00\x00\x00\x01\x02.',
  BINBYTES: 'B\x03\x00\x00\x00abc.',
  SHORT_BINBYTES: 'C\x03abc.',
  SHORT_BINUNICODE: '\x8c\x03abc.',
  BINUNICODE8: `\x8d${u64(3)}abc.`,
  BINBYTES8: `\x8e${u64(3)}abc.`,
  EMPTY_SET: '\x8f.',
  ADDITEMS: '\x8f(NK\x01\x90.',
  FROZENSET: '(K\x01\x91.',
  NEWOBJ_EX: 'cbuiltins\nset\n)}\x92.',
  STACK_GLOBAL: '\x8c\x08builtins\x8c\x03set\x93.',
  MEMOIZE: 'N\x94.',
  FRAME: `\x80\x04\x95${u64(2)}N.`,
  BYTEARRAY8: `\x96${u64(3)}abc.`,
  NEXT_BUFFER: '\x97.',
  READONLY_BUFFER: '\x97\x98.',
};

describe('pickle analyser: every opcode', () => {
  it('the table covers all 68 opcodes of protocols 0-5', () => {
    assert.equal(OPCODES.length, 68);
    assert.deepEqual(OPCODES.map((o) => o.name).filter((n) => PER_OPCODE[n] === undefined), []);
  });

  for (const op of OPCODES) {
    it(`${op.name} (protocol ${op.proto})`, () => {
      const data = b(PER_OPCODE[op.name] ?? '');
      assert.ok(data.includes(op.code), `the stream for ${op.name} does not use it`);
      const { collector, result } = analyse(data);
      assert.deepEqual(collector.errors, []);
      assert.equal(result.complete, true);
      assert.equal(result.end, data.length);
      assert.deepEqual(collector.leftovers, []);
      const unsafe = collector.imports.filter((r) => r.verdict !== 'safe');
      assert.deepEqual(unsafe.map((r) => r.key), []);
      if (op.name.startsWith('EXT')) assert.equal(collector.extensions.length, 1);
    });
  }

  it('values survive the memo and DUP (a memoised string resolves a STACK_GLOBAL operand)', () => {
    const { collector } = analyse(b('\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93.'));
    assert.equal(collector.imports[0]?.module, 'os');
    assert.equal(collector.imports[0]?.name, 'system');
    assert.deepEqual(collector.computed, []);
  });

  it('MEMOIZE stores at the number of memo entries, as CPython does', () => {
    // PUT at 5, then MEMOIZE stores at index 1 (one entry so far), and GET 1 reads it back.
    const { collector, result } = analyse(b('\x8c\x04jsonr\x05\x00\x00\x000\x8c\x02os\x940h\x01\x8c\x06system\x93.'));
    assert.equal(result.complete, true);
    const names = collector.imports.map((r) => `${r.module}.${r.name}`);
    assert.ok(names.includes('os.system'), names.join());
  });

  it('a STACK_GLOBAL operand that is not a str breaks the stream', () => {
    const { collector, result } = analyse(b('K\x01\x8c\x01a\x93.'));
    assert.equal(result.complete, false);
    assert.equal(collector.errors[0]?.kind, 'badArgument');
  });

  it('reports the C unpickler damage kinds: underflow, missing MARK, bad memo, bad length, protocol', () => {
    const cases: [string, string][] = [
      ['0', 'underflow'],
      ['(0.', 'underflow'],
      ['e', 'noMark'],
      ['g3\n', 'memo'],
      ['\x8b\xff\xff\xff\xff', 'badArgument'],
      ['\x80\x06', 'protocol'],
      ["Sabc\n.", 'badArgument'],
      ['(K\x01K\x02K\x03d.', 'badArgument'],
      ['\xff', 'invalidOpcode'],
      ['X\xff\x00\x00\x00ab', 'truncated'],
    ];
    for (const [text, kind] of cases) {
      const { collector, result } = analyse(b(text));
      assert.equal(result.complete, false, text);
      assert.equal(collector.errors[0]?.kind, kind, JSON.stringify(text));
    }
  });

  it('stops at its limits and says which', () => {
    assert.equal(analyse(b('N\x94N\x94N\x94.'), { maxMemo: 2 }).collector.limits[0]?.kind, 'memo');
    assert.equal(analyse(b('((((N.'), { maxMarks: 3 }).collector.limits[0]?.kind, 'marks');
    const many = b(`${'N0'.repeat(70_000)}N.`);
    assert.equal(analyse(many, { maxOpcodes: 100_000 }).collector.limits[0]?.kind, 'opcodes');
    assert.equal(analyse(many, {}, { deadline: 0 }).collector.limits[0]?.kind, 'deadline');
    assert.equal(analyse(b(`${'N'.repeat(70_000)}.`), { maxStack: 1000 }).collector.limits[0]?.kind, 'stack');
    assert.equal(analyse(many).result.complete, true);
  });

  it('classifies a bounded number of distinct globals, then reports the rest as one worst case', () => {
    const collector = new PickleCollector(compileAllow([]), 100, 3);
    const data = b(`${['a', 'b', 'c', 'd', 'e'].map((n) => `cmylib\n${n}\n0`).join('')}N.`);
    analyseStream(data, 0, collector, { deadline: Date.now() + 60_000, limits: DEFAULT_ANALYSER_LIMITS, joblib: true, depth: 0, lenient: false });
    assert.equal(collector.imports.length, 4);
    assert.equal(collector.imports[3]?.verdict, 'dangerous');
    assert.equal(collector.limits[0]?.kind, 'globals');
  });
});

describe('pickle analyser: FRAME handling', () => {
  const body = '\x8c\x02os\x8c\x06system\x93)R.';
  it('reads opcodes sequentially across a frame that is too short, and says so', () => {
    const { collector, result } = analyse(b(`\x80\x04\x95${u64(5)}${body}`));
    assert.equal(result.complete, true);
    assert.equal(collector.frames[0]?.kind, 'span');
    assert.ok(collector.imports.some((r) => r.name === 'system'));
  });
  it('a frame longer than the data: the C unpickler refuses it, the pure-Python one reads on, and so does the analysis', () => {
    const { collector, result } = analyse(b(`\x80\x04\x95${u64(500)}${body}`));
    assert.deepEqual(collector.errors, []);
    assert.equal(result.complete, true);
    assert.deepEqual(collector.divergences.map((d) => [d.kind, d.offset, d.declared]), [['pastEnd', 2, 500]]);
    assert.ok(collector.imports.length > 0);
  });
  it('a frame longer than data that is simply cut short is damage, not a divergence', () => {
    const { collector } = analyse(b(`\x80\x04\x95${u64(500)}${body}`.slice(0, -2)));
    assert.equal(collector.errors[0]?.kind, 'truncated');
    assert.deepEqual(collector.divergences, []);
  });
  it('a frame that ends exactly where the next starts, and unframed opcodes between frames, are fine', () => {
    const { collector, result } = analyse(b(`\x80\x04\x95${u64(2)}NN${'0'}\x95${u64(2)}0N.`));
    assert.equal(result.complete, true);
    assert.deepEqual(collector.frames, []);
  });
});

describe('scanPickleStream API', () => {
  it('returns where the stream ended, whether it completed, and the opcode count', async () => {
    const data = b('junk\x80\x02N.\x80\x02K\x01.');
    const { context: ctx } = context();
    assert.deepEqual(await scanPickleStream(data, 4, target(data), ctx), { end: 8, complete: true, opcodes: 3 });
    assert.deepEqual(await scanPickleStream(data, 8, target(data), ctx), { end: 13, complete: true, opcodes: 3 });
    const cut = data.subarray(0, 12);
    assert.equal((await scanPickleStream(cut, 8, target(cut), ctx)).complete, false);
  });

  it('adds offsetBase to every reported offset', async () => {
    const data = readFileSync(join(FIXTURES, 'attack', 'inst-p0.pkl'));
    const a = context();
    await scanPickleStream(data, 0, target(data), a.context);
    const z = context();
    await scanPickleStream(data, 0, target(data), z.context, { offsetBase: 1000 });
    assert.equal(a.findings.length, 1);
    assert.equal((z.findings[0]?.location.offset ?? 0) - (a.findings[0]?.location.offset ?? 0), 1000);
  });

  it('never throws and never reports past the deadline without saying so', async () => {
    const data = b(`${'N0'.repeat(70_000)}N.`);
    const { context: ctx, findings } = context(0);
    const r = await scanPickleStream(data, 0, target(data), ctx);
    assert.equal(r.complete, false);
    assert.equal(findings[0]?.ruleId, 'models/pickle-limit-exceeded');
  });
});

describe('looksLikePickle and format detection', () => {
  it('accepts pickles of every protocol from the fixtures', () => {
    const dir = join(FIXTURES, 'benign');
    for (const file of readdirSync(dir)) assert.ok(looksLikePickle(readFileSync(join(dir, file))), file);
  });

  it('rejects text and other formats', () => {
    const negatives = [
      '', '(c) 2024 Example Corp\n', 'cat\nhello world\n', 'Neat little file', 'I think so\n', '))))))))', ']]]]]]',
      '{"a": 1}', '# README\n', 'PK\x03\x04\x14\x00', '\x80\x09N.', '\x93NUMPY\x01\x00', 'GGUF\x03\x00\x00\x00',
      'N', '(1, 2)\n', 'Copyright (c)\n', 'SELECT 1;\n', 'Loop forever\n', 'Foo bar\n',
    ];
    for (const text of negatives) assert.equal(looksLikePickle(b(text)), false, JSON.stringify(text));
    assert.equal(looksLikePickle(b('xN.'), 1), true);
    assert.equal(looksLikePickle(b('N.'), 5), false);
  });

  it('the pickle format claims pickles but never zip files', () => {
    const zipped = b('PK\x03\x04\x80\x02N.');
    assert.equal(pickleFormat.detect(target(zipped)), false);
    assert.equal(pickleFormat.detect(target(b('\x80\x02N.'))), true);
    assert.equal(pickleFormat.detect(target(b('(dp0\nVa\np1\nI1\ns.'))), true);
  });
});

describe('classification', () => {
  const allow = compileAllow([]);
  const verdict = (m: string, n: string): string => classifyGlobal(m, n, allow).verdict;

  it('maps Python 2 names like fix_imports', () => {
    assert.equal(verdict('__builtin__', 'set'), 'safe');
    assert.equal(verdict('__builtin__', 'xrange'), 'safe');
    assert.equal(verdict('copy_reg', '_reconstructor'), 'safe');
    assert.equal(verdict('exceptions', 'ValueError'), 'safe');
    assert.equal(verdict('__builtin__', 'eval'), 'dangerous');
    assert.equal(verdict('__builtin__', 'reduce'), 'dangerous');
    assert.equal(classifyGlobal('__builtin__', 'long', allow).normalized.name, 'int');
  });

  it('treats whole dangerous modules as dangerous, but exact allowlist names win', () => {
    assert.equal(verdict('os', 'path'), 'dangerous');
    assert.equal(verdict('os.path', 'join'), 'dangerous');
    assert.equal(verdict('builtins', 'print'), 'dangerous');
    assert.equal(verdict('builtins', 'set'), 'safe');
    assert.equal(verdict('uuid', 'UUID'), 'safe');
    assert.equal(verdict('uuid', '_get_command_stdout'), 'dangerous');
    assert.equal(verdict('io', 'BytesIO'), 'safe');
    assert.equal(verdict('io', 'open'), 'dangerous');
    assert.equal(verdict('torch.jit._pickle', 'build_intlist'), 'safe');
    assert.equal(verdict('torch.jit', 'load'), 'dangerous');
  });

  it('sees through vendored copies, re-exports and loader/importer names (red team)', () => {
    assert.equal(verdict('sklearn.externals.joblib', 'load'), 'dangerous');
    assert.equal(verdict('joblib.externals.cloudpickle', 'loads'), 'dangerous');
    assert.equal(verdict('six.moves.cPickle', 'loads'), 'dangerous');
    assert.equal(verdict('tensorflow.compat.v1.io', 'write_file'), 'dangerous');
    assert.equal(verdict('numpy.lib', 'load'), 'dangerous');
    assert.equal(verdict('torch.storage', 'UntypedStorage.from_file'), 'dangerous');
    assert.equal(verdict('torch.utils.model_zoo', 'load_url'), 'dangerous');
    assert.equal(verdict('typing', 'get_type_hints'), 'dangerous');
    assert.equal(verdict('hydra.utils', 'instantiate'), 'dangerous');
    assert.equal(verdict('ldm.util', 'instantiate_from_config'), 'dangerous');
    // Boundaries: a vendoring segment before a harmless name, benign names that merely contain a sink word.
    assert.equal(verdict('mypkg.vendor.layers', 'Block'), 'unknown');
    assert.equal(verdict('mypkg.data', 'loader_config'), 'unknown');
    assert.equal(verdict('torch.distributed.checkpoint.metadata', 'Metadata'), 'safe');
    assert.equal(verdict('torch.distributed.checkpoint.filesystem', '_StorageInfo'), 'safe');
    assert.equal(verdict('torch.distributed.checkpoint', 'FileSystemReader'), 'dangerous');
    assert.equal(verdict('torch.serialization', '_get_layout'), 'safe');
    assert.equal(verdict('torch', 'Generator'), 'safe');
  });

  it('allows framework classes but not their functions', () => {
    assert.equal(verdict('sklearn.linear_model._logistic', 'LogisticRegression'), 'safe');
    assert.equal(verdict('sklearn.tree._tree', '__pyx_unpickle_Tree'), 'safe');
    assert.equal(verdict('sklearn.utils', 'check_array'), 'unknown');
    assert.equal(verdict('sklearn.externals._packaging.version', 'Version'), 'unknown');
    // A vendored copy of a dangerous name is as dangerous as the name (joblib.Memory).
    assert.equal(verdict('sklearn.externals.joblib', 'Memory'), 'dangerous');
    assert.equal(verdict('torch.nn.modules.linear', 'Linear'), 'safe');
    assert.equal(verdict('torch._utils', '_rebuild_tensor_v2'), 'safe');
    assert.equal(verdict('torch', 'float16'), 'safe');
    assert.equal(verdict('torch', 'load'), 'dangerous');
    assert.equal(verdict('torch.storage', '_load_from_bytes'), 'dangerous');
    assert.equal(verdict('numpy.core.multiarray', '_reconstruct'), 'safe');
    assert.equal(verdict('numpy', 'load'), 'dangerous');
    assert.equal(verdict('numpy', 'polyfit'), 'unknown');
  });

  it('flags attribute walks through dunders, into modules, and sink names', () => {
    assert.equal(verdict('collections', 'OrderedDict.__init__.__globals__'), 'dangerous');
    assert.equal(verdict('mylib', 'helpers.os.system'), 'dangerous');
    assert.equal(verdict('mylib', 'popen'), 'dangerous');
    assert.equal(verdict('mylib', 'Model.forward'), 'unknown');
    assert.equal(verdict('pathlib', 'Path.write_text'), 'dangerous');
    assert.equal(verdict('pathlib', 'Path'), 'safe');
  });
});
