/**
 * The metadata store: everything the registry knows except file contents (blobs) and the audit log.
 * Domain code (src/registry) sees only this interface; the embedded default is SQLite through Kysely
 * (kysely-store.ts), and a PostgreSQL store implements the same methods. Times are epoch milliseconds.
 */

export type AccountKind = 'user' | 'service';
export type ArtifactKindName = 'model' | 'dataset';

export interface AccountRecord {
  id: number;
  name: string;
  kind: AccountKind;
  serverAdmin: boolean;
  passwordHash: string | null;
  createdAt: number;
  createdBy: string;
  disabledAt: number | null;
}

export interface ProjectRecord {
  id: number;
  name: string;
  createdAt: number;
  createdBy: string;
}

export interface GrantRecord {
  project: string;
  account: string;
  accountKind: AccountKind;
  role: string;
  models: string[] | null;
  grantedAt: number;
  grantedBy: string;
}

export interface TokenRecord {
  id: string;
  accountId: number;
  account: string;
  accountKind: AccountKind;
  accountServerAdmin: boolean;
  /** When the account was disabled (its tokens stop working), or null. */
  accountDisabledAt?: number | null;
  hash: string;
  project: string | null;
  actions: string[] | null;
  description: string;
  createdAt: number;
  createdBy: string;
  expiresAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface TrustedKeyRecord {
  project: string;
  hint: string;
  keyType: string;
  pem: string;
  addedAt: number;
  addedBy: string;
  owner: string | null;
}

export interface ArtifactRecord {
  id: number;
  project: string;
  kind: ArtifactKindName;
  name: string;
  createdAt: number;
}

export interface UploadRecord {
  id: string;
  artifactId: number;
  accountId: number;
  digest: string;
  manifest: string;
  bundles: string;
  createdAt: number;
  expiresAt: number;
}

export interface StoredFile {
  name: string;
  sha256: string;
  size: number;
}

export interface VersionRecord {
  id: number;
  artifactId: number;
  project: string;
  kind: ArtifactKindName;
  name: string;
  digest: string;
  manifest: string;
  files: number;
  bytes: number;
  status: 'active' | 'archived';
  scanStatus: string;
  createdAt: number;
  createdBy: string;
  archivedAt: number | null;
  stage: string;
  stageAt: number | null;
  forced: boolean;
}

/** A version's identity and where it is now: what impact lists, without the manifest. */
export type VersionPlace = Pick<VersionRecord, 'id' | 'project' | 'kind' | 'name' | 'digest' | 'stage' | 'forced'>;

export interface AttachmentInput {
  kind: 'signature' | 'attestation' | 'scan' | 'vsa';
  predicateType: string;
  bundle: string;
  verified: boolean;
  result: string;
  createdBy: string;
}

export interface AttachmentRecord extends AttachmentInput {
  id: number;
  versionId: number;
  createdAt: number;
}

export interface NewVersion {
  uploadId: string;
  artifactId: number;
  digest: string;
  manifest: string;
  files: readonly StoredFile[];
  bytes: number;
  createdBy: string;
  attachments: readonly AttachmentInput[];
}

export interface PolicyRecord {
  id: number;
  projectId: number;
  version: number;
  document: string;
  digest: string;
  status: 'proposed' | 'active' | 'superseded' | 'rejected';
  comment: string;
  createdAt: number;
  createdBy: string;
  decidedAt: number | null;
}

export interface PolicyDecisionRecord {
  policyId: number;
  account: string;
  tokenId: string;
  decision: 'approve' | 'reject';
  comment: string;
  createdAt: number;
}

export interface ApprovalRecord {
  id: number;
  versionId: number;
  target: string;
  policyVersion: number;
  policyDigest: string;
  account: string;
  tokenId: string;
  decision: 'approve' | 'reject';
  comment: string;
  bundle: string;
  createdAt: number;
}

export interface AliasRecord {
  artifactId: number;
  name: string;
  versionId: number;
  digest: string;
  setAt: number;
  setBy: string;
  forced: boolean;
}

export interface PromotionRecord {
  id: number;
  versionId: number;
  target: string;
  fromStage: string;
  policyVersion: number;
  policyDigest: string;
  requestedBy: string;
  tokenId: string;
  forced: boolean;
  reason: string;
  evaluation: string;
  vsa: string;
  createdAt: number;
}

export interface NewPromotion {
  versionId: number;
  artifactId: number;
  projectId: number;
  /** A stage name, or an alias name when `alias` is true. */
  target: string;
  alias: boolean;
  /** Compare-and-set: the stage the version must still be in, and the policy that must still be active (0: none). */
  expectStage: string;
  expectPolicyVersion: number;
  /** Versions of the stage beyond this many (oldest first) move to `displaceTo`; null: no limit. */
  maxInStage: number | null;
  displaceTo: string;
  policyVersion: number;
  policyDigest: string;
  requestedBy: string;
  tokenId: string;
  forced: boolean;
  reason: string;
  evaluation: string;
  vsa: string;
  at: number;
}

export interface LineageEdge {
  versionId: number;
  kind: string;
  ref: string;
  label: string;
  verified: boolean;
}

export interface OidcIssuerRecord {
  id: number;
  projectId: number;
  project: string;
  issuer: string;
  audience: string;
  accountId: number;
  account: string;
  role: string;
  claims: Record<string, string[]>;
  jwks: string | null;
  ttlSeconds: number;
  createdAt: number;
  createdBy: string;
}

export interface UsageRecord {
  accountId: number;
  account: string;
  project: string;
  action: string;
  lastUsedAt: number;
}

export interface MetadataStore {
  // accounts
  createAccount(input: { name: string; kind: AccountKind; serverAdmin: boolean; passwordHash: string | null; createdBy: string }): Promise<AccountRecord>;
  findAccount(name: string): Promise<AccountRecord | undefined>;
  findAccountById(id: number): Promise<AccountRecord | undefined>;
  listAccounts(): Promise<AccountRecord[]>;
  setPassword(accountId: number, passwordHash: string): Promise<void>;
  countAccounts(): Promise<number>;
  disableAccount(accountId: number, at: number): Promise<void>;

