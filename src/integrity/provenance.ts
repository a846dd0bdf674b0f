import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { CustodyError, formatProblems, type Problem } from '../core/errors.js';
import { digestArtifact } from './attest.js';
import { isDigestHex, sha256Hex } from './digest.js';
import { buildStatement, type ResourceDescriptor, type Statement } from './statement.js';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** The build type of a training run, documented in docs/integrity.md. */
export const TRAINING_BUILD_TYPE = 'https://github.com/custody-dev/custody/blob/main/docs/integrity.md#training-run-v1';

export interface SlsaProvenance {
  buildDefinition: {
    buildType: string;
    externalParameters: Record<string, unknown>;
    internalParameters?: Record<string, unknown>;
    resolvedDependencies: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string; version?: Record<string, string> };
    metadata: { invocationId?: string; startedOn?: string; finishedOn?: string };
    byproducts?: ResourceDescriptor[];
  };
}

export interface DigestedInput {
  name: string;
  digest: { sha256: string };
  uri?: string;
  files?: number;
  bytes?: number;
}

/** Everything a training-run provenance records. Digests are hex SHA-256 unless said otherwise. */
export interface TrainingProvenanceInput {
  /** The output model (the statement's subject). */
  model: DigestedInput;
  /** Datasets with their manifest digests (`custody hash` root digest, or a file's SHA-256). */
  datasets?: readonly DigestedInput[];
  /** Training code: repository URI and commit. */
  source?: { repository: string; commit: string; entryPoint?: string };
  environment?: {
    /** Dependency lockfile (requirements.txt, uv.lock, package-lock.json…). */
    lockfile?: DigestedInput;
    /** Container image the job ran in: reference and its sha256 digest. */
    image?: { ref: string; digest: { sha256: string } };
  };
  /** Hyperparameters and other run parameters (JSON values). */
  parameters?: Record<string, unknown>;
  builder: { id: string; version?: Record<string, string> };
  invocationId?: string;
  /** RFC 3339 times. */
  startedOn?: string;
  finishedOn?: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function checkDigest(problems: Problem[], path: string, digest: { sha256: string } | undefined): void {
  if (!isDigestHex(digest?.sha256)) problems.push({ path: `${path}.digest.sha256`, message: 'must be 64 lower-case hex characters' });
}

/** Validates the input, collecting every problem before failing with USAGE. */
function validate(input: TrainingProvenanceInput): void {
  const problems: Problem[] = [];
  if (!input.model.name) problems.push({ path: 'model.name', message: 'is required' });
  checkDigest(problems, 'model', input.model.digest);
  const names = new Set<string>();
  (input.datasets ?? []).forEach((d, i) => {
    if (!d.name) problems.push({ path: `datasets[${i}].name`, message: 'is required' });
    else if (names.has(d.name)) problems.push({ path: `datasets[${i}].name`, message: `"${d.name}" is given twice` });
    names.add(d.name);
    checkDigest(problems, `datasets[${i}]`, d.digest);
  });
  if (input.source) {
    if (!input.source.repository) problems.push({ path: 'source.repository', message: 'is required' });
    if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(input.source.commit)) problems.push({ path: 'source.commit', message: 'must be a full git commit id (40 or 64 lower-case hex characters)' });
  }
  if (input.environment?.lockfile) checkDigest(problems, 'environment.lockfile', input.environment.lockfile.digest);
  if (input.environment?.image) {
    if (!input.environment.image.ref) problems.push({ path: 'environment.image.ref', message: 'is required' });
    checkDigest(problems, 'environment.image', input.environment.image.digest);
  }
  if (!input.builder.id) problems.push({ path: 'builder.id', message: 'is required (a URI naming the system that ran the training)' });
  for (const key of ['startedOn', 'finishedOn'] as const) {
    const value = input[key];
    if (value !== undefined && (!RFC3339.test(value) || Number.isNaN(Date.parse(value)))) problems.push({ path: key, message: `"${value}" is not an RFC 3339 time (e.g. 2025-01-31T12:00:00Z)` });
  }
  if (input.startedOn && input.finishedOn && Date.parse(input.finishedOn) < Date.parse(input.startedOn)) problems.push({ path: 'finishedOn', message: 'is before startedOn' });
  if (problems.length > 0) throw new CustodyError('USAGE', `the provenance input is not valid:\n${formatProblems(problems)}`, { details: { problems } });
}

function descriptor(input: DigestedInput, role: string): ResourceDescriptor {
  const annotations: Record<string, unknown> = { role };
  if (input.files !== undefined) annotations['files'] = input.files;
  if (input.bytes !== undefined) annotations['bytes'] = input.bytes;
  return { name: input.name, ...(input.uri ? { uri: input.uri } : {}), digest: { sha256: input.digest.sha256 }, annotations };
}

/**
 * An in-toto Statement with an SLSA Provenance v1 predicate for a training run. The subject is the
 * output model; datasets, code, lockfile and container image are resolved dependencies, each
 * annotated with its `role`; parameters and the source reference are external parameters.
 */
