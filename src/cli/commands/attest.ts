import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { defaultConfig } from '../../core/config.js';
import { CustodyError } from '../../core/errors.js';
import { isSeverity, type Severity } from '../../core/severity.js';
import {
  buildScanAttestation,
  collectTrainingProvenance,
  createKeySigner,
  digestArtifact,
  enumerateArtifact,
  serializeBundle,
  signStatement,
  SLSA_PROVENANCE_V1,
  TEST_RESULT_PREDICATE_TYPE,
  verifyAttestation,
  type ScanResultLike,
  type Signer,
  type Statement,
} from '../../integrity/index.js';
import { toPosix } from '../../core/walk.js';
import { scanErrorRule } from '../../scanners/core/rules.js';
import { runScan, type ScannedFile } from '../../scanners/engine.js';
import { allRules } from '../../scanners/index.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';
import { readVersion } from '../version.js';
import { parseJobs, writeOutputFile } from './hash.js';
import { readSigningKey } from './sign.js';
import { readVerificationKeys, reportFailure } from './verify.js';
import { dataRules } from '../../data/rules.js';
import { isRecord } from '../../core/json.js';
import { readRegularFile } from '../../core/safe-fs.js';
import { buildEvaluationStatement, EVALUATION_PREDICATE_TYPE } from '../../registry/evaluation.js';
import { escapeForTerminal as e } from '../../core/terminal.js';

/** `custody attest data` (its code is in data.ts, loaded with DuckDB only when it runs). */
const DATA_ATTEST_USAGE = `custody attest data CANDIDATE --baseline BASELINE --key PRIVATE.pem [options]
  Runs \`custody data check\` and signs its result as an in-toto test-result attestation whose
  subject is the candidate dataset; the tests are the data rule ids (${dataRules.length} rules).
    --baseline, --baseline-data, --contract, --label, --fail-on   as for custody data check
    --key-column COL        The key column (--key is the signing key here)
`;

const USAGE = `Usage: custody attest <provenance | evaluation | scan | data | verify> [options]

custody attest provenance --model PATH --builder-id URI --key PRIVATE.pem [options]
  An SLSA Provenance v1 statement for a training run, signed as a DSSE envelope in a Sigstore
  bundle. The subject is the output model (a file's SHA-256, or a directory's manifest digest).
    --model PATH            The trained model (file or directory)
    --model-name NAME       Subject name (default: the model path's basename)
    --dataset [NAME=]PATH   A dataset the run read, digested like the model; repeatable
    --repo URI --commit SHA The training code: repository and full commit id
    --entry-point PATH      The script or config that was run
    --lockfile PATH         The dependency lockfile (its SHA-256 is recorded)
    --image REF@sha256:HEX  The container image the job ran in, pinned by digest
    --param KEY=VALUE       A run parameter (VALUE is read as JSON when it parses); repeatable
    --params FILE           Parameters from a JSON object file
    --builder-id URI        Who ran the training (CI workflow, scheduler, cluster)
    --invocation-id ID      The job or run id
    --started TIME --finished TIME   RFC 3339 start and finish times

custody attest evaluation (--model PATH | --version DIGEST) --metric NAME=VALUE... --key PRIVATE.pem
  An evaluation attestation (docs/governance.md): the metrics a model version scored, signed, for a
  promotion policy's metric thresholds. Its subject is the version, by the same root digest that
  \`custody push\` prints; attach it with the push (--attestation) or later (\`custody models attach\`).
    --model PATH            The evaluated model (file or directory), digested as push does
    --version DIGEST        Or the version's id (64 hex digits), as push printed it
    --model-name NAME       Subject name (default: the model path's basename, or "model")
    --metric NAME=VALUE     A metric and its value (a finite number); repeatable
    --metrics FILE          Metrics from a JSON object file of names to numbers
    --dataset [NAME=]PATH   The evaluation data, digested like the model
    --evaluated-on TIME     When the evaluation ran (RFC 3339; default: now)

custody attest scan PATH... --key PRIVATE.pem [options]
  Scans PATH (or reads a saved \`custody scan --format json\` report) and wraps the result as an
  in-toto test-result attestation whose subjects are the scanned paths. Every file of a subject is
  scanned with every scanner (ignore files do not apply); a file of the subject that was not scanned
  (or a saved report that does not cover the subject) is a core/scan-error, so the result is never
  PASSED over files that were not scanned.
    --report FILE           Wrap this JSON report instead of scanning
    --fail-on SEVERITY      Findings at or above fail the test (default: high; none: never)
    --only LIST             Scanners to run (as for custody scan)

${DATA_ATTEST_USAGE}
custody attest verify PATH... --attestation FILE (--key PUBLIC.pem | --trusted-keys DIR)
  Checks the signature and that every PATH hashes to a subject of the attestation.
    --type TYPE             Require provenance | evaluation | scan | a predicate type URI
    --format FORMAT         text | json (default: text)

Common options:
  --key FILE                Private key to sign with (provenance, scan) or public key to verify with
  --passphrase-env VAR      Read the private key's passphrase from environment variable VAR
  --output FILE             Where to write the bundle (default: standard output)
  --jobs N                  Threads hashing at once, this one included
  -h, --help                Show this help

Exit codes: 0 done or verified; 1 verification failed (SIGNATURE_INVALID, KEY_UNTRUSTED,
BUNDLE_INVALID, SUBJECT_MISMATCH); 2 the tool could not run.
`;

