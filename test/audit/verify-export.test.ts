import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { canonicalJson, formatCheckpointLine, formatExportHeader, formatFinalLine, loadCheckpointSigner, signCheckpoint, verifyAuditExport, verifyCheckpoint, type AuditLog, type ExportVerification } from '../../src/audit/index.js';
import { isCustodyError } from '../../src/core/errors.js';
import { mulberry32 } from '../support/random.js';
import { firstDifference, KEY, makeExport, OTHER_KEY, sampleEntry, workDir } from './helpers.js';

// 60 entries, a checkpoint line every 10: line 1 header, entry i on line 2 + i + floor(i / 10), checkpoint
// of size 10k right after entry 10k − 1, the final line last (68 lines in all).
const COUNT = 60;
const POSITIONS = [0, 1, 9, 10, 11, 29, 30, 31, 45, 58, 59];

let original: string[];
let log: AuditLog;

const lineOfEntry = (i: number): number => 2 + i + Math.floor(i / 10);
const leafHashB64 = (line: string): string => createHash('sha256').update(Buffer.from([0])).update(line).digest('base64');

async function verifyLines(lines: readonly string[], label: string, verifierKey = KEY.verifierKey): Promise<ExportVerification> {
  const path = join(workDir(label.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)), 'audit.jsonl');
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
  return verifyAuditExport(path, { verifierKey });
}

/** Verifies a tampered copy and checks it fails naming exactly the first line that differs. */
async function expectFirstBadLine(tampered: string[], label: string): Promise<ExportVerification> {
  const expected = firstDifference(original, tampered);
  assert.ok(expected > 0, `${label}: the tamper changed nothing`);
  const result = await verifyLines(tampered, label);
  assert.equal(result.verified, false, `${label}: verified a tampered export`);
  assert.equal(result.failure?.line, expected, `${label}: named line ${result.failure?.line} (${result.failure?.kind}: ${result.failure?.message}), expected ${expected}`);
  return result;
}

function entryAt(i: number): number {
  return lineOfEntry(i) - 1; // index into the lines array
}

/** The entry line at position i of `lines`, rebuilt with other content and correct index and prev links. */
function forgedEntry(lines: readonly string[], position: number): string {
  const prevLine = position === 0 ? undefined : lines[entryAt(position - 1)];
  return `{"entry":${canonicalJson({ ...sampleEntry(position), actor: 'mallory' })},"index":${position},"prev":"${prevLine === undefined ? '' : leafHashB64(prevLine)}"}`;
}

