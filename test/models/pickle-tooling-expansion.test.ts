// Imports of model-security tooling (high), and memory-exhaustion shapes measured as the nodes a tree walk of the
// loaded object visits (expansion.ts). Inputs are built here, opcode by opcode.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { modelsScanner } from '../../src/scanners/models/index.js';
import { analyseStream, BACK_REFERENCES_MIN, DEFAULT_ANALYSER_LIMITS, EXPANSION_MIN_NODES } from '../../src/scanners/models/pickle/analyser.js';
import { classifyGlobal, compileAllow } from '../../src/scanners/models/pickle/classify.js';
import { PickleCollector } from '../../src/scanners/models/pickle/collector.js';
import { measureExpansion } from '../../src/scanners/models/pickle/expansion.js';
import { pickleRules } from '../../src/scanners/models/pickle/index.js';
import { C_LIST, newContainer } from '../../src/scanners/models/pickle/values.js';

const b = (text: string): Buffer => Buffer.from(text, 'latin1');
const sbu = (s: string): string => `\x8c${String.fromCharCode(s.length)}${s}`;
const allow = compileAllow([]);

async function scan(data: Buffer): Promise<Finding[]> {
  return scanSource('model.pkl', new BufferSource(data), { scanners: [modelsScanner], config: defaultConfig(), knownRuleIds: new Set(pickleRules.map((r) => r.id)) });
}
const show = (findings: readonly Finding[]): string => findings.map((f) => `${f.severity} ${f.ruleId}: ${f.message}`).join('\n');

function collect(data: Buffer): PickleCollector {
  const collector = new PickleCollector(allow);
  analyseStream(data, 0, collector, { deadline: Date.now() + 60_000, limits: DEFAULT_ANALYSER_LIMITS, joblib: true, depth: 0, lenient: false });
  return collector;
}

describe('imports of model-security tooling', () => {
  it('classifies scanner, hook and restricted-unpickler modules (and their submodules) as dangerous, reported high', () => {
    for (const [module, name] of [
      ['fickling.hook', 'remove_hook'], ['fickling.hook', 'deactivate_safe_ml_environment'], ['fickling', 'some_func'], ['picklescan.scanner', 'scan_pickle_bytes'],
      ['modelscan', 'x'], ['modelaudit.scanners', 'y'], ['model_unpickler', 'SafeUnpickler'], ['saferpickle', 'z'], ['torch._weights_only_unpickler', '_get_allowed_globals'],
      ['sklearn.externals.fickling.hook', 'remove_hook'],
    ]) {
      const c = classifyGlobal(module!, name!, allow);
      assert.equal(c.verdict, 'dangerous', `${module}.${name}`);
      assert.equal(c.severity, 'high', `${module}.${name}`);
    }
  });

  it('leaves look-alike names alone (boundaries)', () => {
    for (const [module, name] of [['ficklingx', 'f'], ['mylib.fickling_helpers', 'g'], ['picklescanner', 'h'], ['torch._weights', 'w']]) {
      const c = classifyGlobal(module!, name!, allow);
      assert.notEqual(c.severity, 'high', `${module}.${name}`);
      assert.equal(c.verdict, 'unknown', `${module}.${name}`);
    }
  });

  it('reports a pickle that switches a loader hook off, through STACK_GLOBAL or GLOBAL, at high', async () => {
    for (const data of [b(`\x80\x04${sbu('fickling.hook')}${sbu('remove_hook')}\x93)R.`), b('cfickling.hook\nremove_hook\n)R.')]) {
      const findings = await scan(data);
      const hit = findings.find((f) => f.ruleId === 'models/pickle-dangerous-global');
      assert.equal(hit?.severity, 'high', show(findings));
      assert.match(hit?.message ?? '', /security tooling/);
    }
    // The rest of the load stays critical when it reaches a gadget.
    const both = await scan(b('cfickling.hook\nremove_hook\n)R0cposix\nsystem\n(Vid\ntR.'));
    assert.ok(both.some((f) => f.severity === 'critical' && /posix\.system/.test(f.message)), show(both));
  });
});

/** `levels` nested lists, each holding `fan` references (DUP) to the one below: fan^levels leaves. */
function laughsDup(levels: number, fan: number): Buffer {
  let s = `${'('.repeat(levels)}U\x03lol`;
  for (let i = 0; i < levels; i++) s += '2'.repeat(fan - 1) + 'l';
  return b(`${s}.`);
}
/** The same with memo references (BINPUT/BINGET) instead of DUP. */
function laughsMemo(levels: number, fan: number): Buffer {
  let s = `${'('.repeat(levels)}U\x03lolq\x00`;
  for (let i = 0; i < levels; i++) s += `${`h${String.fromCharCode(i)}`.repeat(fan - 1)}lq${String.fromCharCode(i + 1)}`;
  return b(`${s}.`);
}

