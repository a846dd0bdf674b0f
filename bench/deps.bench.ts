// Advisory matching: 1,000 pinned requirements against an advisory export the size of OSV's PyPI
// export, as the whole CLI (`custody scan … --only deps --advisories export.zip`) and in-process.
// Baseline in the same run: Python reading every record of the same zip with zipfile + json.loads (the
// least any matcher has to do). Target: under 2 s for the whole CLI process.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AdvisoryDatabase } from '../src/scanners/deps/advisories.js';
import { canMeasureCli, measureProcess } from './cli-process.js';

const WORK = 'bench/.work/deps';
const RECORDS = 20_000;
const PINNED = 1_000;
mkdirSync(WORK, { recursive: true });

const names = readFileSync('data/pypi-popular.tsv', 'utf8').split('\n').map((l) => l.split('\t')[1]).filter((n): n is string => !!n);
const zip = join(WORK, 'osv-pypi.zip');
// The export: RECORDS advisories over the 8,000 most popular names, shaped like OSV's (aliases, two
// ranges, explicit versions, details text), written by Python's zipfile as OSV's own export is.
const generator = `
import json, random, sys, zipfile
random.seed(7)
names = sys.argv[2].split(',')
with zipfile.ZipFile(sys.argv[1], 'w', compression=zipfile.ZIP_DEFLATED) as z:
    for i in range(${RECORDS}):
        name = names[i % len(names)]
        major = random.randint(0, 5)
        doc = {"schema_version": "1.6.0", "id": f"PYSEC-2024-{i}", "modified": "2025-01-01T00:00:00Z",
               "aliases": [f"CVE-2024-{10000 + i}", f"GHSA-bench-{i:05d}"], "summary": f"synthetic advisory {i} for {name}",
               "details": "x" * random.randint(200, 1500),
               "affected": [{"package": {"ecosystem": "PyPI", "name": name, "purl": f"pkg:pypi/{name}"},
                             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": f"{major}.{random.randint(0, 9)}.{random.randint(0, 9)}"}]},
                                        {"type": "ECOSYSTEM", "events": [{"introduced": f"{major + 1}.0.0"}, {"fixed": f"{major + 1}.{random.randint(1, 9)}.0"}]}],
                             "versions": [f"{major}.0.{k}" for k in range(random.randint(0, 30))]}],
               "references": [{"type": "WEB", "url": f"https://example.invalid/{i}"}]}
        z.writestr(f"PYSEC-2024-{i}.json", json.dumps(doc))
`;
const made = spawnSync('python3', ['-c', generator, zip, names.slice(0, 8000).join(',')], { stdio: 'inherit' });
if (made.status !== 0) throw new Error('advisory export generation failed');
const reqDir = join(WORK, 'project');
mkdirSync(reqDir, { recursive: true });
writeFileSync(join(reqDir, 'requirements.txt'), names.slice(0, PINNED).map((n, i) => `${n}==${i % 6}.${i % 10}.${i % 7} --hash=sha256:${'a'.repeat(64)}`).join('\n') + '\n');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

// In-process: load the export, then match every pinned requirement.
const inProcess: number[] = [];
let matched = 0;
for (let run = 0; run < 3; run++) {
  const start = performance.now();
  const db = await AdvisoryDatabase.load(zip);
  matched = 0;
  for (let i = 0; i < PINNED; i++) matched += db.match('pypi', names[i]!, `${i % 6}.${i % 10}.${i % 7}`).advisories.length;
  inProcess.push((performance.now() - start) / 1000);
}

const baseline: number[] = [];
for (let run = 0; run < 3; run++) {
  const start = performance.now();
  spawnSync('python3', ['-c', 'import json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor n in z.namelist(): json.loads(z.read(n))', zip]);
  baseline.push((performance.now() - start) / 1000);
}

const cli: { seconds: number; rssMb: number }[] = [];
if (canMeasureCli()) {
  for (let run = 0; run < 3; run++) cli.push(measureProcess([process.execPath, 'bin/custody', 'scan', reqDir, '--only', 'deps', '--advisories', zip, '--format', 'json', '--fail-on', 'none']));
}
const cliSeconds = cli.length > 0 ? median(cli.map((c) => c.seconds)) : NaN;
const base = median(baseline);
console.log(`## bench/deps.bench.ts — advisory matching

Target: ${PINNED.toLocaleString('en')} pinned requirements against a ${RECORDS.toLocaleString('en')}-record OSV export (the size of OSV's PyPI export) in under 2 s, whole CLI process.

| measure | median of 3 |
|---|---|
| whole CLI (\`custody scan --only deps --advisories export.zip\`), start-up included | ${cliSeconds.toFixed(2)} s, peak RSS ${cli.length > 0 ? median(cli.map((c) => c.rssMb)).toFixed(0) : 'n/a'} MB |
| in-process: load export + match ${PINNED.toLocaleString('en')} versions (${matched} advisories matched) | ${median(inProcess).toFixed(2)} s |
| baseline: Python zipfile + json.loads of every record | ${base.toFixed(2)} s |

Ratio whole CLI / baseline: **${(cliSeconds / base).toFixed(2)}×** · target ${cliSeconds < 2 ? 'met' : 'NOT met'}.
`);