describe('custody audit verify: an export that was not tampered with', () => {
  before(async () => {
    ({ lines: original, log } = await makeExport(COUNT, { interval: 10 }));
  });

  it('verifies, with the pinned key or with the key the export names', async () => {
    assert.equal(original.length, 68);
    assert.match(original[0] ?? '', /^\{"checkpointInterval":10,"format":"custody-audit-export",/);
    assert.equal(original[lineOfEntry(10) - 2], formatCheckpointLine(await log.checkpointAt(10)).trimEnd());
    const pinned = await verifyLines(original, 'clean');
    assert.deepEqual([pinned.verified, pinned.entries, pinned.intervalCheckpoints, pinned.keyPinned, pinned.checkpoint?.size], [true, 60, 6, true, 60]);
    const path = join(workDir('unpinned'), 'audit.jsonl');
    writeFileSync(path, original.map((l) => `${l}\n`).join(''));
    const unpinned = await verifyAuditExport(path);
    assert.deepEqual([unpinned.verified, unpinned.keyPinned], [true, false]);
  });

  it('verifies logs of every small size, with and without interval checkpoints, including the empty log', async () => {
    for (const [count, interval] of [[0, 10], [1, 10], [2, 1], [10, 10], [11, 10], [7, 1000], [33, 4]] as const) {
      const { path } = await makeExport(count, { interval, label: `size-${count}` });
      const result = await verifyAuditExport(path, { verifierKey: KEY.verifierKey });
      assert.equal(result.verified, true, `${count}/${interval}: ${result.failure?.message}`);
      assert.equal(result.entries, count);
      assert.equal(result.intervalCheckpoints, Math.floor(count / interval));
    }
  });
});

describe('custody audit verify: tampered entries are caught, naming the first bad line', () => {
  before(async () => {
    ({ lines: original, log } = await makeExport(COUNT, { interval: 10 }));
  });

  it('an edited entry (a value changed, the line still valid JSON)', async () => {
    for (const i of POSITIONS) {
      const tampered = [...original];
      tampered[entryAt(i)] = (tampered[entryAt(i)] ?? '').replace(/"actor":"user-/, '"actor":"USER-');
      const result = await expectFirstBadLine(tampered, `edit ${i}`);
      assert.equal(result.failure?.index, i);
      assert.equal(result.failure?.kind, 'edited');
    }
  });

  it('a changed byte anywhere in an entry line: its content, index, prev link or structure', async () => {
    for (const i of POSITIONS) {
      const line = original[entryAt(i)] ?? '';
      const offsets = [0, 1, 5, 12, Math.floor(line.length / 2), line.indexOf('"index":') + 8, line.length - 20, line.length - 3, line.length - 2, line.length - 1];
      for (const at of offsets) {
        const current = line[at] ?? '';
        const replacement = current === 'x' ? 'y' : /[0-9]/.test(current) ? String((Number(current) + 1) % 10) : 'x';
        const tampered = [...original];
        tampered[entryAt(i)] = line.slice(0, at) + replacement + line.slice(at + 1);
        const result = await expectFirstBadLine(tampered, `byte ${at} of entry ${i}`);
        assert.equal(result.failure?.index, i, `byte ${at} of entry ${i}`);
      }
    }
  });

  it('a deleted entry', async () => {
    for (const i of POSITIONS) {
      const tampered = [...original];
      tampered.splice(entryAt(i), 1);
      const result = await expectFirstBadLine(tampered, `delete ${i}`);
      assert.equal(result.failure?.index, i);
      assert.equal(result.failure?.kind, 'missing');
    }
    const tampered = [...original];
    tampered.splice(entryAt(20), 5);
    assert.equal((await expectFirstBadLine(tampered, 'delete 20-24')).failure?.index, 20);
  });

  it('an inserted entry: forged with correct index and link, forged with wrong fields, a repeat of the line before, a copy of a far line', async () => {
    for (const i of POSITIONS) {
      const inserts: [string, string][] = [
        [forgedEntry(original, i), 'forged, correct links'],
        [`{"entry":${canonicalJson({ actor: 'mallory' })},"index":999,"prev":"${leafHashB64('x')}"}`, 'forged, wrong links'],
        [original[entryAt(3)] ?? '', 'copy of entry 3'],
      ];
      for (const [line, label] of inserts) {
        const tampered = [...original];
        tampered.splice(entryAt(i), 0, line);
        await expectFirstBadLine(tampered, `insert ${label} before ${i}`);
      }
      const repeated = [...original];
      repeated.splice(entryAt(i) + 1, 0, original[entryAt(i)] ?? '');
      await expectFirstBadLine(repeated, `repeat entry ${i}`);
    }
    const appended = [...original];
    appended.splice(appended.length - 1, 0, forgedEntry(original, COUNT));
    const result = await expectFirstBadLine(appended, 'append a forged entry after the last');
    assert.equal(result.failure?.kind, 'inserted');
  });

  it('reordered entries: adjacent and distant swaps, an entry moved to the end', async () => {
    for (const i of POSITIONS) {
      for (const j of [i + 1, i + 7, 0].filter((j) => j !== i && j < COUNT)) {
        const tampered = [...original];
        [tampered[entryAt(i)], tampered[entryAt(j)]] = [original[entryAt(j)] ?? '', original[entryAt(i)] ?? ''];
        await expectFirstBadLine(tampered, `swap ${i} and ${j}`);
      }
      if (i < COUNT - 1) {
        const moved = [...original];
        const [line] = moved.splice(entryAt(i), 1);
        moved.splice(moved.length - 1, 0, line ?? '');
        await expectFirstBadLine(moved, `move ${i} to the end`);
      }
    }
  });

  it('a line split in two, a blank line, a line of garbage, an oversized line', async () => {
    for (const i of [0, 30, 59]) {
      const line = original[entryAt(i)] ?? '';
      const cases: [string[], string][] = [
        [[line.slice(0, 40), line.slice(40)], 'split'],
        [[''], 'blank line'],
        [['\u0000\u00ff garbage'], 'garbage'],
        [['{"entry":' + 'x'.repeat(600 * 1024)], 'oversized'],
      ];
      for (const [replacement, label] of cases) {
        const tampered = [...original];
        tampered.splice(entryAt(i), label === 'split' ? 1 : 0, ...replacement);
        await expectFirstBadLine(tampered, `${label} at ${i}`);
      }
    }
  });

  it('every link after an entry rewritten (a coherent forgery): caught at the next signed checkpoint, bounded to the entries since the last one that matched', async () => {
    const tampered = [...original];
    tampered[entryAt(33)] = (tampered[entryAt(33)] ?? '').replace('"actor":"user-', '"actor":"admin-');
    assert.notEqual(tampered[entryAt(33)], original[entryAt(33)]);
    for (let i = 34; i < COUNT; i++) {
      const parsed = JSON.parse(tampered[entryAt(i)] ?? '') as { entry: unknown; index: number };
      tampered[entryAt(i)] = `{"entry":${canonicalJson(parsed.entry)},"index":${i},"prev":"${leafHashB64(tampered[entryAt(i - 1)] ?? '')}"}`;
    }
    const final = JSON.parse(tampered.at(-1) ?? '') as { checkpoint: string };
    tampered[tampered.length - 1] = formatFinalLine(final.checkpoint, Buffer.from(leafHashB64(tampered[entryAt(COUNT - 1)] ?? ''), 'base64')).trimEnd();
    const result = await verifyLines(tampered, 'coherent rewrite');
    assert.equal(result.verified, false);
    assert.equal(result.failure?.kind, 'rewritten');
    assert.deepEqual(result.failure?.entries, { from: 30, to: 40 });
    assert.equal(result.failure?.line, lineOfEntry(30));
  });
});

describe('custody audit verify: tampered checkpoints, header and file', () => {
  before(async () => {
    ({ lines: original, log } = await makeExport(COUNT, { interval: 10 }));
  });

  /** The same checkpoint, signed by another key of the same name. */
  const reSigned = (note: string): string => signCheckpoint(verifyCheckpoint(note, KEY.verifierKey), loadCheckpointSigner(OTHER_KEY.privateKeyPem, OTHER_KEY.name));
  const flipSignature = (line: string): string => {
    const at = line.lastIndexOf(' ') + 10; // inside the base64 signature of the last signature line
    return line.slice(0, at) + (line[at] === 'A' ? 'B' : 'A') + line.slice(at + 1);
  };

  it('an interval checkpoint: altered signature, signed by another key, deleted, repeated, moved, or from another size', async () => {
    const at = lineOfEntry(30) - 2; // index of the checkpoint line of size 30
    const note = (JSON.parse(original[at] ?? '') as { checkpoint: string }).checkpoint;
    const cases: [(lines: string[]) => void, string, string][] = [
      [(l) => void (l[at] = flipSignature(l[at] ?? '')), 'signature altered', 'checkpoint-invalid'],
      [(l) => void (l[at] = formatCheckpointLine(reSigned(note)).trimEnd()), 'another key', 'checkpoint-invalid'],
      [(l) => void l.splice(at, 1), 'deleted', 'checkpoint-missing'],
      [(l) => void l.splice(at + 1, 0, l[at] ?? ''), 'repeated', 'checkpoint-misplaced'],
      [(l) => void l.splice(at + 2, 0, ...l.splice(at, 1)), 'moved one entry later', 'checkpoint-missing'],
      [(l) => void (l[at] = l[lineOfEntry(20) - 2] ?? ''), 'replaced by the one of size 20', 'checkpoint-misplaced'],
      [(l) => void (l[at] = (l[at] ?? '').replace('\\n30\\n', '\\n31\\n')), 'size edited', 'checkpoint-invalid'],
      [(l) => void (l[at] = '{"checkpoint":"not a note"}'), 'not a note', 'checkpoint-invalid'],
      [(l) => void (l[at] = '{"checkpoint":1}'), 'not a string', 'malformed'],
    ];
    for (const [apply, label, kind] of cases) {
      const tampered = [...original];
      apply(tampered);
      assert.equal((await expectFirstBadLine(tampered, label)).failure?.kind, kind, label);
    }
  });

  it('the final checkpoint: altered or truncated signature, another key, another size, a forked log of the same size, its link, removed, trailing lines', async () => {
    const last = original.length - 1;
    const final = JSON.parse(original[last] ?? '') as { checkpoint: string; prev: string };
    const { log: forked } = await makeExport(COUNT, { interval: 10, label: 'fork', entry: (i) => (i === 7 ? { ...sampleEntry(i), hidden: true } : sampleEntry(i)) });
    const cases: [(lines: string[]) => void, string][] = [
      [(l) => void (l[last] = flipSignature(l[last] ?? '')), 'signature altered'],
      [(l) => void (l[last] = formatFinalLine(final.checkpoint.replace(/[A-Za-z0-9+/]{20}=\n$/, '=\n'), Buffer.from(final.prev, 'base64')).trimEnd()), 'signature truncated'],
      [(l) => void (l[last] = formatFinalLine(reSigned(final.checkpoint), Buffer.from(final.prev, 'base64')).trimEnd()), 'another key'],
      [async (l) => void (l[last] = formatFinalLine(await log.checkpointAt(50), Buffer.from(final.prev, 'base64')).trimEnd()), 'a smaller size (rolled back)'],
      [async (l) => void (l[last] = formatFinalLine(await forked.checkpoint(), Buffer.from(final.prev, 'base64')).trimEnd()), 'same size from a forked log'],
      [(l) => void (l[last] = formatFinalLine(final.checkpoint, Buffer.alloc(32)).trimEnd()), 'its link to the last entry'],
      [(l) => void l.pop(), 'removed'],
      [(l) => void l.push(l[last] ?? ''), 'repeated'],
      [(l) => void l.push('{}'), 'a line after it'],
    ];
    for (const [apply, label] of cases) {
      const tampered = [...original];
      await apply(tampered);
      await expectFirstBadLine(tampered, `final: ${label}`);
    }
    const path = join(workDir('no-newline'), 'audit.jsonl');
    writeFileSync(path, original.join('\n'));
    const result = await verifyAuditExport(path, { verifierKey: KEY.verifierKey });
    assert.deepEqual([result.verified, result.failure?.kind, result.failure?.line], [false, 'truncated', original.length]);
  });

  it('the header: another key pinned, the header removed or its origin changed; an export re-signed by another key', async () => {
    const wrongKey = await verifyLines(original, 'other key pinned', OTHER_KEY.verifierKey);
    assert.deepEqual([wrongKey.verified, wrongKey.failure?.kind, wrongKey.failure?.line], [false, 'key-mismatch', 1]);
    await expectFirstBadLine(original.slice(1), 'header removed');
    await expectFirstBadLine([original[0]?.replace('"origin":"registry.test/audit"', '"origin":"elsewhere"') ?? '', ...original.slice(1)], 'origin changed');
    // A forger with another key re-signs every checkpoint and names the new key: only pinning catches it.
    const forged = original.map((line, i) => {
      if (i === 0) return formatExportHeader({ origin: OTHER_KEY.name, verifierKey: OTHER_KEY.verifierKey, checkpointInterval: 10 }).trimEnd();
      const parsed = JSON.parse(line) as { checkpoint?: string; prev?: string };
      if (parsed.checkpoint === undefined) return line;
      const note = reSigned(parsed.checkpoint);
      return parsed.prev === undefined ? formatCheckpointLine(note).trimEnd() : formatFinalLine(note, Buffer.from(parsed.prev, 'base64')).trimEnd();
    });
    const path = join(workDir('resigned'), 'audit.jsonl');
    writeFileSync(path, forged.map((l) => `${l}\n`).join(''));
    assert.deepEqual([(await verifyAuditExport(path)).verified, (await verifyAuditExport(path)).keyPinned], [true, false], 'integrity holds, the signer is not proven');
    const pinned = await verifyAuditExport(path, { verifierKey: KEY.verifierKey });
    assert.deepEqual([pinned.verified, pinned.failure?.kind, pinned.failure?.line], [false, 'key-mismatch', 1]);
  });

  it('a seeded random single tamper of any line (edit a byte, delete, insert a copy, swap) is caught at the first line that differs', async () => {
    const random = mulberry32(0x5eed_a0d1);
    const pick = (n: number): number => Math.floor(random() * n);
    for (let round = 0; round < 150; round++) {
      const tampered = [...original];
      const op = pick(4);
      const at = 1 + pick(original.length - 1); // not the header
      if (op === 0) {
        const line = tampered[at] ?? '';
        const where = pick(line.length);
        const replacement = 'xyz0189AZ"{},:'.charAt(pick(14));
        tampered[at] = line.slice(0, where) + replacement + line.slice(where + 1);
      } else if (op === 1) tampered.splice(at, 1);
      else if (op === 2) tampered.splice(1 + pick(original.length - 1), 0, original[at] ?? '');
      else {
        const other = 1 + pick(original.length - 1);
        [tampered[at], tampered[other]] = [original[other] ?? '', original[at] ?? ''];
      }
      if (firstDifference(original, tampered) === 0) continue;
      await expectFirstBadLine(tampered, `round ${round} op ${op} at ${at}`);
    }
  });

  it('tool errors are thrown with a code, not reported as tampering: a missing file, a FIFO, a malformed --key', async () => {
    const dir = workDir('tool-errors');
    await assert.rejects(verifyAuditExport(join(dir, 'missing.jsonl')), (e: unknown) => isCustodyError(e, 'PATH_NOT_FOUND'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(verifyAuditExport(fifo), (e: unknown) => isCustodyError(e, 'SPECIAL_FILE'));
    await assert.rejects(verifyAuditExport(join(dir, 'missing.jsonl'), { verifierKey: 'not+a+key' }), (e: unknown) => isCustodyError(e, 'AUDIT_CHECKPOINT_INVALID'));
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    assert.equal((await verifyAuditExport(empty)).failure?.kind, 'header-invalid');
  });
});
