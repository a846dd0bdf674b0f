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
  disabled_at: Generated<number | null>;
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
  /** The account that holds the private key (a signer, for the two-person rule), when known. */
  owner: Generated<string | null>;
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
  /** candidate | staging | production | archived */
  stage: Generated<string>;
  stage_at: Generated<number | null>;
  /** 1 when the version reached its stage through break-glass. */
  forced: Generated<number>;
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
  kind: 'signature' | 'attestation' | 'scan' | 'vsa';
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

export interface PoliciesTable {
  id: Generated<number>;
  project_id: number;
  version: number;
  /** The YAML document as proposed. */
  document: string;
  /** SHA-256 of the canonical JSON of the parsed policy. */
  digest: string;
  /** proposed | active | superseded | rejected */
  status: string;
  comment: string;
  created_at: number;
  created_by: string;
  decided_at: number | null;
}

export interface PolicyDecisionsTable {
  policy_id: number;
  account: string;
  token_id: string;
  decision: string;
  comment: string;
  created_at: number;
}

export interface ApprovalsTable {
  id: Generated<number>;
  version_id: number;
  /** A stage or an alias name. */
  target: string;
  policy_version: number;
  policy_digest: string;
  account: string;
  token_id: string;
  /** approve | reject */
  decision: string;
  comment: string;
  /** The approval as an in-toto statement signed by the registry (a Sigstore bundle, JSON). */
  bundle: string;
  created_at: number;
}

export interface AliasesTable {
  artifact_id: number;
  name: string;
  version_id: number;
  set_at: number;
  set_by: string;
  forced: number;
}

export interface PromotionsTable {
  id: Generated<number>;
  version_id: number;
  target: string;
  from_stage: string;
  policy_version: number;
  policy_digest: string;
  requested_by: string;
  token_id: string;
  forced: number;
  reason: string;
  /** JSON: every requirement and its verdict. */
  evaluation: string;
  /** The signed VSA (a Sigstore bundle, JSON). */
  vsa: string;
  created_at: number;
}

export interface LineageEdgesTable {
  version_id: number;
  /** dataset | model | source | builder | key | token | account */
  kind: string;
  /** A digest, commit URI, builder id, key hint, token id or account name. */
  ref: string;
  label: string;
  verified: number;
  created_at: number;
}

export interface OidcIssuersTable {
  id: Generated<number>;
  project_id: number;
  issuer: string;
  audience: string;
  account_id: number;
  role: string;
  /** JSON: claim name → allowed values. */
  claims: string;
  /** JSON Web Key Set pinned from a file, or null to fetch it from the issuer. */
  jwks: string | null;
  ttl_seconds: number;
  created_at: number;
  created_by: string;
}

export interface OidcSeenTable {
  hash: string;
  expires_at: number;
}

export interface AccountUsageTable {
  account_id: number;
  project: string;
  action: string;
  last_used_at: number;
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
  policies: PoliciesTable;
  policy_decisions: PolicyDecisionsTable;
  approvals: ApprovalsTable;
  aliases: AliasesTable;
  promotions: PromotionsTable;
  lineage_edges: LineageEdgesTable;
  oidc_issuers: OidcIssuersTable;
  oidc_seen: OidcSeenTable;
  account_usage: AccountUsageTable;
}
