// Detection quality of `custody scan --only models` on the independent corpus (scripts/fixtures/gen_models_corpus.py):
// detection rate on malicious files, false-positive rate (critical/high) on benign files, a per-technique table,
// and scan time. Baseline, measured in the same run: a naive name-only denylist reader in Python —
// `pickletools.genops` over the raw file, zip members with pickle-like names and .npy bodies, collecting
// GLOBAL/INST names and STACK_GLOBAL operands that are the two string constants right before it, matched
// against a small picklescan-style default denylist. The ratio shows what Custody catches that such a
// genops + denylist scanner misses.
// Target: every malicious file gets a critical/high finding; no benign file does.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeFindings, isSevere, loadCorpus, modelsScanOptions, scanBuffer, type CorpusFile } from '../test/models/corpus-helpers.js';

const CORPUS = join('bench', '.work', 'models_corpus') + '/';

const BASELINE = String.raw`
import io, json, pickletools, sys, time, zipfile
DENY = {
    "builtins": {"eval", "exec", "compile", "open", "getattr", "apply", "breakpoint"},
    "__builtin__": {"eval", "exec", "compile", "open", "getattr", "apply", "breakpoint"},
    "os": "*", "posix": "*", "nt": "*", "subprocess": "*", "sys": "*", "socket": "*", "shutil": "*",
    "runpy": "*", "webbrowser": "*", "pty": "*", "pdb": "*", "bdb": "*", "commands": "*", "httplib": "*",
    "requests.api": "*", "aiohttp.client": "*", "asyncio": "*", "pickle": "*", "_pickle": "*",
    "numpy.testing._private.utils": "*", "functools": {"partial"}, "operator": {"attrgetter"},
    "torch.serialization": {"load"},
}
STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING"}
PICKLE_NAMES = (".pkl", ".pickle", ".joblib", ".dat", ".data", ".bin", ".pt", ".pth")

def names(data):
    found, ops = set(), []
    try:
        for op, arg, _pos in pickletools.genops(io.BytesIO(data)):
            ops.append((op.name, arg))
    except Exception:
        pass  # keep what was read before the error
    for i, (name, arg) in enumerate(ops):
        if name in ("GLOBAL", "INST"):
            found.add(tuple(arg.split(" ", 1)))
        elif name == "STACK_GLOBAL" and i >= 2:
            consts = [a for n, a in ops[max(0, i - 4):i] if n in STRINGS]
            if len(consts) >= 2:
                found.add((consts[-2], consts[-1]))
    return found

def denied(found):
    for module, name in found:
        rule = DENY.get(module)
        if rule == "*" or (rule is not None and name in rule):
            return True
    return False

def npy_body(data):
    if data[6] == 1:
        return data[10 + int.from_bytes(data[8:10], "little"):]
    return data[12 + int.from_bytes(data[8:12], "little"):]

def scan(data):
    if data[:4] == b"PK\x03\x04":
        try:
            z = zipfile.ZipFile(io.BytesIO(data))
            for info in z.infolist():
                member = z.read(info)
                if info.filename.endswith(".npy") and member[:6] == b"\x93NUMPY":
                    member = npy_body(member)
                elif not info.filename.endswith(PICKLE_NAMES):
                    continue
                if denied(names(member)):
                    return True
        except Exception:
            return False
        return False
    if data[:6] == b"\x93NUMPY":
        data = npy_body(data)
    return denied(names(data))

root, paths = sys.argv[1], json.load(sys.stdin)
started = time.perf_counter()
result = {p: scan(open(root + p, "rb").read()) for p in paths}
print(json.dumps({"detected": result, "seconds": time.perf_counter() - started}))
`;

function pct(n: number, d: number): string {
  return d === 0 ? 'n/a' : `${((100 * n) / d).toFixed(1)}%`;
}

