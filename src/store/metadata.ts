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
}

export interface AttachmentInput {
  kind: 'signature' | 'attestation' | 'scan';
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

export interface MetadataStore {
  // accounts
  createAccount(input: { name: string; kind: AccountKind; serverAdmin: boolean; passwordHash: string | null; createdBy: string }): Promise<AccountRecord>;
  findAccount(name: string): Promise<AccountRecord | undefined>;
  findAccountById(id: number): Promise<AccountRecord | undefined>;
  listAccounts(): Promise<AccountRecord[]>;
  setPassword(accountId: number, passwordHash: string): Promise<void>;
  countAccounts(): Promise<number>;

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
  addTrustedKey(input: { projectId: number; hint: string; keyType: string; pem: string; addedBy: string }): Promise<boolean>;
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

  // settings
  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;

  close(): Promise<void>;
}
