import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fingerprintDataset, fingerprintToJson } from '../../src/data/fingerprint.js';
import { createKeySigner, generateKeyPair, hashArtifact, loadPrivateKey, loadPublicKey, signArtifact, verifyArtifact } from '../../src/integrity/index.js';
import { csv, DATA, ensureData, rejectsWithCode, workDir, writeQuery } from './helpers.js';

describe('data fingerprint', () => {
  let dir: string;
  let baseHash: string;
  const base = join(DATA, 'base.csv');

  before(async () => {
    ensureData();
    dir = workDir('fp');
    baseHash = (await fingerprintDataset(base)).contentHash.sha256;
  });

  it('keeps the content hash when rows are shuffled and the data is re-encoded (CSV → Parquet, JSON Lines, parts)', async () => {
    const shuffled = await writeQuery(`SELECT * FROM ${csv(base)} ORDER BY hash(id * 7919)`, join(dir, 'shuffled.csv'));
    const parquet = await writeQuery(`SELECT * FROM ${csv(base)} ORDER BY hash(id)`, join(dir, 'data.parquet'), 'parquet', ', ROW_GROUP_SIZE 4096');
    const jsonl = await writeQuery(`SELECT * FROM ${csv(base)}`, join(dir, 'data.jsonl'), 'json');
    // Floats written with a different physical type: amount as DECIMAL, age as DOUBLE.
    const retyped = await writeQuery(`SELECT id, label, CAST(amount AS DECIMAL(12,2)) AS amount, CAST(age AS DOUBLE) AS age, score, region, channel, text FROM ${csv(base)}`, join(dir, 'retyped.parquet'), 'parquet');
    const parts = join(dir, 'parts');
    mkdirSync(parts);
    await writeQuery(`SELECT * FROM ${csv(base)} WHERE id % 2 = 0`, join(parts, 'part-0.parquet'), 'parquet');
    await writeQuery(`SELECT * FROM ${csv(base)} WHERE id % 2 = 1`, join(parts, 'part-1.parquet'), 'parquet');
    for (const path of [shuffled, parquet, jsonl, retyped, parts]) {
      const fp = await fingerprintDataset(path);
      assert.equal(fp.rows, 20000, path);
      assert.equal(fp.contentHash.sha256, baseHash, `content hash changed for ${path}`);
    }
  });

  it('changes the content hash when one value of one row changes, or a row is duplicated or dropped', async () => {
    const variants = {
      value: `SELECT id, label, CASE WHEN id = 777 THEN amount + 0.01 ELSE amount END AS amount, age, score, region, channel, text FROM ${csv(base)}`,
      text: `SELECT id, label, amount, age, score, region, channel, CASE WHEN id = 5 THEN text || 'x' ELSE text END AS text FROM ${csv(base)}`,
      duplicated: `SELECT * FROM ${csv(base)} UNION ALL SELECT * FROM ${csv(base)} WHERE id = 1`,
      dropped: `SELECT * FROM ${csv(base)} WHERE id <> 9`,
      nulled: `SELECT id, label, amount, age, score, CASE WHEN id = 3 THEN NULL ELSE region END AS region, channel, text FROM ${csv(base)}`,
      renamed: `SELECT id, label, amount AS amount2, age, score, region, channel, text FROM ${csv(base)}`,
    };
    const seen = new Set([baseHash]);
    for (const [name, sql] of Object.entries(variants)) {
      const fp = await fingerprintDataset(await writeQuery(sql, join(dir, `${name}.csv`)));
      assert.ok(!seen.has(fp.contentHash.sha256), `${name} kept a content hash it should not have`);
      seen.add(fp.contentHash.sha256);
    }
  });

  it('is the same on every run, and its manifest is the one custody hash, sign and verify use', async () => {
    const a = fingerprintToJson(await fingerprintDataset(base));
    const b = fingerprintToJson(await fingerprintDataset(base));
    assert.deepEqual(a, b);
    const manifest = await hashArtifact(base);
    assert.deepEqual((a['digest'] as { sha256: string }).sha256, manifest.rootDigest);
    assert.deepEqual(a['resources'], manifest.resources);
    const { privateKeyPem, publicKeyPem } = generateKeyPair('p256');
    const signed = await signArtifact(base, { signer: createKeySigner(loadPrivateKey(privateKeyPem)) });
    assert.equal(signed.statement.subject[0]?.digest?.['sha256'], (a['digest'] as { sha256: string }).sha256);
    const proof = await verifyArtifact(base, { bundle: signed.bundle, publicKeys: [loadPublicKey(publicKeyPem)] });
    assert.equal(proof.digest.sha256, manifest.rootDigest);
  });

  it('hashes Parquet row groups and line-aligned text chunks that cover the file', async () => {
    const parquet = await writeQuery(`SELECT * FROM ${csv(base)}`, join(dir, 'groups.parquet'), 'parquet', ', ROW_GROUP_SIZE 2048');
    const fp = await fingerprintDataset(parquet);
    const groups = fp.parts[0]?.rowGroups ?? [];
    assert.ok(groups.length >= 5, `only ${groups.length} row groups`);
    assert.equal(groups.reduce((s, g) => s + (g.rows ?? 0), 0), 20000);
    for (const [i, g] of groups.entries()) if (i > 0) assert.ok(g.start >= (groups[i - 1]?.end ?? 0));
    const chunked = await fingerprintDataset(base, { chunkBytes: 100_000 });
    const chunks = chunked.parts[0]?.chunks ?? [];
    const bytes = readFileSync(base);
    assert.ok(chunks.length > 10);
    assert.equal(chunks[0]?.start, 0);
    assert.equal(chunks[chunks.length - 1]?.end, bytes.length);
    for (const [i, c] of chunks.entries()) {
      if (i > 0) assert.equal(c.start, chunks[i - 1]?.end);
      if (c.end < bytes.length) assert.equal(bytes[c.end - 1], 0x0a, `chunk ${i} does not end at a line end`);
    }
  });

  it('refuses data with unreadable rows (PARSE_ERROR): a fingerprint never covers part of a dataset', async () => {
    const ragged = join(dir, 'ragged.csv');
    writeFileSync(ragged, 'a,b\n1,2\n3,4,5\n6,7\n');
    await rejectsWithCode(fingerprintDataset(ragged), 'PARSE_ERROR');
  });
});
