import { constants } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CustodyError, isCustodyError } from '../core/errors.js';
import { parseBundle, type SigstoreBundle } from '../integrity/bundle.js';
import { computeRootDigest, digestEquals } from '../integrity/digest.js';
import { diffResources } from '../integrity/diff.js';
import type { PrivateKeyInfo, PublicKeyInfo } from '../integrity/keys.js';
import { loadPublicKey } from '../integrity/keys.js';
import { hashArtifact, manifestToJson, type Manifest, type Resource } from '../integrity/manifest.js';
import { signArtifact, verifyArtifact, type VerificationProof } from '../integrity/oms.js';
import { createKeySigner } from '../integrity/signer.js';
import { findPrefixConflict, KIND_SEGMENTS, requireFileName, type ArtifactKind } from '../registry/names.js';
import { encodePath, type RegistryClient } from './http.js';
import type { StateFile } from './state.js';

export interface ArtifactRef {
  project: string;
  kind: ArtifactKind;
  name: string;
}

export function artifactPath(ref: ArtifactRef): string {
  return `/v1/projects/${encodeURIComponent(ref.project)}/${KIND_SEGMENTS[ref.kind]}/${encodeURIComponent(ref.name)}`;
}

/** A version as the server shows it (the fields clients use). */
export interface RemoteVersion {
  project: string;
  kind: ArtifactKind;
  name: string;
  version: string;
  status: string;
  createdAt: string;
  createdBy: string;
  files: number;
  bytes: number;
  signed: boolean;
  scan: { status: string; result: string | null; bySeverity: Record<string, number> | null; findings: { ruleId: string; severity: string; message: string; path: string; member?: string }[] };
}

export interface RemoteVersionDetail extends RemoteVersion {
  manifest: { name: string; digest: { sha256: string }; serialization: Record<string, unknown>; resources: Resource[] };
  fileList: { name: string; sha256: string; size: number }[];
  attachments: { kind: string; predicateType: string; verified: boolean; keyHint: string | null; error: { code: string; message: string } | null }[];
  bundles: { signature: unknown; attestations: unknown[]; scan: unknown };
}

export interface PushOptions extends ArtifactRef {
  path: string;
  key?: PrivateKeyInfo;
  attestations?: readonly SigstoreBundle[];
  /** Files sent at once. */
  parallel?: number;
  onFile?: (name: string, size: number) => void;
}

export interface PushResult {
  version: string;
  /** The version existed already (identical content: same root digest). */
  existed: boolean;
  sent: number;
  skipped: number;
  view?: RemoteVersion;
}

/** Runs `work` on every item, at most `width` at a time; the first failure is thrown after all settle. */
async function eachLimited<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < items.length && failure === undefined; i = next++) {
      try {
        await work(items[i] as T);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, lane));
  if (failure !== undefined) throw failure;
}

/**
 * Pushes a model or dataset: hashes it into an OMS manifest (signing it when a key is given), starts
 * an upload with the manifest, signature and attestations, sends the files the server does not hold
 * yet, and commits. Returns the version id (the root digest).
 */
export async function pushArtifact(client: RegistryClient, options: PushOptions): Promise<PushResult> {
  let manifest: Manifest;
  let signature: SigstoreBundle | undefined;
  if (options.key) {
    const signed = await signArtifact(options.path, { signer: createKeySigner(options.key) });
    manifest = signed.manifest;
    signature = signed.bundle;
  } else manifest = await hashArtifact(options.path);

  let started: { uploadId: string; version: string; needed: string[] };
  try {
    started = await client.json('POST', `${artifactPath(options)}/uploads`, {
      body: { manifest: manifestToJson(manifest), ...(signature ? { signature } : {}), ...(options.attestations?.length ? { attestations: options.attestations } : {}) },
    });
  } catch (error) {
    if (isCustodyError(error, 'CONFLICT') && error.details?.['version'] === manifest.rootDigest) return { version: manifest.rootDigest, existed: true, sent: 0, skipped: manifest.files };
    throw error;
  }
  if (started.version !== manifest.rootDigest) throw new CustodyError('REMOTE_ERROR', `the registry took the manifest as version ${started.version}, not ${manifest.rootDigest}`);
  const root = resolve(options.path);
  const fileOf = (name: string): string => (manifest.kind === 'file' ? root : join(root, ...name.split('/')));
  await eachLimited(started.needed, options.parallel ?? 4, async (name) => {
    const path = fileOf(name);
    const { size } = await stat(path);
    options.onFile?.(name, size);
    await client.upload(`/v1/uploads/${started.uploadId}/files/${encodePath(name)}`, path, size);
  });
  const view = await client.json<RemoteVersion>('POST', `/v1/uploads/${started.uploadId}/commit`);
  return { version: view.version, existed: false, sent: started.needed.length, skipped: manifest.files - started.needed.length, view };
}

export interface PullOptions extends ArtifactRef {
  version: string;
  output: string;
  /** Keys to verify the signature with; when absent, the project's keys pinned in the client state (pinned from the server on first use). */
  trustedKeys?: readonly PublicKeyInfo[];
  /** Accept a version without a verifiable signature, checking digests only. */
  allowUnsigned?: boolean;
  /** Re-pin the project's keys from the server (after a key rotation). */
  repinKeys?: boolean;
  state?: StateFile;
  parallel?: number;
}

