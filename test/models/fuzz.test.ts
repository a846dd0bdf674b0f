// Whole-scanner fuzzing (bounded, fixed seed): mutated corpus files, structure-aware corruptions and random
// bytes go through `scanSource` with the models scanner. Every case must come back as an array of well-formed
// findings — no throw, no unhandled rejection, no hang, and no core/scan-error (which means a scanner threw).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { SEVERITIES } from '../../src/core/severity.js';
import type { FileScanOptions } from '../../src/scanners/file-scan.js';
import { loadCorpus, modelsScanOptions, readCorpusFile, scanBuffer } from './corpus-helpers.js';
import { mulberry32 } from '../support/random.js';

// Fixed by default; CUSTODY_FUZZ_SEED / CUSTODY_FUZZ_CASES allow longer exploratory campaigns by hand.
const SEED = Number(process.env['CUSTODY_FUZZ_SEED'] ?? 0x5eed_c0de);
const MUTATED_CASES = Number(process.env['CUSTODY_FUZZ_CASES'] ?? 3000);
const RANDOM_CASES = Math.ceil(MUTATED_CASES / 3);
/** A case still running after this long is reported as a hang (a guard, not a speed assertion). */
const HANG_GUARD_MS = 30_000;

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from empty list');
    return item;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i += 1) out[i] = this.int(256);
    return out;
  }
  /** An offset biased towards the start, where headers live. */
  offset(size: number): number {
    if (size === 0) return 0;
    return this.next() < 0.5 ? this.int(Math.min(size, 128)) : this.int(size);
  }
}

const INTERESTING_32 = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

type Mutation = (data: Buffer, rng: Rng, other: Buffer) => Buffer;

const MUTATIONS: Record<string, Mutation> = {
  bitFlips(data, rng) {
    const out = Buffer.from(data);
    const n = 1 + rng.int(8);
    for (let i = 0; i < n && out.length > 0; i += 1) {
      const at = rng.offset(out.length);
      out[at] = (out[at] ?? 0) ^ (1 << rng.int(8));
    }
    return out;
  },
  interestingBytes(data, rng) {
    const out = Buffer.from(data);
    for (let i = 0; i < 1 + rng.int(4) && out.length > 0; i += 1) out[rng.offset(out.length)] = rng.pick([0, 0xff, 0x7f, 0x80, 0x2e, 0x28, 0x93, 0x95]);
    return out;
  },
  interestingInt32(data, rng) {
    const out = Buffer.from(data);
    if (out.length < 4) return out;
    const at = Math.min(rng.offset(out.length), out.length - 4);
    out.writeUInt32LE(rng.pick(INTERESTING_32), at);
    return out;
  },
  truncate(data, rng) {
    return data.subarray(0, rng.int(data.length + 1));
  },
  insert(data, rng) {
    const at = rng.offset(data.length);
    return Buffer.concat([data.subarray(0, at), rng.bytes(1 + rng.int(64)), data.subarray(at)]);
  },
  remove(data, rng) {
    const at = rng.offset(data.length);
    return Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + 1 + rng.int(64)))]);
  },
  duplicate(data, rng) {
    const at = rng.offset(data.length);
    const chunk = data.subarray(at, at + 1 + rng.int(256));
    return Buffer.concat([data.subarray(0, at), chunk, chunk, chunk, data.subarray(at)]);
  },
  splice(data, rng, other) {
    return Buffer.concat([data.subarray(0, rng.int(data.length + 1)), other.subarray(rng.int(other.length + 1))]);
  },
  /** Corrupts zip records: sizes, counts and offsets in local, central and end-of-directory headers. */
  zipFields(data, rng) {
    const out = Buffer.from(data);
    const signatures = [0x04034b50, 0x02014b50, 0x06054b50, 0x08074b50];
    const hits: number[] = [];
    for (let i = 0; i + 4 <= out.length; i += 1) if (signatures.includes(out.readUInt32LE(i))) hits.push(i);
    if (hits.length === 0) return MUTATIONS['interestingInt32']!(data, rng, data);
    const base = rng.pick(hits);
    const field = base + 4 + 2 * rng.int(12);
    if (field + 4 <= out.length) out.writeUInt32LE(rng.pick(INTERESTING_32), field);
    return out;
  },
  /** Rewrites a pickle length-prefixed argument (FRAME, BINUNICODE, BINBYTES, LONG4...) with a hostile length. */
  pickleLengths(data, rng) {
    const out = Buffer.from(data);
    const ops = [0x95, 0x58, 0x42, 0x8d, 0x8e, 0x96, 0x8b, 0x54];
    const hits: number[] = [];
    for (let i = 0; i + 5 <= out.length && hits.length < 512; i += 1) if (ops.includes(out[i] ?? -1)) hits.push(i);
    if (hits.length === 0) return MUTATIONS['bitFlips']!(data, rng, data);
    const at = rng.pick(hits) + 1;
    out.writeUInt32LE(rng.pick(INTERESTING_32), at);
    return out;
  },
  /** Rewrites a .npy header dict with hostile but well-formed values. */
  npyHeader(data, rng) {
    const at = data.indexOf('{');
    const end = data.indexOf('}', at);
    if (data.subarray(0, 6).toString('latin1') !== '\x93NUMPY' || at < 0 || end < 0) return MUTATIONS['truncate']!(data, rng, data);
    const header = rng.pick([
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }",
      "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }",
      "{'descr': [('a', '<i4'), ('b', [('c', '|O')])], 'fortran_order': True, 'shape': (2, 2), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
      "{'descr': '<U999999999', 'fortran_order': False, 'shape': (1,), }",
      "{'descr': '<f8', 'shape': (1,), }",
      "{'descr': '<f8', 'fortran_order': __import__('os'), 'shape': (1,), }",
    ]);
    return Buffer.concat([data.subarray(0, at), Buffer.from(header, 'latin1'), data.subarray(end + 1)]);
  },
  /** Corrupts a tar header field (size, checksum, type flag, name) in a ustar block. */
  tarFields(data, rng) {
    const out = Buffer.from(data);
    const magic = out.indexOf('ustar');
    if (magic < 257) return MUTATIONS['bitFlips']!(data, rng, data);
    const block = magic - 257;
    const field = rng.pick([[124, 12], [148, 8], [156, 1], [0, 100], [345, 155]] as const);
    const value = rng.pick(['77777777777\0', '00000000000\0', '\x80\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff', 'L', '../../etc/x', '']);
    out.fill(0, block + field[0], block + field[0] + field[1]);
    out.write(value.slice(0, field[1]), block + field[0], 'latin1');
    return out;
  },
  /** Wraps the input in another container, so nested paths see broken content. */
  wrap(data, rng) {
    const kind = rng.int(3);
    if (kind === 0) return gzipSync(data, { level: 1 });
    if (kind === 1) return deflateSync(data, { level: 1 });
    return storedZip('archive/data.pkl', data);
  },
};

