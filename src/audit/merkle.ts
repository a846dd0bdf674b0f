import { hash } from 'node:crypto';
import { CustodyError } from '../core/errors.js';

/**
 * RFC 6962 / RFC 9162 Merkle tree hashing: leaf hash SHA-256(0x00 ‖ entry), interior node
 * SHA-256(0x01 ‖ left ‖ right), and the Merkle tree hash (MTH) that splits a list of n > 1 leaves
 * at k, the largest power of two smaller than n.
 *
 * Storage is by complete subtrees: node (level, index) is the hash of the 2^level leaves
 * [index·2^level, (index+1)·2^level). Every subtree the RFC recursion names is either such a node or
 * sits on the right edge of the tree, where it is the fold of O(log n) such nodes, so proofs and
 * roots for any size take O(log n) reads (see `NodeReader`).
 */

export const HASH_SIZE = 32;
/** MTH of the empty tree: SHA-256 of the empty string. */
export const EMPTY_ROOT: Buffer = hash('sha256', new Uint8Array(0), 'buffer');
/** Largest tree size handled: sizes and indexes stay exact JavaScript integers. */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;
// A valid proof for a tree below 2^53 leaves has at most 2·53 hashes; anything longer is refused unread.
const MAX_PROOF_LENGTH = 128;

/** A complete subtree: the hash of leaves [index·2^level, (index+1)·2^level). Level 0 is a leaf hash. */
export interface NodeId {
  level: number;
  index: number;
}

export interface StoredNode extends NodeId {
  hash: Uint8Array;
}

/** What proofs need from storage: complete-subtree hashes by id, in the order asked. */
export interface NodeReader {
  readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]>;
}

const LEAF_PREFIX = Buffer.from([0]);

/** SHA-256(0x00 ‖ data); a string is hashed as its UTF-8 bytes. */
export function hashLeaf(data: Uint8Array | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return hash('sha256', Buffer.concat([LEAF_PREFIX, bytes]), 'buffer');
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  const buffer = Buffer.allocUnsafe(1 + 2 * HASH_SIZE);
  buffer[0] = 1;
  buffer.set(left, 1);
  buffer.set(right, 1 + HASH_SIZE);
  return hash('sha256', buffer, 'buffer');
}

/** Largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function checkSize(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new CustodyError('AUDIT_PROOF_INVALID', `${what} must be a non-negative integer, found ${String(value)}`);
}

/**
 * The complete subtrees that make up leaves [begin, end), left to right, each as large as its
 * alignment allows. For a range the RFC recursion produces (begin a multiple of a power of two at
 * least end − begin) the sizes decrease, and the range's MTH is their fold from the right.
 */
export function decomposeRange(begin: number, end: number): NodeId[] {
  const nodes: NodeId[] = [];
  let position = begin;
  while (position < end) {
    let level = 0;
    let width = 1;
    while (position % (width * 2) === 0 && position + width * 2 <= end) {
      width *= 2;
      level += 1;
    }
    nodes.push({ level, index: position / width });
    position += width;
  }
  return nodes;
}

/** Folds subtree hashes (left to right, decreasing sizes) into the hash of their union. */
export function foldRight(hashes: readonly Uint8Array[]): Buffer {
  if (hashes.length === 0) return EMPTY_ROOT;
  let result: Buffer = Buffer.from(hashes[hashes.length - 1] as Uint8Array);
  for (let i = hashes.length - 2; i >= 0; i--) result = hashChildren(hashes[i] as Uint8Array, result);
  return result;
}

/**
 * The right edge of a growing tree: the complete subtrees of leaves [0, size), largest first. Appending
 * a leaf merges equal neighbours and reports the complete subtrees it finished, which a store keeps so
 * that any later proof is O(log n) reads. Appends cost one hash plus about one merge on average.
 */
export class CompactRange {
  private readonly nodes: Buffer[];
  private count: number;
  private readonly scratch = Buffer.allocUnsafe(1 + 2 * HASH_SIZE);

  /** `nodes` are the hashes of `decomposeRange(0, size)`, in that order. */
  constructor(size = 0, nodes: readonly Uint8Array[] = []) {
    checkSize(size, 'tree size');
    if (nodes.length !== decomposeRange(0, size).length) throw new CustodyError('AUDIT_STORE_CORRUPT', `a compact range of size ${size} needs ${decomposeRange(0, size).length} subtree hashes, found ${nodes.length}`);
    this.nodes = nodes.map((node) => Buffer.from(node));
    this.count = size;
    this.scratch[0] = 1;
  }

  get size(): number {
    return this.count;
  }

  /** Hashes of the complete subtrees of [0, size), largest first. */
  get hashes(): readonly Buffer[] {
    return this.nodes;
  }

  copy(): CompactRange {
    return new CompactRange(this.count, this.nodes);
  }

