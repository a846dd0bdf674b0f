import { createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CustodyError } from '../../core/errors.js';
import { readRegularFile } from '../../core/safe-fs.js';
import { atLeast, isSeverity, type Severity } from '../../core/severity.js';
import { buildDataCheckAttestation, checkDataset, checkMemoryLimit, DATA_FORMATS, fingerprintDataset, fingerprintToJson, loadContract, profileDataset, readProfile, type DataCheckResult, type DataFormat, type DataProfile, type EngineOptions } from '../../data/index.js';
import { renderDataDetails } from '../../data/plots.js';
import type { DataContract } from '../../data/index.js';
import { createKeySigner, serializeBundle, signStatement } from '../../integrity/index.js';
import { renderReport, isReportFormat, REPORT_FORMATS } from '../../report/index.js';
import { formatBytes } from '../../report/text.js';
import { allRules } from '../../scanners/index.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';
import { readVersion } from '../version.js';
import { writeOutputFile } from './hash.js';
import { readSigningKey } from './sign.js';

const ENGINE_HELP = `Engine options:
  --data-format FORMAT  ${DATA_FORMATS.join(' | ')} (default: from the file names)
  --threads N           DuckDB threads (default: 2)
  --memory-limit SIZE   Memory bound of the whole run, e.g. 1GB, 2GB (default: 1GB); DuckDB gets
                        35 % of it and spills past that to a private temporary directory
  --temp-dir DIR        Where that temporary directory is made (default: the system's)
  --timeout SECONDS     Bound on each query (default: 1800); past it the run stops with INPUT_LIMIT`;

const USAGE = `Usage: custody data <fingerprint | profile | check> [options]

custody data fingerprint PATH [--output FILE] [--format json|text]
  Hashes a dataset (a CSV, TSV, JSON Lines or Parquet file, or a directory of parts) into an
  OMS-style manifest: SHA-256 per file (the same root digest \`custody hash\`, \`custody sign\` and
  \`custody verify\` use), per Parquet row group and per text chunk, plus a content hash that does not
  change when rows are reordered or the data is re-encoded, and changes when any value does.

custody data profile PATH [--label COL] [--key COL] --output BASELINE.json
  Profiles a dataset: schema, per-column statistics, label classes and per-segment label rates,
  duplicates, tokens, outliers. The JSON baseline is what \`data check\` compares against.
    --text COL            A text column for the trigger-token scan (repeatable; default: inferred)
    --segment COL         A segment column for label rates (repeatable; default: categorical columns)
    --content-hash        Also record the content hash (needed to freeze content in a contract)

custody data check CANDIDATE --baseline BASELINE [options]
  Compares a candidate with a baseline (a profile JSON, or the baseline data itself) and reports
  findings (rule ids data/…) in the same formats as \`custody scan\`.
    --baseline FILE|PATH  The baseline profile (.json from \`data profile\`) or the baseline data
    --baseline-data PATH  The baseline's data, for the row diff by key (must match the profile)
    --key COL --label COL Key and label columns (default: those of the profile)
    --contract FILE       Thresholds and frozen data (YAML; see docs/data.md)
    --format FORMAT       ${REPORT_FORMATS.join(' | ')} (default: text)
    --output FILE         Write the report to FILE
    --fail-on SEVERITY    Exit 1 when a finding is at or above: critical | high | medium | low | info |
                          none (default: high)
    --attest FILE         Also write a signed in-toto test-result attestation of the check to FILE
    --signing-key FILE    The private key for --attest; --passphrase-env VAR reads its passphrase

${ENGINE_HELP}
  -h, --help            Show this help

Exit codes: 0 done (check: no finding at or above --fail-on), 1 findings, 2 the tool could not run
(PARSE_ERROR, INPUT_LIMIT, UNSUPPORTED_FORMAT, DIGEST_MISMATCH, …).
`;

const ENGINE_OPTIONS = {
  'data-format': { type: 'string' },
  threads: { type: 'string' },
  'memory-limit': { type: 'string' },
  'temp-dir': { type: 'string' },
  timeout: { type: 'string' },
} as const;

interface EngineArgValues {
  'data-format'?: string | undefined;
  threads?: string | undefined;
  'memory-limit'?: string | undefined;
  'temp-dir'?: string | undefined;
  timeout?: string | undefined;
}