async function main(): Promise<void> {
  const gen = spawnSync('python3', ['scripts/fixtures/gen_models_corpus.py', CORPUS], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (gen.status !== 0) throw new Error('corpus generation failed');
  const corpus = loadCorpus(CORPUS);
  const options = modelsScanOptions();
  const datas = corpus.map((f) => readFileSync(`${CORPUS}${f.path}`));
  const bytes = datas.reduce((s, d) => s + d.length, 0);

  const severe = new Map<string, boolean>();
  const notes = new Map<string, string>();
  const started = performance.now();
  for (const [i, file] of corpus.entries()) {
    const findings = await scanBuffer(file.path, datas[i]!, options);
    severe.set(file.path, findings.some(isSevere));
    notes.set(file.path, describeFindings(file.label === 'benign' ? findings.filter(isSevere) : findings));
  }
  const custodyMs = performance.now() - started;

  const baselineRun = spawnSync('python3', ['-c', BASELINE, CORPUS], { input: JSON.stringify(corpus.map((f) => f.path)), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (baselineRun.status !== 0) throw new Error(`baseline failed: ${baselineRun.stderr}`);
  const baseline = JSON.parse(baselineRun.stdout) as { detected: Record<string, boolean>; seconds: number };

  const malicious = corpus.filter((f) => f.label === 'malicious');
  const executing = malicious.filter((f) => f.executes);
  const benign = corpus.filter((f) => f.label === 'benign');
  const caught = (files: CorpusFile[], by: (f: CorpusFile) => boolean): number => files.filter(by).length;
  const byCustody = (f: CorpusFile): boolean => severe.get(f.path) === true;
  const byBaseline = (f: CorpusFile): boolean => baseline.detected[f.path] === true;
  const custodyHits = caught(malicious, byCustody);
  const baselineHits = caught(malicious, byBaseline);

  const out: string[] = [];
  out.push('## Models scanner detection (independent corpus)', '');
  out.push('Target: 100% of malicious files get a critical/high finding; 0 benign files do. Baseline: genops + small picklescan-style name denylist (Python), same corpus, same run.', '');
  out.push(`Corpus: ${malicious.length} malicious files (${executing.length} proven to run their payload under CPython), ${benign.length} benign files (${(bytes / 1048576).toFixed(1)} MiB).`, '');
  out.push('| | Custody | naive baseline |', '|---|---|---|');
  out.push(`| malicious detected (critical/high) | ${custodyHits}/${malicious.length} (${pct(custodyHits, malicious.length)}) | ${baselineHits}/${malicious.length} (${pct(baselineHits, malicious.length)}) |`);
  out.push(`| of which payload proven to run | ${caught(executing, byCustody)}/${executing.length} | ${caught(executing, byBaseline)}/${executing.length} |`);
  out.push(`| benign false positives | ${caught(benign, byCustody)}/${benign.length} (${pct(caught(benign, byCustody), benign.length)}) | ${caught(benign, byBaseline)}/${benign.length} (${pct(caught(benign, byBaseline), benign.length)}) |`);
  out.push(`| time | ${(custodyMs / 1000).toFixed(2)} s | ${baseline.seconds.toFixed(2)} s |`, '');
  const onlyCustody = malicious.filter((f) => byCustody(f) && !byBaseline(f)).length;
  const onlyBaseline = malicious.filter((f) => !byCustody(f) && byBaseline(f)).length;
  out.push(`Ratio: Custody detects ${baselineHits === 0 ? 'n/a' : (custodyHits / baselineHits).toFixed(2)}× as many malicious files as the baseline; ${onlyCustody} caught only by Custody, ${onlyBaseline} only by the baseline.`, '');

  out.push('| technique | files | Custody | baseline |', '|---|---|---|---|');
  const techniques = [...new Set(malicious.map((f) => f.technique))].sort();
  for (const t of techniques) {
    const files = malicious.filter((f) => f.technique === t);
    out.push(`| ${t} | ${files.length} | ${caught(files, byCustody)} | ${caught(files, byBaseline)} |`);
  }
  const misses = malicious.filter((f) => !byCustody(f));
  if (misses.length > 0) {
    out.push('', `Missed by Custody (${misses.length}):`, '');
    for (const f of misses) out.push(`- \`${f.path}\` (${f.technique}): ${notes.get(f.path)}`);
  }
  const fps = benign.filter(byCustody);
  if (fps.length > 0) {
    out.push('', `Benign files with a critical/high finding (${fps.length}):`, '');
    for (const f of fps.slice(0, 50)) out.push(`- \`${f.path}\`: ${notes.get(f.path)}`);
    if (fps.length > 50) out.push(`- … and ${fps.length - 50} more`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

await main();