  // projects and roles
  createProject(input: { name: string; createdBy: string }): Promise<ProjectRecord>;
  findProject(name: string): Promise<ProjectRecord | undefined>;
  listProjects(): Promise<ProjectRecord[]>;
  setGrant(input: { projectId: number; accountId: number; role: string; models: string[] | null; grantedBy: string }): Promise<void>;
  removeGrant(projectId: number, accountId: number): Promise<boolean>;
  listGrants(projectId: number): Promise<GrantRecord[]>;
  grantsOf(accountId: number): Promise<GrantRecord[]>;

  // tokens
  insertToken(input: Omit<TokenRecord, 'account' | 'accountKind' | 'accountServerAdmin' | 'project' | 'revokedAt' | 'lastUsedAt'> & { projectId: number | null }): Promise<void>;
  findTokenByHash(hash: string): Promise<TokenRecord | undefined>;
  findToken(id: string): Promise<TokenRecord | undefined>;
  listTokens(accountId: number | null): Promise<TokenRecord[]>;
  revokeToken(id: string, at: number): Promise<boolean>;
  touchToken(id: string, at: number): Promise<void>;

  // trusted keys
  addTrustedKey(input: { projectId: number; hint: string; keyType: string; pem: string; addedBy: string; owner?: string | null }): Promise<boolean>;
  listTrustedKeys(projectId: number): Promise<TrustedKeyRecord[]>;

