import { CustodyError } from '../core/errors.js';
import { isRecord } from '../core/json.js';
import { SLSA_PROVENANCE_V1 } from './provenance.js';
import type { ResourceDescriptor, Statement } from './statement.js';

/** What a registry reads of an SLSA Provenance v1 statement. */
export interface ProvenanceFacts {
  builderId: string;
  buildType: string;
  /** Resolved dependencies, each with its role (`annotations.role`, or `unknown`). */
  materials: { name: string; uri: string; digest: Record<string, string>; role: string }[];
  invocationId: string | undefined;
  finishedOn: string | undefined;
}

const MAX_MATERIALS = 10_000;

/**
 * Reads the facts of an SLSA Provenance v1 predicate (builder, build type, resolved dependencies)
 * from a parsed statement. A predicate without `runDetails.builder.id` or with malformed dependencies
 * is BUNDLE_INVALID: provenance that cannot be read proves nothing.
 */
export function readSlsaProvenance(statement: Statement): ProvenanceFacts {
  if (statement.predicateType !== SLSA_PROVENANCE_V1) throw new CustodyError('BUNDLE_INVALID', `the statement is a ${statement.predicateType.slice(0, 100)}, not SLSA provenance v1`);
  const p = statement.predicate;
  const build = isRecord(p) ? p['buildDefinition'] : undefined;
  const run = isRecord(p) ? p['runDetails'] : undefined;
  const builder = isRecord(run) ? run['builder'] : undefined;
  if (!isRecord(build) || typeof build['buildType'] !== 'string' || !isRecord(builder) || typeof builder['id'] !== 'string' || builder['id'] === '') {
    throw new CustodyError('BUNDLE_INVALID', 'the provenance lacks buildDefinition.buildType or runDetails.builder.id');
  }
  const deps = build['resolvedDependencies'] ?? [];
  if (!Array.isArray(deps) || deps.length > MAX_MATERIALS) throw new CustodyError('BUNDLE_INVALID', `resolvedDependencies must be a list of at most ${MAX_MATERIALS} resource descriptors`);
  const materials = deps.map((d: unknown, i) => {
    if (!isRecord(d)) throw new CustodyError('BUNDLE_INVALID', `resolvedDependencies[${i}] is not a resource descriptor`);
    const r = d as ResourceDescriptor;
    const digest = isRecord(r.digest) && Object.values(r.digest).every((v) => typeof v === 'string') ? r.digest : {};
    const role = isRecord(r.annotations) && typeof r.annotations['role'] === 'string' ? r.annotations['role'] : 'unknown';
    return { name: typeof r.name === 'string' ? r.name : '', uri: typeof r.uri === 'string' ? r.uri : '', digest, role };
  });
  const metadata = isRecord(run) && isRecord(run['metadata']) ? run['metadata'] : {};
  return {
    builderId: builder['id'],
    buildType: build['buildType'],
    materials,
    invocationId: typeof metadata['invocationId'] === 'string' ? metadata['invocationId'] : undefined,
    finishedOn: typeof metadata['finishedOn'] === 'string' ? metadata['finishedOn'] : undefined,
  };
}