function storedZip(name: string, data: Buffer): Buffer {
  const nameBytes = Buffer.from(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(local.length + nameBytes.length + data.length, 16);
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

const MAGIC_PREFIXES: readonly Buffer[] = [
  Buffer.from([0x80, 0x02]), Buffer.from([0x80, 0x04, 0x95]), Buffer.from([0x80, 0x05]), Buffer.from('cos\nsystem\n'),
  Buffer.from('PK\x03\x04', 'latin1'), Buffer.from('PK\x05\x06', 'latin1'), Buffer.from('\x93NUMPY\x01\x00', 'latin1'),
  Buffer.from([0x1f, 0x8b, 0x08]), Buffer.from('BZh9'), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
  Buffer.from([0x5d, 0x00, 0x00]), Buffer.from([0x04, 0x22, 0x4d, 0x18]), Buffer.from([0x28, 0xb5, 0x2f, 0xfd]),
  Buffer.from([0x78, 0x9c]), Buffer.from('7z\xbc\xaf\x27\x1c', 'latin1'), Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1'), Buffer.alloc(0),
];

/** Opcodes with small random arguments: a pickle-shaped byte soup. */
function opcodeSoup(rng: Rng): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80, rng.int(6)])];
  const n = 1 + rng.int(200);
  for (let i = 0; i < n; i += 1) {
    const op = rng.pick([0x28, 0x29, 0x2e, 0x30, 0x31, 0x32, 0x4b, 0x4d, 0x4e, 0x52, 0x5d, 0x61, 0x62, 0x63, 0x65, 0x68, 0x71, 0x73, 0x74, 0x75, 0x7d, 0x81, 0x85, 0x86, 0x87, 0x88, 0x8c, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x51, 0x50, 0x82, 0x69, 0x6f, 0x42, 0x58]);
    parts.push(Buffer.from([op]));
    if (op === 0x63 || op === 0x69) parts.push(Buffer.from(`${rng.pick(['os', 'builtins', 'collections', 'numpy', 'torch._utils', ''])}\n${rng.pick(['system', 'eval', 'OrderedDict', 'x', ''])}\n`));
    else if (op === 0x8c) parts.push(Buffer.from([rng.int(12)]), rng.bytes(rng.int(12)));
    else if (op === 0x95 || op === 0x58 || op === 0x42) parts.push(rng.bytes(op === 0x95 ? 8 : 4));
    else if ([0x4b, 0x68, 0x71, 0x82].includes(op)) parts.push(Buffer.from([rng.int(256)]));
    else if (op === 0x4d) parts.push(rng.bytes(2));
    else if (op === 0x50) parts.push(Buffer.from(`${rng.int(100)}\n`));
  }
  return Buffer.concat(parts);
}

