import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptCheckpoint, checkTreeHeadAdvance, EMPTY_ROOT, verifyLeafInclusion, type AuditLog } from '../../src/audit/index.js';
import { isCustodyError, type ErrorCode } from '../../src/core/errors.js';
import { KEY, OTHER_KEY, openLog, sampleEntry } from './helpers.js';

const code = (expected: ErrorCode) => (error: unknown) => isCustodyError(error, expected);

async function logOf(count: number, entry = sampleEntry, key = KEY): Promise<AuditLog> {
  const log = await openLog(undefined, key);
  for (let i = 0; i < count; i++) await log.append(entry(i));
  return log;
}

/** What a client asks of a server: its checkpoint now, and consistency proofs. */
function server(log: AuditLog): { calls: [number, number][]; fetchConsistencyProof(m: number, n: number): Promise<Buffer[]> } {
  const calls: [number, number][] = [];
  return { calls, fetchConsistencyProof: async (m, n) => (calls.push([m, n]), log.consistencyProof(m, n)) };
}

describe('client checkpoint memory (rollback and fork detection)', () => {
  it('accepts a first checkpoint, the same one again, and a larger one the consistency proof connects', async () => {
    const log = await logOf(10);
    const seen = await log.checkpoint();
    const remote = server(log);
    assert.equal((await acceptCheckpoint({ verifierKey: KEY.verifierKey, next: seen, ...remote })).size, 10);
    assert.equal((await acceptCheckpoint({ verifierKey: KEY.verifierKey, previous: seen, next: seen, ...remote })).size, 10);
    assert.deepEqual(remote.calls, [], 'same size: no proof needed');
    for (let i = 10; i < 25; i++) await log.append(sampleEntry(i));
    const later = await acceptCheckpoint({ verifierKey: KEY.verifierKey, previous: seen, next: await log.checkpoint(), ...remote });
    assert.equal(later.size, 25);
    assert.deepEqual(remote.calls, [[10, 25]]);
  });

  it('refuses a smaller checkpoint after a larger one was seen: AUDIT_ROLLBACK', async () => {
    const log = await logOf(8);
    const old = await log.checkpoint();
    for (let i = 8; i < 12; i++) await log.append(sampleEntry(i));
    const seen = await log.checkpoint();
    await assert.rejects(acceptCheckpoint({ verifierKey: KEY.verifierKey, previous: seen, next: old, ...server(log) }), code('AUDIT_ROLLBACK'));
  });

  it('refuses the same size with another root, and a larger tree that does not extend the one seen: AUDIT_FORK', async () => {
    const honest = await logOf(12);
    const forked = await logOf(12, (i) => (i === 5 ? { ...sampleEntry(i), decision: 'allow', hidden: true } : sampleEntry(i)));
    const seen = await honest.checkpoint();
    await assert.rejects(acceptCheckpoint({ verifierKey: KEY.verifierKey, previous: seen, next: await forked.checkpoint(), ...server(forked) }), code('AUDIT_FORK'), 'same size, other root');
    for (let i = 12; i < 20; i++) await forked.append(sampleEntry(i));
    await assert.rejects(acceptCheckpoint({ verifierKey: KEY.verifierKey, previous: seen, next: await forked.checkpoint(), ...server(forked) }), code('AUDIT_FORK'), 'larger, from the fork');
    const liar = { fetchConsistencyProof: async () => [EMPTY_ROOT] };
    for (let i = 12; i < 20; i++) await honest.append(sampleEntry(i));
    await assert.rejects(acceptCheckpoint({ verifierKey: KEY.verifierKey, previous: seen, next: await honest.checkpoint(), ...liar }), code('AUDIT_FORK'), 'a bad proof is not accepted');
    assert.equal((await acceptCheckpoint({ verifierKey: KEY.verifierKey, previous: seen, next: await honest.checkpoint(), ...server(honest) })).size, 20, 'the honest log moves on');
  });

  it('refuses a checkpoint not signed by the pinned key, or malformed, before comparing anything', async () => {
    const log = await logOf(3);
    const foreign = await (await logOf(3, sampleEntry, OTHER_KEY)).checkpoint();
    await assert.rejects(acceptCheckpoint({ verifierKey: KEY.verifierKey, next: foreign, ...server(log) }), code('KEY_UNTRUSTED'));
    const note = await log.checkpoint();
    await assert.rejects(acceptCheckpoint({ verifierKey: KEY.verifierKey, next: note.slice(0, -30) + '\n', ...server(log) }), (e: unknown) => isCustodyError(e) && ['AUDIT_CHECKPOINT_INVALID', 'SIGNATURE_INVALID'].includes(e.code));
    assert.throws(() => checkTreeHeadAdvance({ origin: 'a', size: 1, root: EMPTY_ROOT }, { origin: 'b', size: 1, root: EMPTY_ROOT }, []), code('AUDIT_FORK'), 'another log');
  });

  it('checks that an entry the log returned is included in a verified checkpoint', async () => {
    const log = await logOf(9);
    const checkpoint = await acceptCheckpoint({ verifierKey: KEY.verifierKey, next: await log.checkpoint(), ...server(log) });
    const [record] = await log.readEntries(4, 5);
    assert.ok(record);
    verifyLeafInclusion(record.leaf, 4, checkpoint, await log.inclusionProof(4));
    assert.throws(() => verifyLeafInclusion(record.leaf.replace('user', 'usr'), 4, checkpoint, []), code('AUDIT_PROOF_INVALID'));
  });
});
