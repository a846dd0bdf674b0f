import { CustodyError, formatProblems, type Problem } from '../core/errors.js';
import { isRecord } from '../core/json.js';
import type { HashType } from '../integrity/digest.js';
import { toOmsSerialization, type Resource, type Serialization } from '../integrity/manifest.js';
import { splitShardName } from '../integrity/names.js';
import { OMS_PREDICATE_TYPE, parseOmsStatement } from '../integrity/oms.js';
import { buildStatement } from '../integrity/statement.js';
import { describeBadFileName, findPrefixConflict } from './names.js';

/** One file a version holds, and what its bytes must hash to. */
export interface FilePlan {
  name: string;
  /** Method `files`: the file's digest. */
  digest?: string;
  /** Method `shards`: the ranges in order, covering the file exactly; the file size is the last end. */
  shards?: { start: number; end: number; digest: string }[];
}

/** A manifest the registry accepted: what `custody hash` prints, checked and indexed by file. */
export interface VersionManifest {
  name: string;
  /** The OMS root digest: the version's identity. */
  digest: string;
  serialization: Serialization;
  resources: Resource[];
  files: FilePlan[];
}

/** Components that walkers skip (and so the server-side scan would never see). */
const SKIPPED_COMPONENTS = new Set(['.git', '.hg', '.svn']);

export interface ManifestLimits {
  maxFiles: number;
}

/**
 * Checks a manifest as `custody hash` prints it (`name`, `digest.sha256`, OMS `serialization`,
 * `resources`): OMS validity through the integrity library (canonical unique names, digest shapes,
 * the root digest over the resources as listed), then the registry's own rules — file names safe to
 * write on any client, no file that is also a directory, shards that tile each file exactly. Every
 * problem is collected; the error is REQUEST_INVALID, NAME_INVALID or INPUT_LIMIT.
 */
export function parseVersionManifest(raw: unknown, limits: ManifestLimits): VersionManifest {
  if (!isRecord(raw)) throw new CustodyError('REQUEST_INVALID', 'the manifest must be a JSON object');
  const resourcesRaw = raw['resources'];
  if (Array.isArray(resourcesRaw) && resourcesRaw.length > limits.maxFiles) {
    throw new CustodyError('INPUT_LIMIT', `the manifest lists ${resourcesRaw.length} resources, over the server's limit of ${limits.maxFiles}`);
  }
  const digestRaw = isRecord(raw['digest']) ? raw['digest']['sha256'] : undefined;
  const name = typeof raw['name'] === 'string' && raw['name'] !== '' ? raw['name'] : 'artifact';
  let signed;
  try {
    signed = parseOmsStatement(
      buildStatement([{ name, digest: { sha256: typeof digestRaw === 'string' ? digestRaw : '' } }], OMS_PREDICATE_TYPE, { resources: resourcesRaw, serialization: raw['serialization'] }),
    );
  } catch (error) {
    if (error instanceof CustodyError) {
      throw new CustodyError(error.code === 'UNSUPPORTED_FORMAT' ? 'UNSUPPORTED_FORMAT' : 'REQUEST_INVALID', `the manifest is not valid: ${error.message.replace(/^the signed statement is not a valid OMS v1.0 statement:\n/, '\n')}`, {
        cause: error,
        ...(error.details ? { details: error.details } : {}),
      });
    }
    throw error;
  }

  const problems: Problem[] = [];
  const sharded = signed.serialization.method === 'shards';
  const byFile = new Map<string, FilePlan>();
  signed.resources.forEach((r, i) => {
    const shard = sharded ? splitShardName(r.name) : undefined;
    const fileName = shard ? shard.path : r.name;
    const bad = describeBadFileName(fileName);
    if (bad !== undefined) return void problems.push({ path: `resources[${i}].name`, message: `${JSON.stringify(fileName.slice(0, 120))} ${bad}` });
    if (fileName.split('/').some((part) => SKIPPED_COMPONENTS.has(part))) {
      return void problems.push({ path: `resources[${i}].name`, message: `${JSON.stringify(fileName.slice(0, 120))} lies in a version-control directory, which scanners skip; leave it out of the model` });
    }
    const plan = byFile.get(fileName) ?? { name: fileName };
    if (shard) (plan.shards ??= []).push({ start: shard.start, end: shard.end, digest: r.digest });
    else plan.digest = r.digest;
    byFile.set(fileName, plan);
  });
  if (sharded) {
    const size = signed.serialization.shardSize ?? 0;
    for (const plan of byFile.values()) {
      const shards = (plan.shards ?? []).sort((a, b) => a.start - b.start);
      let at = 0;
      for (const s of shards) {
        const last = s === shards[shards.length - 1];
        if (s.start !== at || s.end - s.start > size || (!last && s.end - s.start !== size)) {
          problems.push({ path: 'resources', message: `the shards of ${JSON.stringify(plan.name.slice(0, 120))} do not cover it in consecutive ranges of ${size} bytes` });
          break;
        }
        at = s.end;
      }
    }
  }
  const conflict = findPrefixConflict([...byFile.keys()]);
  if (conflict) problems.push({ path: 'resources', message: `${JSON.stringify(conflict[0])} is both a file and the directory of ${JSON.stringify(conflict[1])}` });
  if (problems.length > 0) {
    const names = problems.some((p) => p.path.endsWith('.name'));
    throw new CustodyError(names ? 'NAME_INVALID' : 'REQUEST_INVALID', `the manifest is not acceptable:\n${formatProblems(problems)}`, { details: { problems } });
  }
  return { name: signed.name, digest: signed.rootDigest, serialization: signed.serialization, resources: signed.resources, files: [...byFile.values()] };
}

/** The manifest as stored and served: the shape `custody hash` prints. */
export function manifestJson(manifest: VersionManifest): { name: string; digest: { sha256: string }; serialization: Record<string, unknown>; resources: Resource[] } {
  return { name: manifest.name, digest: { sha256: manifest.digest }, serialization: toOmsSerialization(manifest.serialization), resources: manifest.resources };
}

export function hashTypeOf(manifest: VersionManifest): HashType {
  return manifest.serialization.hashType;
}
