// What model_signing (the OMS reference implementation) can read of what Custody writes: kept
// apart from oms.ts so that `custody hash` can warn without loading the signing code.
import { effectiveShardSize, type Manifest } from './manifest.js';
import { splitShardName } from './names.js';

/** Key algorithms in the OMS key registry (ECDSA over P-256, P-384, P-521, as Sigstore names them). */
export const OMS_KEY_ALGORITHMS: readonly string[] = ['PKIX_ECDSA_P256_SHA_256', 'PKIX_ECDSA_P384_SHA_384', 'PKIX_ECDSA_P521_SHA_512'];

/**
 * What would keep model_signing 1.1 from verifying a signature Custody writes, or what Custody
 * changed to stay readable by it: one sentence each, for the CLI to print as warnings.
 * `requested.shardSize` is the shard size asked for; `requested.keyAlgorithm` the signer's.
 */
export function describeInteropLimits(manifest: Manifest, requested: { shardSize?: number; keyAlgorithm?: string } = {}): string[] {
  const notes: string[] = [];
  if (requested.shardSize !== undefined && effectiveShardSize(manifest.serialization.hashType, requested.shardSize) === undefined) {
    notes.push('BLAKE3 manifests are never sharded (model_signing hashes each file whole with BLAKE3): the shard size was ignored');
  }
  if (manifest.serialization.method === 'shards') {
    const colon = manifest.resources.map((r) => splitShardName(r.name)?.path ?? r.name).find((p) => p.includes(':'));
    if (colon !== undefined) notes.push(`model_signing cannot read shard names of files whose name holds ":" (such as "${colon.slice(0, 200)}"): it will refuse this signature; sign without --shard-size to share it`);
  }
  if (requested.keyAlgorithm !== undefined && !OMS_KEY_ALGORITHMS.includes(requested.keyAlgorithm)) {
    notes.push(`the key is ${requested.keyAlgorithm}, not in the OMS key registry: model_signing and other OMS verifiers will refuse this signature`);
  }
  return notes;
}
