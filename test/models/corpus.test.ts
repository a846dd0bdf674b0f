// The independent detection bar for the models scanner (corpus from scripts/fixtures/gen_models_corpus.py):
// every malicious file gets at least one critical or high finding; no benign file gets any.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeFindings, isSevere, loadCorpus, modelsScanOptions, readCorpusFile, scanBuffer, type CorpusFile } from './corpus-helpers.js';

const corpus = loadCorpus();
const options = modelsScanOptions();
const malicious = corpus.filter((f) => f.label === 'malicious');
const benign = corpus.filter((f) => f.label === 'benign');

/** Every technique family the issue names; the corpus must keep at least one file for each. */
const REQUIRED_TECHNIQUES = [
  'direct:os.system', 'direct:posix.system', 'direct:nt.system', 'direct:subprocess.Popen', 'direct:subprocess.check_output',
  'direct:builtins.eval', 'direct:builtins.exec', 'direct:builtins.__import__+getattr', 'direct:runpy._run_code', 'direct:webbrowser.open',
  'direct:socket.create_connection', 'direct:pip.main', 'direct:pkgutil.resolve_name', 'direct:code.InteractiveInterpreter.runsource',
  'direct:multiprocessing.util.spawnv_passfds', 'direct:pathlib.Path.write_text', 'direct:gzip.open', 'direct:marshal.loads+types.FunctionType',
  'direct:importlib.import_module+inspect.getattr_static', 'direct:numpy.testing._private.utils.runstring', 'direct:numpy.load(allow_pickle=True)',
  'gadget:operator.attrgetter(shutil.os)', 'gadget:operator.methodcaller+itemgetter(sys.modules)', 'gadget:functools.partial',
  'direct:torch.load', 'direct:ctypes.CDLL',
  'encoding:protocol-0', 'encoding:protocol-1', 'encoding:protocol-2', 'encoding:protocol-3', 'encoding:protocol-4', 'encoding:protocol-5',
  'encoding:GLOBAL in protocol 4', 'encoding:STACK_GLOBAL in protocol 2', 'encoding:memo STACK_GLOBAL (BINGET)', 'encoding:computed names (str.join)',
  'encoding:computed names (str.__add__)', 'encoding:FRAME shorter than content', 'encoding:opcode across FRAME boundary', 'encoding:opcodes across frames',
  'encoding:INST', 'encoding:OBJ', 'encoding:NEWOBJ', 'encoding:NEWOBJ_EX', 'encoding:BUILD __setstate__ gadget', 'encoding:EXT1', 'encoding:EXT2',
  'encoding:EXT4', 'encoding:PERSID', 'encoding:BINPERSID', 'nested:torch.storage._load_from_bytes', 'nested:pickle.loads',
  'broken:truncated after REDUCE', 'broken:garbage opcode after REDUCE', 'broken:stack underflow after REDUCE', 'concat:benign then malicious',
  'size:payload after 3 MiB', 'torch-zip:payload in data.pkl', 'zip:payload in non-pickle member (data/0)', 'zip:payload in non-pickle member (extra.txt)',
  'zip:duplicate entries (malicious second)', 'zip:duplicate entries (malicious first)', 'zip:local/central name mismatch', 'zip:wrong CRC',
  'zip:encrypted flag bit', 'zip:data-descriptor flag bit', 'polyglot:pickle+zip', 'torch-legacy:payload in main pickle',
  'torch-legacy:pickle hidden in raw storage data', 'torch-legacy-tar:payload in \'pickle\' member', 'numpy:object array payload',
  'numpy:npz with object array', 'joblib:payload in main pickle', 'joblib:zlib-compressed', 'joblib:gzip-compressed', 'joblib:bz2-compressed',
  'joblib:xz-compressed', 'joblib:lz4-compressed', 'joblib:payload in inline object-array pickle', 'compressed:gzip', 'compressed:bz2', 'compressed:xz',
  'unscannable:7z', 'unscannable:rar',
  'loaders:frame fetched with read(n) (pickle.load of a file)', "loaders:frame fetched with read(n) (torch.load's BytesIO)",
  'tooling:fickling.hook.remove_hook', 'broken:dangerous import then garbage (protocol 0)', 'memory:billion laughs (DUP)',
];

describe('models corpus: shape', () => {
  it('covers every technique the issue names', () => {
    const present = new Set(malicious.map((f) => f.technique));
    const missing = REQUIRED_TECHNIQUES.filter((t) => !present.has(t));
    assert.deepEqual(missing, [], `techniques without a malicious file: ${missing.join(', ')}`);
  });

  it('holds at least 1,000 benign pickles across protocols 0-5 and real-shaped PyTorch, numpy and joblib files', () => {
    const random = benign.filter((f) => f.technique.startsWith('random-values:'));
    assert.ok(random.length >= 1000, `only ${random.length} random benign pickles`);
    for (let proto = 0; proto <= 5; proto += 1) {
      assert.ok(random.some((f) => f.technique === `random-values:protocol-${proto}`), `no benign pickle with protocol ${proto}`);
    }
    for (const format of ['torch-zip', 'torch-legacy', 'torch-tar', 'npy', 'npz', 'joblib']) {
      assert.ok(benign.some((f) => f.format === format), `no benign ${format} file`);
    }
  });
});

describe('models corpus: every malicious file gets a critical or high finding', () => {
  for (const file of malicious) {
    it(`${file.technique} — ${file.path}`, async () => {
      const findings = await scanBuffer(file.path, readCorpusFile(file), options);
      assert.ok(
        findings.some(isSevere),
        `missed technique "${file.technique}" in ${file.path} (${file.description}; executes=${file.executes}): ${describeFindings(findings)}`,
      );
    });
  }
});

async function falsePositives(files: readonly CorpusFile[]): Promise<string[]> {
  const problems: string[] = [];
  for (const file of files) {
    const findings = await scanBuffer(file.path, readCorpusFile(file), options);
    const severe = findings.filter(isSevere);
    if (severe.length > 0) problems.push(`${file.path} (${file.technique}): ${describeFindings(severe)}`);
  }
  return problems;
}

describe('models corpus: no benign file gets a critical or high finding', () => {
  const groups = new Map<string, CorpusFile[]>();
  for (const file of benign) {
    const key = file.technique.startsWith('random-values:') ? file.technique : `${file.technique} — ${file.path}`;
    groups.set(key, [...(groups.get(key) ?? []), file]);
  }
  for (const [name, files] of groups) {
    it(`${name}${files.length > 1 ? ` (${files.length} files)` : ''}`, async () => {
      const problems = await falsePositives(files);
      assert.deepEqual(problems, [], `false positives:\n${problems.join('\n')}`);
    });
  }
});