interface FuzzCase {
  name: string;
  path: string;
  data: Buffer;
  recipe?: Recipe;
}

function loadSeeds(): Map<string, Buffer> {
  // every malicious file and every real-shaped benign file, plus a slice of the random pickles
  const corpus = loadCorpus();
  const seeds = corpus.filter((f) => f.label === 'malicious' || !f.technique.startsWith('random-values:') || f.path.endsWith('0-p0.pkl') || f.path.endsWith('5-p5.pkl'));
  return new Map(seeds.map((f) => [f.path, readCorpusFile(f)]));
}

/** A replayable mutation: which corpus file, which mutations, and the seed of the bytes they use. */
interface Recipe {
  base: string;
  other: string;
  mutations: readonly string[];
  seed: number;
}

function mix(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

function applyRecipe(recipe: Recipe, seeds: ReadonlyMap<string, Buffer>): Buffer {
  const base = seeds.get(recipe.base);
  const other = seeds.get(recipe.other);
  if (!base || !other) throw new Error(`fuzz recipe names a file missing from the corpus: ${recipe.base} / ${recipe.other}`);
  const rng = new Rng(recipe.seed);
  let data = base;
  for (const name of recipe.mutations) {
    const mutation = MUTATIONS[name];
    if (!mutation) throw new Error(`fuzz recipe names an unknown mutation: ${name}`);
    data = mutation(data, rng, other);
  }
  return data;
}

/** Cases are produced lazily (mutated copies of multi-MiB files are not all held at once). */
function* generateCases(seeds: ReadonlyMap<string, Buffer>, seed: number, mutated: number, random: number): Generator<FuzzCase> {
  const plan = new Rng(seed);
  const paths = [...seeds.keys()];
  const names = Object.keys(MUTATIONS);
  for (let i = 0; i < mutated; i += 1) {
    const rounds = 1 + plan.int(3);
    const recipe: Recipe = { base: plan.pick(paths), other: plan.pick(paths), mutations: Array.from({ length: rounds }, () => plan.pick(names)), seed: mix(seed, i) };
    yield { name: `#${i} ${recipe.mutations.join('+')} of ${recipe.base}`, path: recipe.base, data: applyRecipe(recipe, seeds), recipe };
  }
  const rng = new Rng(mix(seed, -1));
  const extensions = ['pkl', 'pt', 'bin', 'npy', 'npz', 'joblib', 'pth', 'ckpt', 'gz', 'data'];
  for (let i = 0; i < random; i += 1) {
    const ext = rng.pick(extensions);
    const data = i % 3 === 0 ? opcodeSoup(rng) : Buffer.concat([rng.pick(MAGIC_PREFIXES), rng.bytes(rng.int(i % 5 === 0 ? 70_000 : 2048))]);
    yield { name: `#r${i} random ${i % 3 === 0 ? 'opcode soup' : 'bytes'} as .${ext}`, path: `fuzz/random-${i}.${ext}`, data };
  }
}

/**
 * Inputs that once broke a scanner, found by longer campaigns (CUSTODY_FUZZ_SEED / CUSTODY_FUZZ_CASES, which print
 * each failure's recipe) and replayed on every run. Recipes are regenerated from the corpus, not stored as bytes.
 */
const REGRESSIONS: readonly Recipe[] = [
  // pickle analyser: TypeError "Cannot read properties of undefined (reading 't')" in render() on mutated pickles
  { base: 'malicious/joblib/main-pickle-lz4.joblib', other: 'benign/random/value-0510-p0.pkl', mutations: ['tarFields', 'insert', 'zipFields'], seed: 304050052 },
  { base: 'benign/sklearn/pipeline-p4.pkl', other: 'benign/numpy/pickled-arrays-p2.pkl', mutations: ['duplicate', 'zipFields', 'remove'], seed: 3975998587 },
  { base: 'benign/sklearn/pipeline-p4.pkl', other: 'malicious/direct/subprocess-check-output.pkl', mutations: ['duplicate', 'interestingInt32', 'duplicate'], seed: 3630240614 },
  { base: 'benign/sklearn/pipeline-p2.pkl', other: 'malicious/direct/builtins-breakpoint.pkl', mutations: ['duplicate'], seed: 2086643851 },
];

function* regressionCases(seeds: ReadonlyMap<string, Buffer>): Generator<FuzzCase> {
  for (const [i, recipe] of REGRESSIONS.entries()) {
    yield { name: `regression ${i} ${recipe.mutations.join('+')} of ${recipe.base}`, path: recipe.base, data: applyRecipe(recipe, seeds), recipe };
  }
}

function checkShape(findings: unknown): string | undefined {
  if (!Array.isArray(findings)) return `returned ${typeof findings}, not an array`;
  for (const f of findings as Finding[]) {
    if (typeof f.ruleId !== 'string' || !f.ruleId.includes('/')) return `finding without a rule id: ${JSON.stringify(f).slice(0, 200)}`;
    if (!SEVERITIES.includes(f.severity)) return `finding ${f.ruleId} with severity ${String(f.severity)}`;
    if (typeof f.message !== 'string' || f.message.length === 0) return `finding ${f.ruleId} without a message`;
    if (f.ruleId === 'core/scan-error') return `a scanner threw: ${f.message}`;
  }
  return undefined;
}

/** With CUSTODY_FUZZ_DUMP=<dir>, failing inputs are written there for reproduction. */
function keep(c: FuzzCase): string {
  const recipe = c.recipe ? ` recipe: ${JSON.stringify(c.recipe)}` : '';
  const dir = process.env['CUSTODY_FUZZ_DUMP'];
  if (!dir) return recipe;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${SEED.toString(16)}-${c.name.split(' ')[0]?.replace('#', '') ?? 'case'}-${basename(c.path)}`);
  writeFileSync(file, c.data);
  return `${recipe} (input: ${file})`;
}

async function withHangGuard<T>(work: Promise<T>): Promise<T | 'hang'> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), HANG_GUARD_MS);
  });
  try {
    return await Promise.race([work, guard]);
  } finally {
    clearTimeout(timer);
  }
}

async function runCases(cases: Iterable<FuzzCase>, options: FileScanOptions): Promise<{ count: number; failures: string[] }> {
  const failures: string[] = [];
  let count = 0;
  for (const c of cases) {
    count += 1;
    try {
      const result = await withHangGuard(scanBuffer(c.path, c.data, options));
      const problem = result === 'hang' ? `no result after ${HANG_GUARD_MS} ms (hang)` : checkShape(result);
      if (problem) failures.push(`${c.name}: ${problem}${keep(c)}`);
    } catch (error) {
      failures.push(`${c.name}: threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}${keep(c)}`);
    }
  }
  return { count, failures };
}

describe('models scanner fuzzing', () => {
  const config = defaultConfig();
  config.limits = { ...config.limits, fileTimeoutMs: 10_000 };
  const options = modelsScanOptions(config);
  const seeds = loadSeeds();
  const total = MUTATED_CASES + RANDOM_CASES;

  it(`${total} mutated and random inputs (seed ${SEED.toString(16)}): no crash, no hang, no unhandled error`, { timeout: 15 * 60_000 }, async () => {
    const { count, failures } = await runCases(generateCases(seeds, SEED, MUTATED_CASES, RANDOM_CASES), options);
    assert.deepEqual(failures, [], `${failures.length} of ${count} fuzz cases failed (seed ${SEED.toString(16)}):\n${failures.join('\n')}`);
  });

  it(`${REGRESSIONS.length} inputs that once broke a scanner still scan cleanly`, { timeout: 5 * 60_000 }, async () => {
    const { count, failures } = await runCases(regressionCases(seeds), options);
    assert.equal(count, REGRESSIONS.length);
    assert.deepEqual(failures, [], `regressions:\n${failures.join('\n')}`);
  });
});
