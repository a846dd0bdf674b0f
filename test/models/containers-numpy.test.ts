import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NpyError, describeDtype, parseNpyHeader, parsePyLiteral } from '../../src/scanners/models/containers/npy-header.js';
import { analysed, containerFindings, scanBuffer, scanFixture, withRule } from './containers-support.js';

function npy(header: string, data: Buffer, major = 1): Buffer {
  const pre = major === 1 ? 10 : 12;
  const pad = (64 - ((pre + header.length + 1) % 64)) % 64;
  const text = Buffer.from(header + ' '.repeat(pad) + '\n', 'latin1');
  const len = Buffer.alloc(major === 1 ? 2 : 4);
  if (major === 1) len.writeUInt16LE(text.length);
  else len.writeUInt32LE(text.length);
  return Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]), len, text, data]);
}

describe('npy header literal parser (no eval)', () => {
  it('parses the dict numpy writes', () => {
    const value = parsePyLiteral("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }");
    assert.ok(value instanceof Map);
    assert.equal(value.get('descr'), '<f4');
    assert.equal(value.get('fortran_order'), false);
    assert.deepEqual(value.get('shape'), { tuple: [3, 4] });
  });

  it('parses tuples, lists, escapes, Python 2 longs and None', () => {
    assert.deepEqual(parsePyLiteral('(1,)'), { tuple: [1] });
    assert.equal(parsePyLiteral('(1)'), 1);
    assert.deepEqual(parsePyLiteral('()'), { tuple: [] });
    assert.deepEqual(parsePyLiteral("[('a', '<f4'), ('b', '|O', (2,))]"), [{ tuple: ['a', '<f4'] }, { tuple: ['b', '|O', { tuple: [2] }] }]);
    assert.equal(parsePyLiteral("'\\xe9\\''"), "é'");
    assert.deepEqual(parsePyLiteral('(3L, 4L)'), { tuple: [3, 4] });
    assert.equal(parsePyLiteral('None'), null);
  });

  it('refuses code, names and unbalanced input', () => {
    for (const bad of ["__import__('os')", "{'a': b}", '(1, 2', "{'a' 1}", '[' .repeat(100) + ']'.repeat(100), "'abc", '1 2']) {
      assert.throws(() => parsePyLiteral(bad), NpyError, bad);
    }
  });

  it('sizes dtypes: scalars, strings, unicode, structured with sub-arrays; finds objects', () => {
    assert.deepEqual(describeDtype('<f8'), { itemSize: 8, hasObjects: false });
    assert.deepEqual(describeDtype('<U3'), { itemSize: 12, hasObjects: false });
    assert.deepEqual(describeDtype('|S5'), { itemSize: 5, hasObjects: false });
    assert.deepEqual(describeDtype('<M8[ns]'), { itemSize: 8, hasObjects: false });
    assert.deepEqual(describeDtype('|O'), { itemSize: 8, hasObjects: true });
    assert.deepEqual(describeDtype([{ tuple: ['x', '<f4'] }, { tuple: ['y', '<i2', { tuple: [2] }] }]), { itemSize: 8, hasObjects: false });
    assert.equal(describeDtype([{ tuple: ['x', [{ tuple: ['inner', '|O'] }]] }]).hasObjects, true);
    assert.throws(() => describeDtype('<x4'), NpyError);
  });

  it('requires exactly descr, fortran_order and a tuple shape', () => {
    assert.throws(() => parseNpyHeader(npy("{'descr': '<f4', 'shape': (1,)}", Buffer.alloc(4))), /keys/);
    assert.throws(() => parseNpyHeader(npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", Buffer.alloc(4))), /fortran_order/);
    assert.throws(() => parseNpyHeader(npy("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", Buffer.alloc(4))), /shape/);
    assert.equal(parseNpyHeader(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Buffer.alloc(4), 2)).version, '2.0');
  });
});

describe('numpy .npy and .npz files', () => {
  for (const file of ['float32.npy', 'fortran.npy', 'v2.npy', 'v3.npy', 'structured.npy', 'unicode.npy', 'scalar.npy', 'bool-complex.npy', 'datetime.npy', 'arrays.npz', 'compressed.npz']) {
    it(`${file}: clean`, async () => {
      const { findings } = await scanFixture(`numpy/${file}`);
      assert.deepEqual(containerFindings(findings), []);
    });
  }

  it('object arrays: medium npy-object-array, the pickle after the header is scanned', async () => {
    for (const [file, member] of [
      ['object-payload.npy', 'object data@128'],
      ['structured-object-payload.npy', 'object data@128'],
      ['object-payload.npz', 'x.npy!object data@128'],
    ] as const) {
      const outcome = await scanFixture(`numpy/${file}`);
      const hits = withRule(outcome.findings, 'models/npy-object-array');
      assert.equal(hits.length, 1, file);
      assert.equal(hits[0]?.severity, 'medium');
      assert.deepEqual(outcome.payloadAt, [member]);
      assert.ok(analysed(outcome), `${file}: the pickle analyser reports the payload`);
    }
    const benign = await scanFixture('numpy/object-benign.npy');
    assert.equal(withRule(benign.findings, 'models/npy-object-array').length, 1);
    assert.deepEqual(benign.payloadAt, []);
  });

  it('data shorter than shape × itemsize: low npy-malformed', async () => {
    const { findings } = await scanFixture('numpy/truncated.npy');
    const hits = withRule(findings, 'models/npy-malformed');
    assert.equal(hits.length, 1);
    assert.equal(hits[0]?.severity, 'low');
    assert.match(hits[0]?.message ?? '', /12 bytes; shape \(4,\) × 4-byte items needs 16/);
    const huge = await scanFixture('numpy/huge-shape.npy');
    assert.equal(withRule(huge.findings, 'models/npy-malformed')[0]?.severity, 'low');
  });

  it('bytes after the data: medium, and scanned (a pickle there is caught)', async () => {
    const plain = await scanFixture('numpy/trailing.npy');
    assert.equal(withRule(plain.findings, 'models/npy-malformed')[0]?.severity, 'medium');
    const outcome = await scanFixture('numpy/trailing-pickle.npy');
    assert.match(withRule(outcome.findings, 'models/npy-malformed')[0]?.message ?? '', /start like a pickle/);
    assert.deepEqual(outcome.payloadAt, ['trailing data@144']);
    assert.ok(analysed(outcome));
  });

  it('bad headers and versions are reported, never evaluated', async () => {
    for (const file of ['bad-header.npy', 'eval-header.npy', 'bad-version.npy']) {
      const { findings } = await scanFixture(`numpy/${file}`);
      assert.equal(withRule(findings, 'models/npy-malformed').length, 1, file);
    }
  });

  it('a dtype whose item size is past 2^53 is a malformed header, not a scan error', async () => {
    // '<f' with a 400-digit count sized to Infinity, and BigInt(Infinity) threw out of scan (core/scan-error).
    for (const descr of [`'<f${'9'.repeat(400)}'`, `[('a', '<f8', (1${'0'.repeat(300)}, 1${'0'.repeat(300)}))]`]) {
      const { findings } = await scanBuffer('a.npy', npy(`{'descr': ${descr}, 'fortran_order': False, 'shape': (1,), }`, Buffer.alloc(8)));
      assert.deepEqual(findings.map((f) => f.ruleId), ['models/npy-malformed'], descr);
    }
    assert.throws(() => describeDtype([{ tuple: ['a', '<f8', { tuple: [2 ** 52, 2 ** 52] }] }]), NpyError);
    // The largest safe count is still a dtype.
    assert.equal(describeDtype(`|S${Number.MAX_SAFE_INTEGER}`).itemSize, Number.MAX_SAFE_INTEGER);
  });

  it('an exact-size array at the boundary is clean; one byte more is trailing', async () => {
    const exact = npy("{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", Buffer.alloc(12));
    assert.deepEqual(containerFindings((await scanBuffer('a.npy', exact)).findings), []);
    const extra = npy("{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", Buffer.alloc(13));
    assert.equal(withRule((await scanBuffer('a.npy', extra)).findings, 'models/npy-malformed').length, 1);
  });
});
