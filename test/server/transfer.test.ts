import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RegistryClient } from '../../src/client/http.js';
import { isCustodyError } from '../../src/core/errors.js';
import { manifestOf, startTestRegistry, workDir } from './helpers.js';

const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * Files of several MiB through a listening server and the client `custody push`/`pull` use: both
 * sides read into and write from reused buffers, so every byte is checked at both ends.
 */
describe('transfers over HTTP', () => {
  it('uploads and downloads multi-MiB files intact, and refuses a file shorter than announced', async () => {
    const reg = await startTestRegistry();
    try {
      const url = await reg.app.listen({ port: 0, host: '127.0.0.1' });
      const client = new RegistryClient(url, reg.adminToken);
      await client.json('POST', '/v1/projects', { body: { name: 'p' } });
      const dir = workDir('transfer');
      const files = { 'a.bin': randomFillSync(Buffer.allocUnsafe(5 * 1024 * 1024 + 12345)), 'b.bin': randomFillSync(Buffer.allocUnsafe(3)), 'empty.bin': Buffer.alloc(0) };
      for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
      const manifest = await manifestOf(dir);
      const started = await client.json<{ uploadId: string; version: string; needed: string[] }>('POST', '/v1/projects/p/models/m/uploads', { body: { manifest } });
      assert.deepEqual([...started.needed].sort(), Object.keys(files).sort());

      // A file that ends before the size the request announced fails on the client, and the server keeps nothing.
      await assert.rejects(client.upload(`/v1/uploads/${started.uploadId}/files/a.bin`, join(dir, 'b.bin'), 1000), (e: unknown) => isCustodyError(e, 'IO_ERROR'));

      for (const [name, data] of Object.entries(files)) {
        const stored = await client.upload<{ sha256: string; size: number }>(`/v1/uploads/${started.uploadId}/files/${name}`, join(dir, name), data.length);
        assert.deepEqual([stored.sha256, stored.size], [sha(data), data.length], name);
      }
      await client.json('POST', `/v1/uploads/${started.uploadId}/commit`);

      for (const [name, data] of Object.entries(files)) {
        const path = join(dir, `${name}.pulled`);
        const out = await open(path, 'wx');
        try {
          assert.deepEqual(await client.download(`/v1/projects/p/models/m/versions/${started.version}/files/${name}`, out), { size: data.length });
        } finally {
          await out.close();
        }
        assert.equal(sha(readFileSync(path)), sha(data), name);
      }
    } finally {
      await reg.close();
    }
  });
});
