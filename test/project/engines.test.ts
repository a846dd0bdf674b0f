// Every machine here runs Node 20 and several packages' newest majors need Node 22: every package the
// lockfile installs must admit the lowest Node our own `engines` allows, so `npm ci` on Node 20 never
// installs code that declares it does not run there.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import semver from 'semver';

interface LockPackage {
  version?: string;
  engines?: { node?: string } | string[];
}

describe('engines', () => {
  it('every locked package admits the lowest Node version this package supports', () => {
    const own = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node;
    const lowest = semver.minVersion(own);
    assert.ok(lowest, `package.json engines.node is not a range: ${own}`);
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockPackage> };
    const refused: string[] = [];
    for (const [path, pkg] of Object.entries(lock.packages)) {
      const node = Array.isArray(pkg.engines) ? undefined : pkg.engines?.node;
      if (path === '' || node === undefined) continue;
      if (!semver.satisfies(lowest, node, { includePrerelease: true })) refused.push(`${path}@${pkg.version ?? '?'} needs node ${node}`);
    }
    assert.deepEqual(refused, [], `packages that do not run on Node ${lowest.version}`);
  });
});