function parseParam(value: string): [string, unknown] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new CustodyError('USAGE', `attest provenance: --param must be KEY=VALUE, found "${value}"`);
  const raw = value.slice(eq + 1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = raw; // not JSON: a plain string
  }
  return [value.slice(0, eq), parsed];
}

async function readJsonFile(command: string, io: CliIo, file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    throw new CustodyError('IO_ERROR', `${command}: cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CustodyError('PARSE_ERROR', `${command}: ${what} ${file} is not JSON: ${(error as Error).message}`, { cause: error });
  }
}

async function emitBundle(command: string, io: CliIo, statement: Statement, signer: Signer, output: string | undefined): Promise<void> {
  const text = serializeBundle(await signStatement(statement, signer));
  if (output !== undefined) {
    await writeOutputFile(command, io, output, text);
    io.stderr.write(`custody ${command}: wrote ${statement.predicateType} attestation for ${statement.subject.map((s) => e(s.name ?? '?')).join(', ')} to ${e(output)}\n`);
  } else io.stdout.write(text);
}

/** `[NAME=]PATH` as --dataset takes it: the name defaults to the path's last component. */
function parseNamedPath(text: string, cwd: string): { name: string; path: string } {
  const eq = text.indexOf('=');
  const path = eq > 0 ? text.slice(eq + 1) : text;
  const name = eq > 0 ? text.slice(0, eq) : path.replace(/\/+$/, '').split('/').pop() ?? path;
  return { name, path: resolve(cwd, path) };
}

async function runProvenance(args: string[], io: CliIo): Promise<number> {
  const command = 'attest provenance';
  const { values, positionals } = parseCommandArgs(command, args, {
    model: { type: 'string' },
    'model-name': { type: 'string' },
    dataset: { type: 'string', multiple: true },
    repo: { type: 'string' },
    commit: { type: 'string' },
    'entry-point': { type: 'string' },
    lockfile: { type: 'string' },
    image: { type: 'string' },
    param: { type: 'string', multiple: true },
    params: { type: 'string' },
    'builder-id': { type: 'string' },
    'invocation-id': { type: 'string' },
    started: { type: 'string' },
    finished: { type: 'string' },
    key: { type: 'string' },
    'passphrase-env': { type: 'string' },
    output: { type: 'string' },
    jobs: { type: 'string' },
  });
  if (positionals.length > 0) throw new CustodyError('USAGE', `${command}: unexpected argument "${positionals[0] ?? ''}"; the model is given with --model`);
  if (values.model === undefined) throw new CustodyError('USAGE', `${command}: --model PATH is required`);
  if (values['builder-id'] === undefined) throw new CustodyError('USAGE', `${command}: --builder-id URI is required (who ran the training)`);
  if ((values.repo === undefined) !== (values.commit === undefined)) throw new CustodyError('USAGE', `${command}: give --repo and --commit together`);
  const key = await readSigningKey(command, io, values.key, values['passphrase-env']);
  const jobs = parseJobs(command, values.jobs);

  const parameters: Record<string, unknown> = {};
  if (values.params !== undefined) {
    const file = await readJsonFile(command, io, values.params, 'parameters file');
    if (!isRecord(file)) throw new CustodyError('USAGE', `${command}: --params ${values.params} must hold a JSON object`);
    Object.assign(parameters, file);
  }
  for (const p of values.param ?? []) {
    const [k, v] = parseParam(p);
    parameters[k] = v;
  }
  const datasets = (values.dataset ?? []).map((d) => parseNamedPath(d, io.cwd));
  const statement = await collectTrainingProvenance({
    modelPath: resolve(io.cwd, values.model),
    ...(values['model-name'] === undefined ? {} : { modelName: values['model-name'] }),
    datasets,
    ...(values.repo !== undefined && values.commit !== undefined ? { source: { repository: values.repo, commit: values.commit, ...(values['entry-point'] ? { entryPoint: values['entry-point'] } : {}) } } : {}),
    ...(values.lockfile === undefined ? {} : { lockfilePath: resolve(io.cwd, values.lockfile) }),
    ...(values.image === undefined ? {} : { image: values.image }),
    parameters,
    builder: { id: values['builder-id'], version: { custody: readVersion() } },
    ...(values['invocation-id'] === undefined ? {} : { invocationId: values['invocation-id'] }),
    ...(values.started === undefined ? {} : { startedOn: values.started }),
    ...(values.finished === undefined ? {} : { finishedOn: values.finished }),
    ...(jobs === undefined ? {} : { jobs }),
  });
  await emitBundle(command, io, statement, createKeySigner(key), values.output);
  return EXIT.ok;
}

const MAX_METRICS_FILE_BYTES = 1024 * 1024;

async function runEvaluation(args: string[], io: CliIo): Promise<number> {
  const command = 'attest evaluation';
  const { values, positionals } = parseCommandArgs(command, args, {
    model: { type: 'string' },
    version: { type: 'string' },
    'model-name': { type: 'string' },
    metric: { type: 'string', multiple: true },
    metrics: { type: 'string' },
    dataset: { type: 'string' },
    'evaluated-on': { type: 'string' },
    key: { type: 'string' },
    'passphrase-env': { type: 'string' },
    output: { type: 'string' },
    jobs: { type: 'string' },
  });
  if (positionals.length > 0) throw new CustodyError('USAGE', `${command}: unexpected argument "${positionals[0] ?? ''}"; the model is given with --model or --version`);
  if ((values.model === undefined) === (values.version === undefined)) throw new CustodyError('USAGE', `${command}: give exactly one of --model PATH and --version DIGEST`);
  if (values.version !== undefined && !/^[0-9a-f]{64}$/.test(values.version)) throw new CustodyError('USAGE', `${command}: --version must be a version id of 64 lower-case hex digits`);
  if (values.metric === undefined && values.metrics === undefined) throw new CustodyError('USAGE', `${command}: give the metrics with --metric NAME=VALUE or --metrics FILE`);
  const evaluatedOn = values['evaluated-on'] ?? new Date().toISOString();
  if (Number.isNaN(Date.parse(evaluatedOn))) throw new CustodyError('USAGE', `${command}: --evaluated-on must be an RFC 3339 time`);
  const key = await readSigningKey(command, io, values.key, values['passphrase-env']);
  const jobs = parseJobs(command, values.jobs);

  const metrics: Record<string, unknown> = {};
  if (values.metrics !== undefined) {
    const bytes = await readRegularFile(resolve(io.cwd, values.metrics), { maxBytes: MAX_METRICS_FILE_BYTES });
    let file: unknown;
    try {
      file = JSON.parse(bytes.toString('utf8')) as unknown;
    } catch (error) {
      throw new CustodyError('PARSE_ERROR', `${command}: --metrics ${values.metrics} is not JSON: ${(error as Error).message}`, { cause: error });
    }
    if (!isRecord(file)) throw new CustodyError('USAGE', `${command}: --metrics ${values.metrics} must hold a JSON object of names to numbers`);
    Object.assign(metrics, file);
  }
  for (const m of values.metric ?? []) {
    const eq = m.indexOf('=');
    const value = eq > 0 ? Number(m.slice(eq + 1)) : Number.NaN;
    if (eq <= 0 || m.slice(eq + 1).trim() === '' || !Number.isFinite(value)) throw new CustodyError('USAGE', `${command}: --metric must be NAME=NUMBER, found "${m}"`);
    metrics[m.slice(0, eq)] = value;
  }
  const hashing = jobs === undefined ? {} : { jobs };
  const subject =
    values.model !== undefined
      ? await digestArtifact(resolve(io.cwd, values.model), hashing)
      : { name: values['model-name'] ?? 'model', digest: { sha256: values.version ?? '' } };
  const data = values.dataset === undefined ? undefined : parseNamedPath(values.dataset, io.cwd);
  const dataset = data === undefined ? undefined : { name: data.name, digest: (await digestArtifact(data.path, hashing)).digest };
  // buildEvaluationStatement checks the metrics (names, finite numbers, how many): BUNDLE_INVALID → a usage error here.
  let statement: Statement;
  try {
    statement = buildEvaluationStatement({ name: values['model-name'] ?? subject.name, digest: subject.digest }, { metrics: metrics as Record<string, number>, ...(dataset ? { dataset } : {}), evaluatedOn });
  } catch (error) {
    if (error instanceof CustodyError) throw new CustodyError('USAGE', `${command}: ${error.message}`, { cause: error });
    throw error;
  }
  await emitBundle(command, io, statement, createKeySigner(key), values.output);
  return EXIT.ok;
}

/** Reads the parts of a `custody scan --format json` report that an attestation records. */
function toScanResult(command: string, report: unknown, file: string): ScanResultLike {
  if (!isRecord(report) || !Array.isArray(report['findings']) || !isRecord(report['summary'])) {
    throw new CustodyError('PARSE_ERROR', `${command}: ${file} is not a custody scan JSON report (expected {findings: [...], summary: {...}})`);
  }
  const findings = (report['findings'] as unknown[]).map((f, i) => {
    if (!isRecord(f) || typeof f['ruleId'] !== 'string' || !isSeverity(f['severity'])) throw new CustodyError('PARSE_ERROR', `${command}: ${file} findings[${i}] has no ruleId or severity`);
    return { ruleId: f['ruleId'], severity: f['severity'] };
  });
  const summary = report['summary'];
  return {
    findings,
    summary: {
      ...(typeof summary['files'] === 'number' ? { files: summary['files'] } : {}),
      ...(Array.isArray(summary['scanners']) ? { scanners: summary['scanners'].filter((s): s is string => typeof s === 'string') } : {}),
    },
  };
}

/**
 * Files of the subject that a scan did not read with every scanner. The subject is what the attestation
 * names; a pass must cover all of it.
 */
export function findUncoveredFiles(subjectFiles: readonly string[], scanned: readonly ScannedFile[]): string[] {
  const covered = new Set<string>();
  for (const file of scanned) {
    if (file.coverage !== 'full') continue;
    covered.add(file.path);
    for (const other of file.alsoAt ?? []) covered.add(other);
  }
  return subjectFiles.filter((path) => !covered.has(toPosix(path)));
}

/** Why a saved report cannot vouch for every file of the subject (empty when it can, as far as it says). */
export function findReportGaps(summary: Record<string, unknown>, subjectFileCount: number): string[] {
  const gaps: string[] = [];
  const files = summary['files'];
  if (typeof files !== 'number') gaps.push('the report does not say how many files were scanned');
  else if (files < subjectFileCount) gaps.push(`the report covers ${files} file(s); the subject holds ${subjectFileCount}`);
  const ignored = summary['ignored'];
  if (typeof ignored === 'number' && ignored > 0) gaps.push(`${ignored} file(s) were scanned for high-risk content only (matched by ignore files)`);
  return gaps;
}

async function runScanAttestation(args: string[], io: CliIo): Promise<number> {
  const command = 'attest scan';
  const { values, positionals } = parseCommandArgs(command, args, {
    report: { type: 'string' },
    'fail-on': { type: 'string', default: 'high' },
    only: { type: 'string' },
    key: { type: 'string' },
    'passphrase-env': { type: 'string' },
    output: { type: 'string' },
    jobs: { type: 'string' },
  });
  if (positionals.length === 0) throw new CustodyError('USAGE', `${command}: give the PATH(s) that were or are to be scanned`);
  const failOn = values['fail-on'];
  if (failOn !== 'none' && !isSeverity(failOn)) throw new CustodyError('USAGE', `${command}: --fail-on must be critical, high, medium, low, info or none, found "${failOn}"`);
  const key = await readSigningKey(command, io, values.key, values['passphrase-env']);
  const jobs = parseJobs(command, values.jobs);
  const paths = positionals.map((p) => resolve(io.cwd, p));

  // The files the subjects name (the same enumeration as their digests): these, and only these, are scanned.
  const subjectFiles: string[] = [];
  for (const path of paths) subjectFiles.push(...(await enumerateArtifact(path)).files.map((f) => f.absPath));

  let result: ScanResultLike;
  let gaps: string[];
  if (values.report !== undefined) {
    const report = await readJsonFile(command, io, values.report, 'report');
    result = toScanResult(command, report, values.report);
    gaps = findReportGaps((report as { summary: Record<string, unknown> }).summary, subjectFiles.length);
  } else {
    const scan = await runScan({
      paths: subjectFiles,
      ...(values.only === undefined ? {} : { only: values.only.split(',').map((s) => s.trim()).filter(Boolean) }),
      config: defaultConfig(),
      gitignore: false,
    });
    result = scan;
    gaps = findUncoveredFiles(subjectFiles, scan.files ?? []).map((path) => `${path} was not scanned`);
  }
  if (gaps.length > 0) {
    // Never a pass over what was not scanned: each gap fails (or, with --fail-on none, warns) core/scan-error.
    result = { ...result, findings: [...result.findings, ...gaps.map(() => ({ ruleId: scanErrorRule.id, severity: scanErrorRule.severity }))] };
    io.stderr.write(`custody ${command}: the scan does not cover the whole subject, so it is recorded as ${scanErrorRule.id}:\n${gaps.slice(0, 20).map((g) => `  ${g}\n`).join('')}${gaps.length > 20 ? `  … and ${gaps.length - 20} more\n` : ''}`);
  }
  const scanners = new Set(result.summary.scanners ?? []);
  const subjects = [];
  for (const path of paths) {
    const artifact = await digestArtifact(path, jobs === undefined ? {} : { jobs });
    subjects.push({ name: artifact.name, digest: artifact.digest });
  }
  const statement = buildScanAttestation({
    subjects,
    result,
    failOn: failOn as Severity | 'none',
    rulesRun: allRules()
      .filter((r) => scanners.has(r.scanner) || r.scanner === 'core')
      .map((r) => r.id),
    toolVersion: readVersion(),
  });
  await emitBundle(command, io, statement, createKeySigner(key), values.output);
  return EXIT.ok;
}

const PREDICATE_ALIASES: Readonly<Record<string, string>> = { provenance: SLSA_PROVENANCE_V1, evaluation: EVALUATION_PREDICATE_TYPE, scan: TEST_RESULT_PREDICATE_TYPE };

async function runVerify(args: string[], io: CliIo): Promise<number> {
  const command = 'attest verify';
  const { values, positionals } = parseCommandArgs(command, args, {
    attestation: { type: 'string' },
    key: { type: 'string', multiple: true },
    'trusted-keys': { type: 'string' },
    type: { type: 'string' },
    format: { type: 'string', default: 'text' },
    jobs: { type: 'string' },
  });
  if (values.attestation === undefined) throw new CustodyError('USAGE', `${command}: --attestation FILE is required`);
  if (positionals.length === 0) throw new CustodyError('USAGE', `${command}: give the artifact PATH(s) the attestation is about`);
  if (values.format !== 'text' && values.format !== 'json') throw new CustodyError('USAGE', `${command}: --format must be text or json, found "${values.format}"`);
  const jobs = parseJobs(command, values.jobs);
  const publicKeys = await readVerificationKeys(command, io, values.key, values['trusted-keys']);
  const predicateType = values.type === undefined ? undefined : (PREDICATE_ALIASES[values.type] ?? values.type);
  let proof;
  try {
    proof = await verifyAttestation({
      bundlePath: resolve(io.cwd, values.attestation),
      publicKeys,
      artifacts: positionals.map((p) => resolve(io.cwd, p)),
      ...(predicateType === undefined ? {} : { predicateType }),
      ...(jobs === undefined ? {} : { jobs }),
    });
  } catch (error) {
    return reportFailure(command, io, error, values.format);
  }
  if (values.format === 'json') {
    io.stdout.write(`${JSON.stringify({ verified: true, predicateType: proof.predicateType, signer: proof.signer, subjects: proof.subjects, matched: proof.matched, verifiedAt: proof.verifiedAt, predicate: proof.statement.predicate }, null, 2)}\n`);
  } else {
    io.stdout.write(
      `verified ${proof.predicateType} attestation\n  signer ${proof.signer.method} ${proof.signer.algorithm} ${e(proof.signer.keyHint)}\n${proof.matched.map((m) => `  ${e(m.path)} = subject "${e(m.subject)}" sha256:${e(m.digest.sha256)}\n`).join('')}`,
    );
  }
  return EXIT.ok;
}

export const attestCommand: Command = {
  name: 'attest',
  summary: 'Make or verify signed attestations: SLSA provenance of a training run, evaluation metrics, scan results, data checks',
  usage: USAGE,
  run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === 'provenance') return runProvenance(rest, io);
    if (sub === 'evaluation') return runEvaluation(rest, io);
    if (sub === 'scan') return runScanAttestation(rest, io);
    if (sub === 'verify') return runVerify(rest, io);
    if (sub === 'data') return import('./data.js').then((m) => m.runDataAttestation(rest, io));
    return Promise.reject(new CustodyError('USAGE', `attest: expected a subcommand provenance, evaluation, scan, data or verify${sub === undefined ? '' : `, found "${sub}"`} (see \`custody attest --help\`)`));
  },
};
