import { CustodyError } from '../core/errors.js';
import type { MetadataStore } from '../store/metadata.js';
import type { ArtifactKind } from './names.js';
import type { Registry, RequestContext } from './registry.js';

/**
 * One page of an artifact's versions, newest first, for browsing (the web console). A read-only
 * companion of Registry.listVersions: same authorization (`artifact.read` through the registry's
 * check, recorded in the request's audit event), but attachments are read only for the versions on
 * the page, so an artifact with 10,000 versions costs one listing query plus one query per row shown.
 */
export interface VersionRow {
  version: string;
  createdAt: string;
  createdBy: string;
  status: 'active' | 'archived';
  stage: string;
  forced: boolean;
  aliases: string[];
  signed: boolean;
  /** Key hints of the verified signatures. */
  signers: string[];
  scanStatus: string;
  /** Findings by severity from the server's scan, when it finished. */
  bySeverity: Record<string, number> | null;
}

export interface VersionPage {
  total: number;
  offset: number;
  versions: VersionRow[];
}

export const MAX_VERSION_PAGE = 200;

export async function listVersionPage(registry: Registry, store: MetadataStore, ctx: RequestContext, input: { project: string; kind: ArtifactKind; name: string; offset: number; limit: number }): Promise<VersionPage> {
  registry.check(ctx, 'artifact.read', { project: input.project, artifact: { kind: input.kind, name: input.name } });
  const artifact = await store.findArtifact(input.project, input.kind, input.name);
  if (!artifact) {
    if (!(await store.findProject(input.project))) throw new CustodyError('NOT_FOUND', `no project named ${input.project}`);
    throw new CustodyError('NOT_FOUND', `no ${input.kind} named ${input.name} in project ${input.project}`);
  }
  const limit = Math.min(MAX_VERSION_PAGE, Math.max(1, Math.floor(input.limit)));
  const all = await store.listVersions(artifact.id);
  const offset = Math.min(Math.max(0, Math.floor(input.offset)), Math.max(0, all.length - 1));
  const aliases = await store.listAliases(artifact.id);
  const rows: VersionRow[] = [];
  for (const v of all.slice(offset, offset + limit)) {
    const attachments = await store.listAttachments(v.id);
    const signatures = attachments.filter((a) => a.kind === 'signature' && a.verified);
    const scan = attachments.filter((a) => a.kind === 'scan').pop();
    let bySeverity: Record<string, number> | null = null;
    if (scan) {
      try {
        const parsed = JSON.parse(scan.result) as { bySeverity?: Record<string, number> };
        bySeverity = parsed.bySeverity ?? null;
      } catch {
        bySeverity = null;
      }
    }
    const signers: string[] = [];
    for (const s of signatures) {
      try {
        const hint = (JSON.parse(s.result) as { signer?: { keyHint?: string } }).signer?.keyHint;
        if (typeof hint === 'string') signers.push(hint);
      } catch {
        // an unreadable result names no signer
      }
    }
    rows.push({
      version: v.digest,
      createdAt: new Date(v.createdAt).toISOString(),
      createdBy: v.createdBy,
      status: v.status,
      stage: v.stage,
      forced: v.forced,
      aliases: aliases.filter((a) => a.versionId === v.id).map((a) => a.name),
      signed: signatures.length > 0,
      signers,
      scanStatus: v.scanStatus,
      bySeverity,
    });
  }
  return { total: all.length, offset, versions: rows };
}
