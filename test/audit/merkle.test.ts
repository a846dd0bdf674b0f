import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CompactRange,
  consistencyProof,
  decomposeRange,
  EMPTY_ROOT,
  hashChildren,
  hashLeaf,
  inclusionProof,
  MemoryAuditStore,
  rootAt,
  rootOfLeaves,
  verifyConsistency,
  verifyInclusion,
  type NodeId,
  type NodeReader,
} from '../../src/audit/index.js';
import { isCustodyError } from '../../src/core/errors.js';
import { leafData, readFixture } from './helpers.js';

interface Vectors {
  max: number;
  empty_root: string;
  sizes: { size: number; root: string; inclusion: string[][] }[];
  consistency: Record<string, string[]>;
}

const hex = (hashes: readonly Uint8Array[]): string[] => hashes.map((h) => Buffer.from(h).toString('hex'));

/** A store holding the first `size` leaves of the vector trees, built through CompactRange. */
async function vectorStore(size: number): Promise<MemoryAuditStore> {
  const store = new MemoryAuditStore();
  const range = new CompactRange();
  const entries = [];
  const nodes = [];
  for (let i = 0; i < size; i++) {
    const leafHash = hashLeaf(leafData(i));
    nodes.push(...range.append(leafHash));
    entries.push({ leaf: '', leafHash });
  }
  await store.appendBatch({ start: 0, entries, nodes, checkpoints: [] });
  return store;
}

function throwsProofInvalid(fn: () => void, label: string): void {
  assert.throws(fn, (error: unknown) => isCustodyError(error, 'AUDIT_PROOF_INVALID'), label);
}