function engineOptionsFrom(command: string, io: CliIo, values: EngineArgValues): EngineOptions & { format?: DataFormat } {
  const out: EngineOptions & { format?: DataFormat } = {};
  const format = values['data-format'];
  if (format !== undefined) {
    if (!(DATA_FORMATS as readonly string[]).includes(format)) throw new CustodyError('USAGE', `${command}: --data-format must be one of ${DATA_FORMATS.join(', ')}, found "${format}"`);
    out.format = format as DataFormat;
  }
  if (values.threads !== undefined) {
    const threads = Number(values.threads);
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new CustodyError('USAGE', `${command}: --threads must be an integer from 1 to 256, found "${values.threads}"`);
    out.threads = threads;
  }
  if (values['memory-limit'] !== undefined) out.memoryLimit = checkMemoryLimit(values['memory-limit']);
  if (values['temp-dir'] !== undefined) out.tempDir = resolve(io.cwd, values['temp-dir']);
  if (values.timeout !== undefined) {
    const seconds = Number(values.timeout);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 7 * 24 * 3600) throw new CustodyError('USAGE', `${command}: --timeout must be a number of seconds, found "${values.timeout}"`);
    out.queryTimeoutMs = Math.round(seconds * 1000);
  }
  return out;
}

/** Progress on a terminal: the step being run, on one line of stderr. */
function stepLine(io: CliIo, command: string): { onStep?: (step: string) => void; done: () => void } {
  if (!io.stderrIsTTY) return { done: () => undefined };
  let shown = false;
  const started = Date.now();
  return {
    onStep(step) {
      shown = true;
      io.stderr.write(`\r\x1b[2K${command}: ${step}… (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    },
    done() {
      if (shown) io.stderr.write('\r\x1b[2K');
    },
  };
}

async function emit(command: string, io: CliIo, output: string | undefined, text: string): Promise<void> {
  if (output !== undefined) await writeOutputFile(command, io, output, text);
  else io.stdout.write(text);
}

async function runFingerprint(args: string[], io: CliIo): Promise<number> {
  const command = 'data fingerprint';
  const { values, positionals } = parseCommandArgs(command, args, { ...ENGINE_OPTIONS, output: { type: 'string' }, format: { type: 'string', default: 'json' } });
  if (positionals.length !== 1) throw new CustodyError('USAGE', `${command}: give exactly one dataset PATH (see \`custody data --help\`)`);
  if (values.format !== 'json' && values.format !== 'text') throw new CustodyError('USAGE', `${command}: --format must be json or text, found "${values.format}"`);
  const fp = await fingerprintDataset(resolve(io.cwd, positionals[0] ?? ''), engineOptionsFrom(command, io, values));
  const text =
    values.format === 'json'
      ? `${JSON.stringify(fingerprintToJson(fp), null, 2)}\n`
      : `# ${fp.manifest.name}: root sha256:${fp.manifest.rootDigest} (${fp.manifest.files} files, ${formatBytes(fp.manifest.bytes)})\n# content ${fp.contentHash.algorithm} sha256:${fp.contentHash.sha256} (${fp.rows} rows, ${fp.columns.length} columns, ${fp.format})\n${fp.manifest.resources.map((r) => `${r.digest}  ${r.name}\n`).join('')}`;
  await emit(command, io, values.output, text);
  return EXIT.ok;
}

async function runProfile(args: string[], io: CliIo): Promise<number> {
  const command = 'data profile';
  const { values, positionals } = parseCommandArgs(command, args, {
    ...ENGINE_OPTIONS,
    label: { type: 'string' },
    key: { type: 'string' },
    text: { type: 'string', multiple: true },
    segment: { type: 'string', multiple: true },
    'content-hash': { type: 'boolean', default: false },
    output: { type: 'string' },
  });
  if (positionals.length !== 1) throw new CustodyError('USAGE', `${command}: give exactly one dataset PATH (see \`custody data --help\`)`);
  const progress = stepLine(io, command);
  let profile: DataProfile;
  try {
    profile = await profileDataset(resolve(io.cwd, positionals[0] ?? ''), {
      ...engineOptionsFrom(command, io, values),
      ...(values.label === undefined ? {} : { label: values.label }),
      ...(values.key === undefined ? {} : { key: values.key }),
      ...(values.text === undefined ? {} : { text: values.text }),
      ...(values.segment === undefined ? {} : { segments: values.segment }),
      contentHash: values['content-hash'],
      ...(progress.onStep ? { onStep: progress.onStep } : {}),
    });
  } finally {
    progress.done();
  }
  await emit(command, io, values.output, `${JSON.stringify(profile, null, 1)}\n`);
  if (values.output !== undefined) io.stderr.write(`custody ${command}: ${profile.source.rows} rows, ${profile.columns.length} columns → ${values.output}\n`);
  return EXIT.ok;
}

async function readContract(io: CliIo, file: string | undefined): Promise<{ contract?: DataContract; ref?: { name: string; sha256: string } }> {
  if (file === undefined) return {};
  const path = resolve(io.cwd, file);
  const contract = await loadContract(path);
  const bytes = await readRegularFile(path, { maxBytes: 1024 * 1024 });
  return { contract, ref: { name: file.split('/').pop() ?? file, sha256: createHash('sha256').update(bytes).digest('hex') } };
}

/** A baseline given as a profile JSON (by content) or as data. */
async function isProfileFile(path: string): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile() || !/\.json$/i.test(path)) return false;
  return true;
}

interface CheckRun {
  result: DataCheckResult;
  contractRef?: { name: string; sha256: string };
}

async function runCheckCore(command: string, io: CliIo, candidate: string, values: EngineArgValues & { baseline?: string | undefined; 'baseline-data'?: string | undefined; contract?: string | undefined; key?: string | undefined; label?: string | undefined }): Promise<CheckRun> {
  if (values.baseline === undefined) throw new CustodyError('USAGE', `${command}: --baseline BASELINE is required (a profile from \`custody data profile\`, or the baseline data)`);
  const baselinePath = resolve(io.cwd, values.baseline);
  const { contract, ref } = await readContract(io, values.contract);
  let baseline: DataProfile | undefined;
  let baselineData: string | undefined = values['baseline-data'] === undefined ? undefined : resolve(io.cwd, values['baseline-data']);
  if (await isProfileFile(baselinePath)) baseline = await readProfile(baselinePath);
  else {
    if (baselineData !== undefined) throw new CustodyError('USAGE', `${command}: --baseline names data, so --baseline-data is not needed`);
    baselineData = baselinePath;
  }
  const key = values.key ?? baseline?.options.key;
  if (key !== undefined && baseline && baselineData === undefined) {
    throw new CustodyError('USAGE', `${command}: a check by key (${key}) compares rows, so it needs the baseline's data: give --baseline-data PATH (it must match the profile's digest)`);
  }
  const progress = stepLine(io, command);
  try {
    const result = await checkDataset(resolve(io.cwd, candidate), {
      ...engineOptionsFrom(command, io, values),
      ...(baseline ? { baseline } : {}),
      ...(baselineData === undefined ? {} : { baselineData }),
      ...(contract ? { contract } : {}),
      ...(values.key === undefined ? {} : { key: values.key }),
      ...(values.label === undefined ? {} : { label: values.label }),
      displayPath: candidate,
      ...(progress.onStep ? { onStep: progress.onStep } : {}),
    });
    return { result, ...(ref ? { contractRef: ref } : {}) };
  } finally {
    progress.done();
  }
}

function parseFailOn(command: string, value: string): Severity | 'none' {
  if (value !== 'none' && !isSeverity(value)) throw new CustodyError('USAGE', `${command}: --fail-on must be critical, high, medium, low, info or none, found "${value}"`);
  return value;
}

const CHECK_OPTIONS = {
  ...ENGINE_OPTIONS,
  baseline: { type: 'string' },
  'baseline-data': { type: 'string' },
  contract: { type: 'string' },
  label: { type: 'string' },
  'fail-on': { type: 'string', default: 'high' },
  output: { type: 'string' },
  'passphrase-env': { type: 'string' },
} as const;

async function runCheck(args: string[], io: CliIo): Promise<number> {
  const command = 'data check';
  const { values, positionals } = parseCommandArgs(command, args, {
    ...CHECK_OPTIONS,
    key: { type: 'string' },
    format: { type: 'string', default: 'text' },
    attest: { type: 'string' },
    'signing-key': { type: 'string' },
  });
  if (positionals.length !== 1) throw new CustodyError('USAGE', `${command}: give exactly one CANDIDATE dataset (see \`custody data --help\`)`);
  const format = values.format;
  if (!isReportFormat(format)) throw new CustodyError('USAGE', `${command}: --format must be one of ${REPORT_FORMATS.join(', ')}, found "${format}"`);
  const failOn = parseFailOn(command, values['fail-on']);
  if ((values.attest === undefined) !== (values['signing-key'] === undefined)) throw new CustodyError('USAGE', `${command}: give --attest FILE and --signing-key PRIVATE.pem together`);
  const signingKey = values.attest === undefined ? undefined : await readSigningKey(command, io, values['signing-key'], values['passphrase-env']);

  const { result, contractRef } = await runCheckCore(command, io, positionals[0] ?? '', values);
  const rules = allRules();
  let report = renderReport(format, result, { color: format === 'text' && values.output === undefined && io.stdoutIsTTY && !io.env['NO_COLOR'], rules, toolVersion: readVersion() });
  if (format === 'html') report = report.replace('</body></html>', `${renderDataDetails(result.findings)}\n</body></html>`).replace('Custody scan report</title>', 'Custody data check report</title>').replace('<h1>Custody scan report</h1>', '<h1>Custody data check report</h1>');
  await emit(command, io, values.output, report);
  if (values.attest !== undefined && signingKey) {
    const statement = buildDataCheckAttestation({ result, failOn, toolVersion: readVersion(), ...(contractRef ? { contract: contractRef } : {}) });
    await writeOutputFile(command, io, values.attest, serializeBundle(await signStatement(statement, createKeySigner(signingKey))));
  }
  if (failOn === 'none') return EXIT.ok;
  return result.findings.some((f) => atLeast(f.severity, failOn)) ? EXIT.findings : EXIT.ok;
}

/**
 * `custody attest data CANDIDATE --baseline BASELINE --key PRIVATE.pem [--output FILE]`: runs the
 * check and writes only the signed attestation (the key column is `--key-column` here, since `--key`
 * is the signing key as in every attest subcommand). Its usage text lives in attest.ts, which loads this
 * module (and DuckDB) only when `attest data` runs.
 */
export async function runDataAttestation(args: string[], io: CliIo): Promise<number> {
  const command = 'attest data';
  const { values, positionals } = parseCommandArgs(command, args, { ...CHECK_OPTIONS, key: { type: 'string' }, 'key-column': { type: 'string' } });
  if (positionals.length !== 1) throw new CustodyError('USAGE', `${command}: give exactly one CANDIDATE dataset`);
  const failOn = parseFailOn(command, values['fail-on']);
  const signingKey = await readSigningKey(command, io, values.key, values['passphrase-env']);
  const { result, contractRef } = await runCheckCore(command, io, positionals[0] ?? '', { ...values, key: values['key-column'] });
  const statement = buildDataCheckAttestation({ result, failOn, toolVersion: readVersion(), ...(contractRef ? { contract: contractRef } : {}) });
  const text = serializeBundle(await signStatement(statement, createKeySigner(signingKey)));
  if (values.output !== undefined) {
    await writeOutputFile(command, io, values.output, text);
    io.stderr.write(`custody ${command}: ${statement.predicate.result} (${result.findings.length} finding(s)); wrote the attestation to ${values.output}\n`);
  } else io.stdout.write(text);
  return EXIT.ok;
}

export const dataCommand: Command = {
  name: 'data',
  summary: 'Fingerprint, profile and check training-data versions (poisoning, label flips, drift)',
  usage: USAGE,
  run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === 'fingerprint') return runFingerprint(rest, io);
    if (sub === 'profile') return runProfile(rest, io);
    if (sub === 'check') return runCheck(rest, io);
    return Promise.reject(new CustodyError('USAGE', `data: expected a subcommand fingerprint, profile or check${sub === undefined ? '' : `, found "${sub}"`} (see \`custody data --help\`)`));
  },
};