export interface PullResult {
  version: string;
  files: number;
  bytes: number;
  signer: VerificationProof['signer'] | null;
  scan: RemoteVersion['scan'];
  output: string;
}

/** The project's keys: given, or pinned in the client state, or fetched and pinned now (trust on first use). */
async function keysFor(client: RegistryClient, options: PullOptions): Promise<PublicKeyInfo[]> {
  if (options.trustedKeys) return [...options.trustedKeys];
  const state = options.state;
  let pems = state ? (await state.server(client.url)).projectKeys?.[options.project] : undefined;
  if (pems === undefined || options.repinKeys) {
    const project = await client.json<{ keys: { pem: string }[] }>('GET', `/v1/projects/${encodeURIComponent(options.project)}`);
    pems = project.keys.map((k) => k.pem);
    if (state) await state.update(client.url, (s) => ({ ...s, projectKeys: { ...(s.projectKeys ?? {}), [options.project]: pems as string[] } }));
  }
  return pems.map((pem, i) => loadPublicKey(pem, `pinned key ${i + 1} of project ${options.project}`));
}

/**
 * Pulls a version into `output` (which must not exist): downloads every file into a temporary
 * directory beside it, verifies the signature against trusted keys and every digest against the
 * signed manifest (or, with allowUnsigned, against the manifest whose root digest is the version
 * id), and only then renames the directory into place. Any failure removes the temporary directory.
 */
export async function pullArtifact(client: RegistryClient, options: PullOptions): Promise<PullResult> {
  const output = resolve(options.output);
  if (await lstat(output).catch(() => undefined)) throw new CustodyError('USAGE', `${options.output} exists; pull into a new directory`);
  const detail = await client.json<RemoteVersionDetail>('GET', `${artifactPath(options)}/versions/${options.version}`);
  if (!digestEquals(detail.version, options.version) || !digestEquals(detail.manifest.digest.sha256, options.version)) {
    throw new CustodyError('DIGEST_MISMATCH', `the registry answered with version ${detail.version} (manifest ${detail.manifest.digest.sha256}) for ${options.version}`);
  }
  const names = detail.fileList.map((f) => requireFileName(f.name));
  const conflict = findPrefixConflict(names);
  if (conflict || new Set(names).size !== names.length) throw new CustodyError('NAME_INVALID', 'the version lists file names that cannot all be written');

  await mkdir(dirname(output), { recursive: true });
  const temp = await mkdtemp(join(dirname(output), `.${basename(output)}.custody-pull-`));
  try {
    await eachLimited(detail.fileList, options.parallel ?? 4, async (file) => {
      const path = join(temp, ...file.name.split('/'));
      await mkdir(dirname(path), { recursive: true });
      const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
      try {
        await client.download(`${artifactPath(options)}/versions/${options.version}/files/${encodePath(file.name)}`, handle);
      } finally {
        await handle.close();
      }
    });

    let signer: VerificationProof['signer'] | null = null;
    const signature = detail.bundles.signature;
    if (signature !== null && signature !== undefined) {
      const keys = await keysFor(client, options);
      if (keys.length > 0) {
        const proof = await verifyArtifact(temp, { bundle: parseBundle(JSON.stringify(signature)), publicKeys: keys });
        if (!digestEquals(proof.digest.sha256, options.version)) throw new CustodyError('SUBJECT_MISMATCH', `the signature is for ${proof.digest.sha256}, not version ${options.version}`);
        signer = proof.signer;
      } else if (!options.allowUnsigned) {
        throw new CustodyError('KEY_UNTRUSTED', `no trusted key for project ${options.project}: pass --trusted-key, or have its admin run custody project trust-key`);
      }
    } else if (!options.allowUnsigned) {
      throw new CustodyError('SIGNATURE_INVALID', `version ${options.version} carries no signature; pass --allow-unsigned to accept it on digests alone`);
    }
    if (signer === null) await verifyDigestsOnly(temp, detail);
    await rename(temp, output);
    return { version: detail.version, files: detail.fileList.length, bytes: detail.bytes, signer, scan: detail.scan, output };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** Re-hashes the files with the manifest's settings and compares them and the root digest to the version id. */
async function verifyDigestsOnly(dir: string, detail: RemoteVersionDetail): Promise<void> {
  if (!digestEquals(computeRootDigest(detail.manifest.resources.map((r) => r.digest)), detail.version)) {
    throw new CustodyError('DIGEST_MISMATCH', `the manifest the registry sent does not hash to version ${detail.version}`);
  }
  const serialization = detail.manifest.serialization;
  const hashType = serialization['hash_type'] === 'blake3' ? 'blake3' : 'sha256';
  const shardSize = typeof serialization['shard_size'] === 'number' ? serialization['shard_size'] : undefined;
  const actual = await hashArtifact(dir, { hashType, ...(shardSize === undefined ? {} : { shardSize }), ignorePaths: [] });
  const diff = diffResources(detail.manifest.resources, actual.resources, shardSize !== undefined);
  const changed = [...diff.modified.map((m) => m.name), ...diff.added, ...diff.removed, ...diff.renamed.map((r) => r.to)];
  if (changed.length > 0) throw new CustodyError('DIGEST_MISMATCH', `downloaded files do not match the version's manifest: ${changed.slice(0, 10).join(', ')}`, { details: { files: changed.slice(0, 100) } });
}