export function buildTrainingProvenance(input: TrainingProvenanceInput): Statement<SlsaProvenance> {
  validate(input);
  const dependencies: ResourceDescriptor[] = [];
  if (input.source) {
    const uri = input.source.repository.startsWith('git+') ? input.source.repository : `git+${input.source.repository}`;
    dependencies.push({ uri: `${uri}@${input.source.commit}`, digest: { gitCommit: input.source.commit }, annotations: { role: 'source' } });
  }
  for (const dataset of input.datasets ?? []) dependencies.push(descriptor(dataset, 'dataset'));
  if (input.environment?.lockfile) dependencies.push(descriptor(input.environment.lockfile, 'lockfile'));
  if (input.environment?.image) {
    const { ref, digest } = input.environment.image;
    dependencies.push({ uri: ref.includes('@') ? ref : `${ref}@sha256:${digest.sha256}`, digest: { sha256: digest.sha256 }, annotations: { role: 'container-image' } });
  }
  const external: Record<string, unknown> = {};
  if (input.source) external['source'] = { repository: input.source.repository, commit: input.source.commit, ...(input.source.entryPoint ? { entryPoint: input.source.entryPoint } : {}) };
  if (input.datasets && input.datasets.length > 0) external['datasets'] = input.datasets.map((d) => d.name);
  external['parameters'] = input.parameters ?? {};
  const metadata: SlsaProvenance['runDetails']['metadata'] = {};
  if (input.invocationId) metadata.invocationId = input.invocationId;
  if (input.startedOn) metadata.startedOn = input.startedOn;
  if (input.finishedOn) metadata.finishedOn = input.finishedOn;
  return buildStatement([descriptor(input.model, 'model')], SLSA_PROVENANCE_V1, {
    buildDefinition: { buildType: TRAINING_BUILD_TYPE, externalParameters: external, resolvedDependencies: dependencies },
    runDetails: { builder: { id: input.builder.id, ...(input.builder.version ? { version: input.builder.version } : {}) }, metadata },
  });
}

/** Paths and facts from which `collectTrainingProvenance` digests every input. */
export interface TrainingRunPaths extends Omit<TrainingProvenanceInput, 'model' | 'datasets' | 'environment'> {
  modelPath: string;
  modelName?: string;
  datasets?: readonly { name: string; path: string; uri?: string }[];
  lockfilePath?: string;
  /** `name@sha256:<hex>` (the digest is taken from the reference). */
  image?: string;
  jobs?: number;
}

/** Parses `registry/name[:tag]@sha256:<hex>`. */
export function parseImageReference(ref: string): { ref: string; digest: { sha256: string } } {
  const m = /^(.+)@sha256:([0-9a-f]{64})$/.exec(ref);
  if (!m) throw new CustodyError('USAGE', `container image "${ref}" must be pinned by digest: name@sha256:<64 hex>`);
  return { ref, digest: { sha256: m[2] ?? '' } };
}

/** Lockfiles larger than this are not lockfiles. */
const MAX_LOCKFILE_BYTES = 256 * 1024 * 1024;

/** Hashes the model, datasets and lockfile on disk, then builds the provenance statement. */
export async function collectTrainingProvenance(run: TrainingRunPaths): Promise<Statement<SlsaProvenance>> {
  const jobs = run.jobs === undefined ? {} : { jobs: run.jobs };
  const model = await digestArtifact(run.modelPath, jobs);
  const datasets: DigestedInput[] = [];
  for (const d of run.datasets ?? []) {
    const digest = await digestArtifact(d.path, jobs);
    datasets.push({ name: d.name, digest: digest.digest, files: digest.files, bytes: digest.bytes, ...(d.uri ? { uri: d.uri } : {}) });
  }
  let lockfile: DigestedInput | undefined;
  if (run.lockfilePath !== undefined) {
    const info = await stat(run.lockfilePath).catch((error: unknown) => {
      throw new CustodyError('PATH_NOT_FOUND', `cannot read lockfile ${run.lockfilePath ?? ''}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    });
    if (!info.isFile() || info.size > MAX_LOCKFILE_BYTES) throw new CustodyError('USAGE', `lockfile ${run.lockfilePath} must be a regular file under ${MAX_LOCKFILE_BYTES} bytes`);
    lockfile = { name: basename(run.lockfilePath), digest: { sha256: sha256Hex(await readFile(run.lockfilePath)) } };
  }
  const { modelPath: _m, modelName, datasets: _d, lockfilePath: _l, image, jobs: _j, ...rest } = run;
  const environment = { ...(lockfile ? { lockfile } : {}), ...(image !== undefined ? { image: parseImageReference(image) } : {}) };
  return buildTrainingProvenance({
    ...rest,
    model: { name: modelName ?? model.name, digest: model.digest, files: model.files, bytes: model.bytes },
    datasets,
    ...(Object.keys(environment).length > 0 ? { environment } : {}),
  });
}