  /** Adds a leaf hash; returns the complete subtrees (level ≥ 1) that this leaf finished. */
  append(leafHash: Uint8Array): StoredNode[] {
    if (this.count >= MAX_TREE_SIZE) throw new CustodyError('INPUT_LIMIT', `the log is at its maximum size of ${MAX_TREE_SIZE} entries`);
    const finished: StoredNode[] = [];
    let index = this.count;
    let level = 0;
    let node: Buffer = Buffer.from(leafHash);
    while (index % 2 === 1) {
      const left = this.nodes.pop() as Buffer;
      this.scratch.set(left, 1);
      this.scratch.set(node, 1 + HASH_SIZE);
      node = hash('sha256', this.scratch, 'buffer');
      index = (index - 1) / 2;
      level += 1;
      finished.push({ level, index, hash: node });
    }
    this.nodes.push(node);
    this.count += 1;
    return finished;
  }

  /** Like `append` but without reporting finished subtrees (the verifier's hot path). */
  appendLeaf(leafHash: Buffer): void {
    let index = this.count;
    let node = leafHash;
    while (index % 2 === 1) {
      this.scratch.set(this.nodes.pop() as Buffer, 1);
      this.scratch.set(node, 1 + HASH_SIZE);
      node = hash('sha256', this.scratch, 'buffer');
      index = (index - 1) / 2;
    }
    this.nodes.push(node);
    this.count += 1;
  }

  /** MTH of leaves [0, size). */
  root(): Buffer {
    return foldRight(this.nodes);
  }
}

/** MTH of a list of leaf hashes, computed from scratch (tests, small inputs). */
export function rootOfLeaves(leafHashes: readonly Uint8Array[]): Buffer {
  const range = new CompactRange();
  for (const leaf of leafHashes) range.append(leaf);
  return range.root();
}

/** Reads the hashes of several leaf ranges [begin, end) with one `readNodes` call. */
async function readRangeHashes(reader: NodeReader, ranges: readonly (readonly [number, number])[]): Promise<Buffer[]> {
  const plans = ranges.map(([begin, end]) => decomposeRange(begin, end));
  const ids = plans.flat();
  const hashes = ids.length === 0 ? [] : await reader.readNodes(ids);
  if (hashes.length !== ids.length) throw new CustodyError('AUDIT_STORE_CORRUPT', `the store answered ${hashes.length} subtree hashes for ${ids.length} asked`);
  let offset = 0;
  return plans.map((plan) => {
    const slice = hashes.slice(offset, offset + plan.length);
    offset += plan.length;
    for (const h of slice) if (h.length !== HASH_SIZE) throw new CustodyError('AUDIT_STORE_CORRUPT', `the store holds a subtree hash of ${h.length} bytes`);
    return foldRight(slice);
  });
}

/** MTH of the first `size` leaves, from stored subtrees (O(log size) reads). */
export async function rootAt(reader: NodeReader, size: number): Promise<Buffer> {
  checkSize(size, 'tree size');
  if (size === 0) return EMPTY_ROOT;
  const [root] = await readRangeHashes(reader, [[0, size]]);
  return root as Buffer;
}

/** The leaf ranges whose hashes form PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), leaf side first. */
export function inclusionProofRanges(index: number, size: number): [number, number][] {
  checkSize(index, 'leaf index');
  checkSize(size, 'tree size');
  if (index >= size) throw new CustodyError('AUDIT_PROOF_INVALID', `leaf ${index} is not in a tree of ${size} leaves`);
  const ranges: [number, number][] = [];
  let begin = 0;
  let end = size;
  while (end - begin > 1) {
    const k = splitPoint(end - begin);
    if (index < begin + k) {
      ranges.push([begin + k, end]);
      end = begin + k;
    } else {
      ranges.push([begin, begin + k]);
      begin += k;
    }
  }
  return ranges.reverse();
}

/** The leaf ranges whose hashes form PROOF(m, D[0:n]) (RFC 9162 §2.1.4.1), in proof order. */
export function consistencyProofRanges(m: number, n: number): [number, number][] {
  checkSize(m, 'old tree size');
  checkSize(n, 'new tree size');
  if (m > n) throw new CustodyError('AUDIT_PROOF_INVALID', `no consistency proof from size ${m} to the smaller size ${n}`);
  if (m === 0 || m === n) return [];
  const ranges: [number, number][] = [];
  let begin = 0;
  let end = n;
  let whole = true; // SUBPROOF's flag b: the subtree is still the whole old tree's left part
  for (;;) {
    if (m === end) {
      if (!whole) ranges.push([begin, end]);
      break;
    }
    const k = splitPoint(end - begin);
    if (m <= begin + k) {
      ranges.push([begin + k, end]);
      end = begin + k;
    } else {
      ranges.push([begin, begin + k]);
      begin += k;
      whole = false;
    }
  }
  return ranges.reverse();
}

