// The console's cookie flags as `custody registry serve` sets them: over plain HTTP they are not Secure
// (the browser would drop them), behind a TLS proxy (--secure-cookies) they are Secure with the
// __Host- prefix; always HttpOnly and SameSite=Strict.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { workDir } from '../server/helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'custody');

async function serve(extra: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'registry', 'serve', '--data-dir', join(workDir('console-cookies'), 'data'), '--port', '0', '--log-level', 'silent', '--no-scan', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolveUrl(m[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${String(code)}: ${err}`)));
  });
  return { child, url };
}

describe('console cookies from custody registry serve', () => {
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) {
      c.kill('SIGTERM');
      if (c.exitCode === null) await once(c, 'exit');
    }
  });

  for (const [label, extra, secure] of [['plain HTTP', [], false], ['--secure-cookies', ['--secure-cookies'], true]] as const) {
    it(`${label}: ${secure ? 'Secure and __Host-' : 'neither Secure nor __Host-'}, always HttpOnly and SameSite=Strict`, async () => {
      const { child, url } = await serve([...extra]);
      children.push(child);
      const response = await fetch(`${url}/console/sign-in`);
      assert.equal(response.status, 200);
      const cookies = response.headers.getSetCookie();
      assert.ok(cookies.length > 0, 'the sign-in page sets its form cookie');
      for (const cookie of cookies) {
        assert.match(cookie, /; HttpOnly/i);
        assert.match(cookie, /; SameSite=Strict/i);
        assert.equal(/; Secure/i.test(cookie), secure, cookie);
        assert.equal(cookie.startsWith('__Host-'), secure, cookie);
      }
    });
  }
});