  // artifacts, uploads, versions
  ensureArtifact(projectId: number, kind: ArtifactKindName, name: string): Promise<ArtifactRecord>;
  findArtifact(project: string, kind: ArtifactKindName, name: string): Promise<ArtifactRecord | undefined>;
  findArtifactById(id: number): Promise<ArtifactRecord | undefined>;
  listArtifacts(projectId: number, kind: ArtifactKindName): Promise<(ArtifactRecord & { versions: number; latest: number | null })[]>;
  createUpload(input: UploadRecord): Promise<void>;
  findUpload(id: string): Promise<UploadRecord | undefined>;
  recordUploadFile(uploadId: string, file: StoredFile): Promise<void>;
  listUploadFiles(uploadId: string): Promise<StoredFile[]>;
  deleteUpload(id: string): Promise<void>;
  deleteExpiredUploads(now: number): Promise<number>;
  /** In one transaction: the version, its files and attachments, and the upload removed. */
  commitVersion(input: NewVersion): Promise<VersionRecord>;
  findVersion(artifactId: number, digest: string): Promise<VersionRecord | undefined>;
  /** A version by project, kind, artifact name and digest, in one look-up. */
  findVersionByName(project: string, kind: ArtifactKindName, name: string, digest: string): Promise<VersionRecord | undefined>;
  listVersions(artifactId: number): Promise<VersionRecord[]>;
  versionFiles(versionId: number): Promise<StoredFile[]>;
  findVersionFile(versionId: number, name: string): Promise<StoredFile | undefined>;
  archiveVersion(versionId: number, at: number): Promise<void>;
  versionsWithScanStatus(status: string): Promise<VersionRecord[]>;
  setScanStatus(versionId: number, status: string): Promise<void>;
  addAttachment(versionId: number, attachment: AttachmentInput): Promise<AttachmentRecord>;
  listAttachments(versionId: number): Promise<AttachmentRecord[]>;
  /** Every blob digest a version or an open upload refers to (for garbage collection). */
  referencedBlobs(): Promise<Set<string>>;

  // governance: stages, aliases, policies, approvals, promotions
  findVersionById(id: number): Promise<VersionRecord | undefined>;
  versionsInStage(artifactId: number, stage: string): Promise<VersionRecord[]>;
  listAliases(artifactId: number): Promise<AliasRecord[]>;
  insertPolicy(input: { projectId: number; document: string; digest: string; comment: string; createdBy: string; at: number }): Promise<PolicyRecord>;
  findPolicy(projectId: number, version: number): Promise<PolicyRecord | undefined>;
  activePolicy(projectId: number): Promise<PolicyRecord | undefined>;
  listPolicies(projectId: number): Promise<PolicyRecord[]>;
  recordPolicyDecision(input: PolicyDecisionRecord): Promise<void>;
  listPolicyDecisions(policyId: number): Promise<PolicyDecisionRecord[]>;
  /** Compare-and-set: a proposed policy becomes active (the active one superseded); false if it was no longer proposed. */
  activatePolicy(policyId: number, projectId: number, at: number): Promise<boolean>;
  rejectPolicy(policyId: number, at: number): Promise<boolean>;
  addApproval(input: Omit<ApprovalRecord, 'id'>): Promise<ApprovalRecord>;
  listApprovals(versionId: number): Promise<ApprovalRecord[]>;
  /**
   * In one transaction: checks the version is still in `expectStage` and the project's active policy
   * is still `expectPolicyVersion` (CONFLICT otherwise), moves the version (or the alias), displaces
   * versions over the stage's limit, and records the promotion. Returns the promotion and the
   * versions displaced.
   */
  commitPromotion(input: NewPromotion): Promise<{ promotion: PromotionRecord; displaced: number[] }>;
  listPromotions(versionId: number): Promise<PromotionRecord[]>;

  // lineage
  addLineageEdges(edges: readonly LineageEdge[]): Promise<void>;
  edgesOf(versionIds: readonly number[]): Promise<LineageEdge[]>;
  /** Edges of a kind whose ref is one of `refs`. */
  edgesTo(kind: readonly string[], refs: readonly string[]): Promise<LineageEdge[]>;
  /** Versions by digest (in the given projects, or any when null). */
  versionsByDigest(digests: readonly string[], projectIds: readonly number[] | null): Promise<VersionRecord[]>;
  versionsByIds(ids: readonly number[]): Promise<VersionRecord[]>;
  /** Where versions are now, without their manifests (an impact walk lists tens of thousands). */
  versionPlacesByIds(ids: readonly number[]): Promise<VersionPlace[]>;

  // workload identity
  addOidcIssuer(input: Omit<OidcIssuerRecord, 'id' | 'project' | 'account' | 'createdAt'> & { at: number }): Promise<OidcIssuerRecord>;
  listOidcIssuers(projectId: number): Promise<OidcIssuerRecord[]>;
  /** Remembers a presented ID token until it expires; false when it was seen before (a replay). */
  rememberOidcToken(hash: string, expiresAt: number, now: number): Promise<boolean>;

  // usage of rights (credential hygiene)
  recordUsage(accountId: number, project: string, action: string, at: number): Promise<void>;
  listUsage(): Promise<UsageRecord[]>;

  // settings
  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;

  close(): Promise<void>;
}
