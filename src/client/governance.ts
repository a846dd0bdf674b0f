import { CustodyError } from '../core/errors.js';
import { parseBundle } from '../integrity/bundle.js';
import { loadPublicKey, type PublicKeyInfo } from '../integrity/keys.js';
import { verifyVsa, type VerifiedVsa } from '../integrity/vsa.js';
import { isStage, vsaLevel } from '../registry/policy.js';
import { artifactPath, pullArtifact, type PullOptions, type PullResult } from './artifacts.js';
import type { RegistryClient } from './http.js';
import type { StateFile } from './state.js';

/** What a stage or alias of a model holds, as the registry answers. */
export interface StageHolders {
  target: string;
  alias: boolean;
  versions: { version: string; since: string; forced: boolean; vsa: unknown }[];
}

/** The registry's VSA key: given, or pinned in the client state (fetched and pinned on first use). */
export async function vsaKeyFor(client: RegistryClient, state: StateFile | undefined, given?: PublicKeyInfo, repin = false): Promise<PublicKeyInfo> {
  if (given) return given;
  let pem = state ? (await state.server(client.url)).vsaKey : undefined;
  if (pem === undefined || repin) {
    pem = (await client.json<{ vsa: { pem: string } }>('GET', '/v1/registry/keys')).vsa.pem;
    if (state) await state.update(client.url, (s) => ({ ...s, vsaKey: pem as string }));
  }
  return loadPublicKey(pem, 'the registry VSA key');
}

export interface StagePullOptions extends Omit<PullOptions, 'version' | 'kind'> {
  /** A stage (staging, production) or an alias. */
  target: string;
  /** When the stage holds several versions (canaries), the one to pull. */
  version?: string;
  vsaKey?: PublicKeyInfo;
  /** Accept a version forced into the stage by break-glass (its VSA says FAILED). */
  allowForced?: boolean;
}

export interface StagePullResult extends PullResult {
  target: string;
  forced: boolean;
  vsa: { timeVerified: string; policy: string; verifier: string };
}

/**
 * The deploy-time check: resolves what a stage (or alias) of a model holds now, verifies the VSA the
 * registry signed when the version moved there — with the pinned VSA key: its subject is that exact
 * digest, its resource this model, its levels this stage, its result PASSED (unless a forced
 * promotion is accepted explicitly) — then pulls the version with every signature and digest
 * verified. Nothing lands unless both hold.
 */
export async function pullStage(client: RegistryClient, options: StagePullOptions): Promise<StagePullResult> {
  const ref = { project: options.project, kind: 'model' as const, name: options.name };
  const holders = await client.json<StageHolders>('GET', `${artifactPath(ref)}/stages/${encodeURIComponent(options.target)}`);
  let chosen = holders.versions;
  if (options.version !== undefined) chosen = chosen.filter((v) => v.version === options.version);
  if (chosen.length === 0) throw new CustodyError('NOT_FOUND', `${options.project}/${options.name}@${options.target} holds ${options.version === undefined ? 'no version' : `no version ${options.version}`}`);
  if (chosen.length > 1) throw new CustodyError('CONFLICT', `${options.target} holds ${chosen.length} versions (${chosen.map((v) => v.version.slice(0, 12)).join(', ')}); name one with --version`);
  const held = chosen[0] as StageHolders['versions'][number];
  if (held.vsa === null || held.vsa === undefined) throw new CustodyError('SIGNATURE_INVALID', `the registry holds no verification summary for ${held.version} in ${options.target}`);
  const key = await vsaKeyFor(client, options.state, options.vsaKey);
  const level = vsaLevel(options.target, !isStage(options.target));
  let proof: VerifiedVsa;
  try {
    proof = await verifyVsa(parseBundle(JSON.stringify(held.vsa)), [key], { digest: held.version, levels: [level], resourceUri: `custody:model/${options.project}/${options.name}@sha256:${held.version}`, allowFailed: options.allowForced === true });
  } catch (error) {
    if (error instanceof CustodyError && error.code === 'SIGNATURE_INVALID' && held.forced && options.allowForced !== true) {
      throw new CustodyError('SIGNATURE_INVALID', `${held.version} was forced into ${options.target} by break-glass, without meeting its policy; pass --allow-forced to pull it anyway`, { cause: error });
    }
    throw error;
  }
  const forced = proof.statement.predicate.verificationResult !== 'PASSED';
  const pulled = await pullArtifact(client, { ...options, kind: 'model', version: held.version });
  return {
    ...pulled,
    target: options.target,
    forced,
    vsa: { timeVerified: proof.statement.predicate.timeVerified, policy: proof.statement.predicate.policy.uri, verifier: proof.statement.predicate.verifier.id },
  };
}
