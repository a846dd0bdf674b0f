// The store's paged version listing (what the console's versions page reads): the same order as the
// whole listing, a true total, and nothing past the end.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KyselyMetadataStore, openSqlite } from '../../src/store/kysely-store.js';

describe('MetadataStore.listVersionsPage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'custody-version-page-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('pages the whole listing in its order, counts every version and stops at the end', async () => {
    const store = await KyselyMetadataStore.openSqlite(openSqlite(join(dir, 'db.sqlite')));
    const project = await store.createProject({ name: 'p', createdBy: 'admin' });
    const artifact = await store.ensureArtifact(project.id, 'model', 'm');
    const other = await store.ensureArtifact(project.id, 'model', 'other');
    for (let i = 0; i < 23; i += 1) {
      const digest = i.toString(16).padStart(64, '0');
      await store.commitVersion({ uploadId: `u${i}`, artifactId: artifact.id, digest, manifest: '{}', files: [], bytes: 0, createdBy: 'admin', attachments: [] });
    }
    await store.commitVersion({ uploadId: 'x', artifactId: other.id, digest: 'f'.repeat(64), manifest: '{}', files: [], bytes: 0, createdBy: 'admin', attachments: [] });
    const whole = (await store.listVersions(artifact.id)).map((v) => v.digest);
    assert.equal(whole.length, 23);
    const paged: string[] = [];
    for (let offset = 0; offset < 30; offset += 10) {
      const page = await store.listVersionsPage(artifact.id, offset, 10);
      assert.equal(page.total, 23);
      paged.push(...page.versions.map((v) => v.digest));
    }
    assert.deepEqual(paged, whole);
    assert.deepEqual((await store.listVersionsPage(artifact.id, 23, 10)).versions, []);
    assert.deepEqual(await store.listVersionsPage(-1, 0, 10), { total: 0, versions: [] });
  });
});
