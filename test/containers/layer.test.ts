// The shared container layer (src/scanners/containers/): every scanner sees the members of compressed
// streams, tarballs and zips, each member once, with its member path. Fixtures and the planted item per
// scanner come from scripts/fixtures/gen_container_layer.py (adding a scanner is one line in its PLANTS).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import type { Scanner } from '../../src/core/scanner.js';
import { selectScanners } from '../../src/scanners/engine.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { allRules, SCANNERS, SELECTABLE_SCANNERS } from '../../src/scanners/index.js';

const FIXTURES = join('test', '.tmp', 'fixtures', 'container_layer');

interface Case {
  scanner: string;
  wrapper: string;
  /** Relative to planted/ (and clean/): `<scanner>/<file>`. */
  file: string;
  /** The member path a finding on the planted item carries. */
  member: string;
}
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { plants: Record<string, { rule: string }>; cases: Case[] };
const knownRuleIds = new Set(allRules().map((r) => r.id));

interface Outcome {
  findings: Finding[];
  /** How many times each target (the file itself is '') reached the scanners. */
  scanned: Map<string, number>;
}

/** Scans `<kind>/<scanner>/<file>` as `<scanner>/<file>` with these scanners plus a probe that counts the targets handed to them. */
async function scan(kind: 'planted' | 'clean' | 'special', file: string, scanners: readonly Scanner[]): Promise<Outcome> {
  const scanned = new Map<string, number>();
  const probe: Scanner = {
    name: 'probe',
    description: 'counts targets',
    rules: [],
    scan(target) {
      scanned.set(target.member ?? '', (scanned.get(target.member ?? '') ?? 0) + 1);
      return Promise.resolve();
    },
  };
  const source = await FileSource.open(join(FIXTURES, kind, file));
  try {
    const findings = await scanSource(file, source, { scanners: [...scanners, probe], config: defaultConfig(), knownRuleIds });
    return { findings, scanned };
  } finally {
    await source.close();
  }
}

const show = (findings: readonly Finding[]): string => findings.map((f) => `${f.ruleId} ${f.location.member ?? ''}: ${f.message}`).join('\n');

describe('container layer: a planted item is found inside every container, by every scanner', () => {
  it('has a planted item for every scanner --only can select', () => {
    assert.deepEqual(Object.keys(manifest.plants).sort(), [...SELECTABLE_SCANNERS].sort());
  });

  it('covers gzip, bzip2, zstd, tar, tar.gz, tgz, tar.xz, tar.bz2, zip, zip in tar.gz and tar.gz in zip for each', () => {
    for (const scanner of SELECTABLE_SCANNERS) {
      const wrappers = manifest.cases.filter((c) => c.scanner === scanner).map((c) => c.wrapper).sort();
      assert.deepEqual(wrappers, ['bzip2', 'gzip', 'tar', 'tar.bz2', 'tar.gz', 'tar.gz-in-zip', 'tar.xz', 'tgz', 'zip', 'zip-in-tar.gz', 'zstd'], scanner);
    }
  });

  for (const c of manifest.cases) {
    const rule = new RegExp(manifest.plants[c.scanner]?.rule ?? '^$');
    for (const [label, scanners] of [[`--only ${c.scanner}`, selectScanners([c.scanner])], ['every scanner', SCANNERS]] as const) {
      it(`${label}: ${c.wrapper} → ${c.file}!${c.member}`, async () => {
        const { findings, scanned } = await scan('planted', c.file, scanners);
        const hits = findings.filter((f) => rule.test(f.ruleId));
        assert.ok(hits.length > 0, `nothing from ${c.scanner}:\n${show(findings)}`);
        // Found at its member path, and only there: no second reading of the same bytes.
        assert.deepEqual([...new Set(hits.map((f) => f.location.member))], [c.member], show(findings));
        assert.ok(hits.every((f) => f.location.path === c.file));
        // A well-formed container says nothing about itself, and the planted item is all that is reported.
        assert.deepEqual(findings.filter((f) => !rule.test(f.ruleId)), [], show(findings));
        // Every member reached the scanners exactly once.
        assert.deepEqual([...scanned].filter(([, n]) => n !== 1), []);
        assert.equal(scanned.get(c.member), 1);
      });
    }
  }
});

describe('container layer: clean twins (negatives)', () => {
  for (const scanner of SELECTABLE_SCANNERS) {
    for (const file of readdirSync(join(FIXTURES, 'clean', scanner)).sort()) {
      it(`every scanner: clean ${scanner}/${file} has no findings, its members were scanned`, async () => {
        const { findings, scanned } = await scan('clean', `${scanner}/${file}`, SCANNERS);
        assert.deepEqual(findings, [], show(findings));
        assert.ok(scanned.size > 1, 'members reached the scanners');
        assert.deepEqual([...scanned].filter(([, n]) => n !== 1), []);
      });
    }
  }
});

describe('container layer: a tarball that is also a zip', () => {
  // A tarball whose last file is a zip ends in that zip's end record, so zip readers open the tarball
  // too; when the whole zip is that member, it is read once, as the member (the planted cases above:
  // zip-in-tar.gz, with no polyglot finding). These zips are not one member, so the tarball is read as a
  // zip as well, and said to be two things.
  for (const [file, extra] of [
    ['tar-then-zip.tar', 'containers/archive-unreadable'],
    ['zip-across-members.tar', 'models/zip-header-mismatch'],
  ] as const) {
    it(`${file}: the zip reading of the tarball is scanned and reported as a polyglot`, async () => {
      const { findings } = await scan('special', file, SCANNERS);
      const token = findings.filter((f) => f.ruleId === 'secrets/github-token');
      assert.ok(token.some((f) => f.location.member === 'config/prod.env'), show(findings));
      assert.ok(findings.some((f) => f.ruleId === 'models/zip-polyglot' && f.location.member === undefined), show(findings));
      assert.ok(findings.some((f) => f.ruleId === extra), show(findings));
    });
  }
});