describe('Merkle tree hashing (RFC 6962 §2.1)', () => {
  it('has the known answers: empty tree = SHA-256(""), one empty leaf = SHA-256(0x00), node = SHA-256(0x01‖l‖r)', () => {
    assert.equal(EMPTY_ROOT.toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(rootOfLeaves([]).toString('hex'), EMPTY_ROOT.toString('hex'));
    assert.equal(hashLeaf(new Uint8Array(0)).toString('hex'), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    const l = hashLeaf('a');
    const r = hashLeaf('b');
    assert.deepEqual(hashChildren(l, r), createHash('sha256').update(Buffer.from([1])).update(l).update(r).digest());
    assert.deepEqual(hashLeaf('é'), createHash('sha256').update(Buffer.from([0, 0xc3, 0xa9])).digest(), 'strings are hashed as UTF-8');
    assert.equal(readFixture<Vectors>('vectors.json').empty_root, EMPTY_ROOT.toString('hex'));
  });

  it('matches the independent Python roots for every size 1..130, incrementally and from stored subtrees', async () => {
    const vectors = readFixture<Vectors>('vectors.json');
    const store = await vectorStore(vectors.max);
    const range = new CompactRange();
    for (const { size, root } of vectors.sizes) {
      range.append(hashLeaf(leafData(size - 1)));
      assert.equal(range.root().toString('hex'), root, `incremental root of size ${size}`);
      assert.equal((await rootAt(store, size)).toString('hex'), root, `stored root of size ${size}`);
    }
  });

  it('generates the Python inclusion proofs for every leaf of every size 1..130, and each verifies', async () => {
    const vectors = readFixture<Vectors>('vectors.json');
    const store = await vectorStore(vectors.max);
    for (const { size, root, inclusion } of vectors.sizes) {
      const rootBytes = Buffer.from(root, 'hex');
      for (let index = 0; index < size; index++) {
        const proof = await inclusionProof(store, index, size);
        assert.deepEqual(hex(proof), inclusion[index], `PATH(${index}, D[${size}])`);
        verifyInclusion(hashLeaf(leafData(index)), index, size, proof, rootBytes);
      }
    }
  });

  it('generates the Python consistency proofs for every 1 ≤ m ≤ n ≤ 130, and each verifies', async () => {
    const vectors = readFixture<Vectors>('vectors.json');
    const store = await vectorStore(vectors.max);
    const roots = vectors.sizes.map((s) => Buffer.from(s.root, 'hex'));
    let pairs = 0;
    for (let n = 1; n <= vectors.max; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = await consistencyProof(store, m, n);
        assert.deepEqual(hex(proof), vectors.consistency[`${m},${n}`], `PROOF(${m}, D[${n}])`);
        verifyConsistency(m, n, roots[m - 1] as Buffer, roots[n - 1] as Buffer, proof);
        pairs += 1;
      }
    }
    assert.equal(pairs, 130 * 131 / 2);
    verifyConsistency(0, 5, EMPTY_ROOT, roots[4] as Buffer, []);
  });

  it('refuses every altered inclusion proof: a flipped byte, another index or size, a hash dropped or added, another leaf', async () => {
    const vectors = readFixture<Vectors>('vectors.json');
    const store = await vectorStore(vectors.max);
    for (const size of [2, 3, 7, 8, 9, 64, 100, 130]) {
      const root = Buffer.from((vectors.sizes[size - 1] as { root: string }).root, 'hex');
      for (const index of [0, 1, Math.floor(size / 2), size - 2, size - 1]) {
        const leaf = hashLeaf(leafData(index));
        const proof = await inclusionProof(store, index, size);
        verifyInclusion(leaf, index, size, proof, root);
        proof.forEach((_, at) => {
          const flipped = proof.map((h) => Buffer.from(h));
          const target = flipped[at] as Buffer;
          target.writeUInt8((target.readUInt8(at % 32) ^ 1) & 0xff, at % 32);
          throwsProofInvalid(() => verifyInclusion(leaf, index, size, flipped, root), `flip ${at} of ${index}/${size}`);
        });
        if (index + 1 < size) throwsProofInvalid(() => verifyInclusion(leaf, index + 1, size, proof, root), `index+1 ${index}/${size}`);
        const otherRoot = Buffer.from((vectors.sizes[size % vectors.max] as { root: string }).root, 'hex'); // the root of another size
        throwsProofInvalid(() => verifyInclusion(leaf, index, size + 1, proof, otherRoot), `root of another size ${index}/${size}`);
        throwsProofInvalid(() => verifyInclusion(leaf, index, size * 4, proof, root), `a size with a longer path ${index}/${size}`);
        throwsProofInvalid(() => verifyInclusion(leaf, index, size, proof.slice(1), root), `shorter ${index}/${size}`);
        throwsProofInvalid(() => verifyInclusion(leaf, index, size, [...proof, EMPTY_ROOT], root), `longer ${index}/${size}`);
        throwsProofInvalid(() => verifyInclusion(hashLeaf('other'), index, size, proof, root), `other leaf ${index}/${size}`);
      }
    }
    throwsProofInvalid(() => verifyInclusion(EMPTY_ROOT, 5, 5, [], EMPTY_ROOT), 'index beyond the tree');
    throwsProofInvalid(() => verifyInclusion(EMPTY_ROOT, 0, 1, [Buffer.alloc(31)], EMPTY_ROOT), 'a 31-byte hash');
    throwsProofInvalid(() => verifyInclusion(EMPTY_ROOT, 0, 1, Array.from({ length: 200 }, () => EMPTY_ROOT), EMPTY_ROOT), 'an overlong proof');
  });

  it('refuses every altered consistency proof, swapped roots and impossible sizes', async () => {
    const vectors = readFixture<Vectors>('vectors.json');
    const store = await vectorStore(vectors.max);
    const roots = vectors.sizes.map((s) => Buffer.from(s.root, 'hex'));
    for (const [m, n] of [[1, 2], [2, 3], [3, 7], [4, 8], [5, 130], [64, 65], [127, 128], [100, 130]] as const) {
      const proof = await consistencyProof(store, m, n);
      const oldRoot = roots[m - 1] as Buffer;
      const newRoot = roots[n - 1] as Buffer;
      proof.forEach((_, at) => {
        const flipped = proof.map((h) => Buffer.from(h));
        const target = flipped[at] as Buffer;
        target.writeUInt8(target.readUInt8(0) ^ 0x80, 0);
        throwsProofInvalid(() => verifyConsistency(m, n, oldRoot, newRoot, flipped), `flip ${at} of ${m}->${n}`);
      });
      throwsProofInvalid(() => verifyConsistency(m, n, newRoot, oldRoot, proof), `swapped roots ${m}->${n}`);
      throwsProofInvalid(() => verifyConsistency(m, n, roots[m] as Buffer, newRoot, proof), `wrong old root ${m}->${n}`);
      throwsProofInvalid(() => verifyConsistency(m, n, oldRoot, newRoot, proof.slice(0, -1)), `shorter ${m}->${n}`);
      throwsProofInvalid(() => verifyConsistency(m, n, oldRoot, newRoot, [...proof, EMPTY_ROOT]), `longer ${m}->${n}`);
      throwsProofInvalid(() => verifyConsistency(m, n, oldRoot, newRoot, []), `empty ${m}->${n}`);
    }
    throwsProofInvalid(() => verifyConsistency(5, 4, roots[4] as Buffer, roots[3] as Buffer, []), 'm > n');
    throwsProofInvalid(() => verifyConsistency(4, 4, roots[3] as Buffer, roots[4] as Buffer, []), 'same size, different roots');
    throwsProofInvalid(() => verifyConsistency(4, 4, roots[3] as Buffer, roots[3] as Buffer, [EMPTY_ROOT]), 'same size with a proof');
    throwsProofInvalid(() => verifyConsistency(0, 4, roots[0] as Buffer, roots[3] as Buffer, []), 'from zero: the old root must be the empty root');
    await assert.rejects(consistencyProof(store, 5, 4), (error: unknown) => isCustodyError(error, 'AUDIT_PROOF_INVALID'));
    await assert.rejects(inclusionProof(store, 4, 4), (error: unknown) => isCustodyError(error, 'AUDIT_PROOF_INVALID'));
  });

  it('answers proofs and roots in O(log n) subtree reads', async () => {
    const store = await vectorStore(5000);
    let reads = 0;
    const counting: NodeReader = {
      readNodes: async (ids: readonly NodeId[]) => {
        reads += ids.length;
        return store.readNodes(ids);
      },
    };
    const bound = 2 * Math.ceil(Math.log2(5000)) + 2;
    for (const [index, size] of [[0, 5000], [4999, 5000], [2500, 4097], [1234, 3333], [4095, 4096]] as const) {
      reads = 0;
      await inclusionProof(counting, index, size);
      assert.ok(reads <= bound, `inclusion ${index}/${size}: ${reads} reads`);
    }
    for (const [m, n] of [[1, 5000], [4096, 5000], [3333, 4999], [2047, 2049]] as const) {
      reads = 0;
      await consistencyProof(counting, m, n);
      assert.ok(reads <= bound, `consistency ${m}->${n}: ${reads} reads`);
    }
    reads = 0;
    await rootAt(counting, 4999);
    assert.ok(reads <= Math.ceil(Math.log2(5000)), `root: ${reads} reads`);
  });

  it('decomposes ranges into aligned complete subtrees and reports the subtrees each append finishes', () => {
    assert.deepEqual(decomposeRange(0, 13), [{ level: 3, index: 0 }, { level: 2, index: 2 }, { level: 0, index: 12 }]);
    assert.deepEqual(decomposeRange(8, 13), [{ level: 2, index: 2 }, { level: 0, index: 12 }]);
    assert.deepEqual(decomposeRange(3, 8), [{ level: 0, index: 3 }, { level: 2, index: 1 }]);
    const range = new CompactRange();
    const finished = Array.from({ length: 8 }, (_, i) => range.append(hashLeaf(leafData(i))).map((n) => `${n.level}/${n.index}`));
    assert.deepEqual(finished, [[], ['1/0'], [], ['1/1', '2/0'], [], ['1/2'], [], ['1/3', '2/1', '3/0']]);
    assert.throws(() => new CompactRange(5, [EMPTY_ROOT]), (error: unknown) => isCustodyError(error, 'AUDIT_STORE_CORRUPT'));
  });
});
