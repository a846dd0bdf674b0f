import type { Generated } from 'kysely';

/**
 * The registry's tables as Kysely sees them. Times are milliseconds since the epoch; JSON columns
 * hold text; booleans are 0/1 (SQLite has no boolean type, and PostgreSQL accepts integers too).
 * The audit library keeps its own tables (prefixed `audit_`) in the same database.
 */
export interface AccountsTable {
  id: Generated<number>;
  name: string;
  kind: 'user' | 'service';
  server_admin: number;
  password_hash: string | null;
  created_at: number;
  created_by: string;
}

export interface ProjectsTable {
  id: Generated<number>;
  name: string;
  created_at: number;
  created_by: string;
}

export interface GrantsTable {
  project_id: number;
  account_id: number;
  role: string;
  /** JSON array of model names (trainers), or null for any. */
  models: string | null;
  granted_at: number;
  granted_by: string;
}

export interface TokensTable {
  id: string;
  account_id: number;
  /** SHA-256 hex of the token. */
  hash: string;
  project_id: number | null;
  /** JSON array of actions, or null for every action the account holds. */
  actions: string | null;
  description: string;
  created_at: number;
  created_by: string;
  expires_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface TrustedKeysTable {
  project_id: number;
  hint: string;
  key_type: string;
  pem: string;
  added_at: number;
  added_by: string;
}

export interface ArtifactsTable {
  id: Generated<number>;
  project_id: number;
  kind: 'model' | 'dataset';
  name: string;
  created_at: number;
}

export interface UploadsTable {
  id: string;
  artifact_id: number;
  account_id: number;
  digest: string;
  /** JSON: the validated manifest. */
  manifest: string;
  /** JSON: signature and attestation bundles sent with the upload. */
  bundles: string;
  created_at: number;
  expires_at: number;
}

export interface UploadFilesTable {
  upload_id: string;
  name: string;
  sha256: string;
  size: number;
}

export interface VersionsTable {
  id: Generated<number>;
  artifact_id: number;
  digest: string;
  manifest: string;
  files: number;
  bytes: number;
  status: 'active' | 'archived';
  scan_status: string;
  created_at: number;
  created_by: string;
  archived_at: number | null;
}

export interface VersionFilesTable {
  version_id: number;
  name: string;
  sha256: string;
  size: number;
}

export interface AttachmentsTable {
  id: Generated<number>;
  version_id: number;
  kind: 'signature' | 'attestation' | 'scan';
  predicate_type: string;
  bundle: string;
  verified: number;
  /** JSON: signer, error code and message, scan findings. */
  result: string;
  created_at: number;
  created_by: string;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface Database {
  accounts: AccountsTable;
  projects: ProjectsTable;
  grants: GrantsTable;
  tokens: TokensTable;
  trusted_keys: TrustedKeysTable;
  artifacts: ArtifactsTable;
  uploads: UploadsTable;
  upload_files: UploadFilesTable;
  versions: VersionsTable;
  version_files: VersionFilesTable;
  attachments: AttachmentsTable;
  settings: SettingsTable;
}
