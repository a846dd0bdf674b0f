import { acceptCheckpoint } from '../audit/client.js';
import type { RegistryClient } from './http.js';
import type { StateFile } from './state.js';

export interface LogCheck {
  size: number;
  /** Size of the checkpoint seen before (undefined on first contact). */
  previous: number | undefined;
  /** True when the log key was pinned just now (trust on first use). */
  pinnedNow: boolean;
}

/**
 * Checks the registry's audit log against what this client saw before, and remembers the newer
 * checkpoint (the audit library's acceptCheckpoint does the checking). The checkpoint must be signed
 * by the pinned log key — pinned on first contact (trust on first use) unless given with --log-key;
 * a smaller tree than the one seen is AUDIT_ROLLBACK; the same size with another root, or a larger
 * tree its consistency proof does not connect, is AUDIT_FORK. Nothing is remembered unless it verified.
 */
export async function checkLog(client: RegistryClient, state: StateFile, options: { logKey?: string } = {}): Promise<LogCheck> {
  const known = await state.server(client.url);
  let logKey = options.logKey ?? known.logKey;
  // A different key given explicitly starts a new history: the old checkpoint was signed by another key.
  const rekeyed = options.logKey !== undefined && known.logKey !== undefined && options.logKey !== known.logKey;
  let pinnedNow = rekeyed;
  if (logKey === undefined) {
    logKey = (await client.json<{ verifierKey: string }>('GET', '/v1/audit/key')).verifierKey;
    pinnedNow = true;
  }
  const served = await client.json<{ size: number; note: string }>('GET', '/v1/audit/checkpoint');
  const previous = rekeyed ? undefined : known.checkpoint?.note;
  const accepted = await acceptCheckpoint({
    verifierKey: logKey,
    previous,
    next: served.note,
    fetchConsistencyProof: async (m, n) => (await client.json<{ proof: string[] }>('GET', '/v1/audit/consistency', { query: { from: m, to: n } })).proof.map((p) => Buffer.from(p, 'base64')),
  });
  await state.update(client.url, (s) => ({ ...s, logKey, checkpoint: { size: accepted.size, root: accepted.root.toString('base64'), note: accepted.note } }));
  return { size: accepted.size, previous: previous === undefined ? undefined : known.checkpoint?.size, pinnedNow };
}