/** Inclusion proof for leaf `index` in the tree of the first `size` leaves (O(log size) reads). */
export async function inclusionProof(reader: NodeReader, index: number, size: number): Promise<Buffer[]> {
  return readRangeHashes(reader, inclusionProofRanges(index, size));
}

/** Consistency proof from the tree of `m` leaves to the tree of `n` leaves (O(log n) reads). */
export async function consistencyProof(reader: NodeReader, m: number, n: number): Promise<Buffer[]> {
  return readRangeHashes(reader, consistencyProofRanges(m, n));
}

function checkProof(proof: readonly Uint8Array[]): void {
  if (proof.length > MAX_PROOF_LENGTH) throw new CustodyError('AUDIT_PROOF_INVALID', `a proof of ${proof.length} hashes is longer than any valid one`);
  for (const h of proof) if (h.length !== HASH_SIZE) throw new CustodyError('AUDIT_PROOF_INVALID', `a proof hash has ${h.length} bytes, not ${HASH_SIZE}`);
}

function isOdd(value: number): boolean {
  return value % 2 === 1;
}

function half(value: number): number {
  return Math.floor(value / 2);
}

/**
 * Checks an inclusion proof (RFC 9162 §2.1.3.2) and returns nothing, or throws AUDIT_PROOF_INVALID.
 * Index and size arithmetic is exact for every safe integer (no 32-bit bit operations).
 */
export function verifyInclusion(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): void {
  checkSize(index, 'leaf index');
  checkSize(size, 'tree size');
  checkProof(proof);
  if (leafHash.length !== HASH_SIZE || root.length !== HASH_SIZE) throw new CustodyError('AUDIT_PROOF_INVALID', 'leaf hash and root must be 32 bytes');
  if (index >= size) throw new CustodyError('AUDIT_PROOF_INVALID', `leaf ${index} is not in a tree of ${size} leaves`);
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) throw new CustodyError('AUDIT_PROOF_INVALID', 'the inclusion proof is longer than the path to the root');
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new CustodyError('AUDIT_PROOF_INVALID', 'the inclusion proof is shorter than the path to the root');
  if (!r.equals(root)) throw new CustodyError('AUDIT_PROOF_INVALID', `the inclusion proof for leaf ${index} does not lead to the root of size ${size}`);
}

/**
 * Checks a consistency proof between the trees of `m` and `n` leaves (RFC 9162 §2.1.4.2); throws
 * AUDIT_PROOF_INVALID unless the old root is a prefix of the new one. m = n needs an empty proof and
 * equal roots; m = 0 needs an empty proof and the empty-tree root.
 */
export function verifyConsistency(m: number, n: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: readonly Uint8Array[]): void {
  checkSize(m, 'old tree size');
  checkSize(n, 'new tree size');
  checkProof(proof);
  if (oldRoot.length !== HASH_SIZE || newRoot.length !== HASH_SIZE) throw new CustodyError('AUDIT_PROOF_INVALID', 'roots must be 32 bytes');
  if (m > n) throw new CustodyError('AUDIT_PROOF_INVALID', `size ${m} cannot be a prefix of the smaller size ${n}`);
  if (m === n || m === 0) {
    if (proof.length !== 0) throw new CustodyError('AUDIT_PROOF_INVALID', `a consistency proof from size ${m} to ${n} must be empty`);
    const expected = m === 0 ? EMPTY_ROOT : newRoot;
    if (!Buffer.from(oldRoot).equals(expected)) throw new CustodyError('AUDIT_PROOF_INVALID', m === 0 ? 'the old root is not the root of the empty tree' : `two different roots for the same size ${m}`);
    return;
  }
  if (proof.length === 0) throw new CustodyError('AUDIT_PROOF_INVALID', `the consistency proof from size ${m} to ${n} is empty`);
  const path = [...proof];
  if (isPowerOfTwo(m)) path.unshift(oldRoot);
  let fn = m - 1;
  let sn = n - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Buffer = Buffer.from(path[0] as Uint8Array);
  let sr: Buffer = Buffer.from(path[0] as Uint8Array);
  for (const c of path.slice(1)) {
    if (sn === 0) throw new CustodyError('AUDIT_PROOF_INVALID', 'the consistency proof is longer than needed');
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new CustodyError('AUDIT_PROOF_INVALID', 'the consistency proof is shorter than needed');
  if (!fr.equals(oldRoot)) throw new CustodyError('AUDIT_PROOF_INVALID', `the consistency proof does not reproduce the old root of size ${m}`);
  if (!sr.equals(newRoot)) throw new CustodyError('AUDIT_PROOF_INVALID', `the consistency proof does not reproduce the new root of size ${n}`);
}

function isPowerOfTwo(value: number): boolean {
  let v = value;
  while (v > 1 && v % 2 === 0) v /= 2;
  return v === 1;
}