describe('memory-exhaustion shapes', () => {
  it('measures a tree walk of nested shared references exactly (DUP and memo)', () => {
    const dup = collect(laughsDup(9, 10));
    assert.equal(dup.expansions[0]?.kind, 'walk');
    // 1 + 10 + 100 + … + 10^9 lists and strings: the walk of the outermost list.
    assert.equal(dup.expansions[0]?.count, (10 ** 10 - 1) / 9);
    const memo = collect(laughsMemo(9, 10));
    assert.equal(memo.expansions[0]?.kind, 'walk');
    assert.ok((memo.expansions[0]?.count ?? 0) >= 10 ** 9);
  });

  it('reports billion laughs high, and under an OrderedDict too', async () => {
    const findings = await scan(laughsDup(9, 10));
    assert.ok(findings.some((f) => f.ruleId === 'models/pickle-resource-exhaustion' && f.severity === 'high'), show(findings));
    const ordered = Buffer.concat([b('ccollections\nOrderedDict\n(('), laughsDup(9, 10).subarray(0, -1), b('U\x01k\x86ltR.')]);
    const found = await scan(ordered);
    assert.ok(found.some((f) => f.ruleId === 'models/pickle-resource-exhaustion'), show(found));
  });

  it('still measures sharing built empty first and filled afterwards', () => {
    // Lists L0..L7 made empty and memoized; then each L(i) gets ten references to L(i-1), L0 ten strings, last.
    let s = '';
    for (let i = 0; i < 8; i++) s += `]q${String.fromCharCode(i)}0`;
    for (let i = 7; i >= 1; i--) s += `h${String.fromCharCode(i)}(${`h${String.fromCharCode(i - 1)}`.repeat(10)}e0`;
    s += `h\x00(${'U\x03lol'.repeat(10)}e0h\x07.`;
    const walk = collect(b(s)).expansions.find((e) => e.kind === 'walk');
    // 1 + 10 + … + 10^7 lists and 10^8 strings.
    assert.equal(walk?.count, (10 ** 8 - 1) / 9 + 10 ** 8);
  });

  it('reports a container appended to itself many times (medium), not a few times', async () => {
    const many = (n: number): Buffer => b(`\x80\x04]\x94${'h\x00a'.repeat(n)}.`);
    const findings = await scan(many(60));
    const hit = findings.find((f) => f.ruleId === 'models/pickle-resource-exhaustion');
    assert.equal(hit?.severity, 'medium', show(findings));
    assert.match(hit?.message ?? '', /60 references/);
    assert.deepEqual((await scan(many(BACK_REFERENCES_MIN - 1))).filter((f) => f.ruleId === 'models/pickle-resource-exhaustion'), []);
    assert.equal(collect(many(BACK_REFERENCES_MIN)).expansions[0]?.kind, 'cycle');
  });

  it('leaves real sharing alone: many references to one object, one level of sharing, parent pointers (boundaries)', async () => {
    // 200,000 rows that all reference one 50-item list: 10^7 nodes but 50 per opcode.
    const row = `h\x00`;
    const shared = b(`\x80\x04(${'K\x01'.repeat(50)}lq\x00](${row.repeat(1000)}e${`(${row.repeat(1000)}e`.repeat(199)}.`);
    const collector = collect(shared);
    assert.deepEqual(collector.expansions, []);
    // A tree whose 100 children point back at their parent (one back-reference each).
    const tree = `}q\x00U\x08children(${'}U\x06parenth\x00s'.repeat(100)}ls.`;
    const parents = collect(b(tree));
    assert.deepEqual(parents.expansions, []);
    assert.deepEqual(parents.errors, []);
    // A fan just under both thresholds.
    assert.deepEqual(collect(laughsDup(6, 10)).expansions, []);
    assert.ok(EXPANSION_MIN_NODES > 10 ** 6);
  });

  it('measureExpansion cuts cycles and stops at its deadline with what it measured', () => {
    const a = newContainer(C_LIST);
    a.count = 2;
    a.kids = [a, a];
    const m = measureExpansion([a], Date.now() + 1000);
    assert.equal(m.maxNodes, 3);
    assert.equal(m.maxBack, 2);
    assert.equal(measureExpansion([], 0).maxNodes, 0);
  });
});
