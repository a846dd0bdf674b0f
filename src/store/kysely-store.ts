import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type Selectable, type SqliteDatabase, type SqliteStatement } from 'kysely';
import { Migrator } from 'kysely';
import { CustodyError } from '../core/errors.js';
import type {
  AccountRecord,
  AliasRecord,
  ApprovalRecord,
  LineageEdge,
  NewPromotion,
  OidcIssuerRecord,
  PolicyDecisionRecord,
  PolicyRecord,
  PromotionRecord,
  UsageRecord,
  ArtifactKindName,
  ArtifactRecord,
  AttachmentInput,
  AttachmentRecord,
  GrantRecord,
  MetadataStore,
  NewVersion,
  ProjectRecord,
  StoredFile,
  TokenRecord,
  TrustedKeyRecord,
  UploadRecord,
  VersionPlace,
  VersionRecord,
} from './metadata.js';
import { migrationProvider } from './migrations.js';
import type { AccountsTable, ApprovalsTable, AttachmentsTable, Database, OidcIssuersTable, PoliciesTable, PromotionsTable, TokensTable, VersionsTable } from './schema.js';

type SqliteHandle = BetterSqlite3.Database;

/**
 * Opens (creating if needed) the SQLite database of a data directory: WAL journal, foreign keys on,
 * `synchronous = NORMAL` (a committed transaction survives a crash of the process; a power loss may
 * drop the last few but never corrupts), a busy timeout for the rare second process.
 */
export function openSqlite(path: string): SqliteHandle {
  let db: SqliteHandle;
  try {
    db = new BetterSqlite3(path);
  } catch (error) {
    throw new CustodyError('IO_ERROR', `cannot open the registry database: ${(error as Error).message}`, { cause: error });
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Applies every pending migration; throws IO_ERROR naming the one that failed. */
export async function migrate(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? '(unknown)';
    throw new CustodyError('IO_ERROR', `database migration ${failed} failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

const toAccount = (row: Selectable<AccountsTable>): AccountRecord => ({
  id: row.id,
  name: row.name,
  kind: row.kind,
  serverAdmin: row.server_admin === 1,
  passwordHash: row.password_hash,
  createdAt: row.created_at,
  createdBy: row.created_by,
  disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
});

const parseList = (text: string | null): string[] | null => (text === null ? null : (JSON.parse(text) as string[]));

const toAttachment = (row: Selectable<AttachmentsTable>): AttachmentRecord => ({
  id: row.id,
  versionId: row.version_id,
  kind: row.kind,
  predicateType: row.predicate_type,
  bundle: row.bundle,
  verified: row.verified === 1,
  result: row.result,
  createdAt: row.created_at,
  createdBy: row.created_by,
});

/** The metadata store over Kysely. Queries are portable SQL; only openSqlite is SQLite-specific. */
export class KyselyMetadataStore implements MetadataStore {
  readonly db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  /** A store on a better-sqlite3 handle (shared with the audit log's tables), migrated. */
  static async openSqlite(handle: SqliteHandle): Promise<KyselyMetadataStore> {
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(handle) }) });
    await migrate(db);
    return new KyselyMetadataStore(db);
  }

  async createAccount(input: { name: string; kind: 'user' | 'service'; serverAdmin: boolean; passwordHash: string | null; createdBy: string }): Promise<AccountRecord> {
    const row = await this.db
      .insertInto('accounts')
      .values({ name: input.name, kind: input.kind, server_admin: input.serverAdmin ? 1 : 0, password_hash: input.passwordHash, created_at: Date.now(), created_by: input.createdBy })
      .returningAll()
      .executeTakeFirstOrThrow()
      .catch(uniqueToConflict(`account ${input.name} already exists`));
    return toAccount(row);
  }

  async findAccount(name: string): Promise<AccountRecord | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toAccount(row) : undefined;
  }

  async findAccountById(id: number): Promise<AccountRecord | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toAccount(row) : undefined;
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (await this.db.selectFrom('accounts').selectAll().orderBy('name').execute()).map(toAccount);
  }

  async setPassword(accountId: number, passwordHash: string): Promise<void> {
    await this.db.updateTable('accounts').set({ password_hash: passwordHash }).where('id', '=', accountId).execute();
  }

  async disableAccount(accountId: number, at: number): Promise<void> {
    await this.db.updateTable('accounts').set({ disabled_at: at }).where('id', '=', accountId).where('disabled_at', 'is', null).execute();
  }

  async countAccounts(): Promise<number> {
    const row = await this.db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async createProject(input: { name: string; createdBy: string }): Promise<ProjectRecord> {
    const row = await this.db
      .insertInto('projects')
      .values({ name: input.name, created_at: Date.now(), created_by: input.createdBy })
      .returningAll()
      .executeTakeFirstOrThrow()
      .catch(uniqueToConflict(`project ${input.name} already exists`));
    return { id: row.id, name: row.name, createdAt: row.created_at, createdBy: row.created_by };
  }

  async findProject(name: string): Promise<ProjectRecord | undefined> {
    const row = await this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? { id: row.id, name: row.name, createdAt: row.created_at, createdBy: row.created_by } : undefined;
  }

  async listProjects(): Promise<ProjectRecord[]> {
    const rows = await this.db.selectFrom('projects').selectAll().orderBy('name').execute();
    return rows.map((row) => ({ id: row.id, name: row.name, createdAt: row.created_at, createdBy: row.created_by }));
  }

  async setGrant(input: { projectId: number; accountId: number; role: string; models: string[] | null; grantedBy: string }): Promise<void> {
    const values = { project_id: input.projectId, account_id: input.accountId, role: input.role, models: input.models === null ? null : JSON.stringify(input.models), granted_at: Date.now(), granted_by: input.grantedBy };
    await this.db
      .insertInto('grants')
      .values(values)
      .onConflict((oc) => oc.columns(['project_id', 'account_id']).doUpdateSet({ role: values.role, models: values.models, granted_at: values.granted_at, granted_by: values.granted_by }))
      .execute();
  }

  async removeGrant(projectId: number, accountId: number): Promise<boolean> {
    const result = await this.db.deleteFrom('grants').where('project_id', '=', projectId).where('account_id', '=', accountId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  private grantQuery() {
    return this.db
      .selectFrom('grants')
      .innerJoin('projects', 'projects.id', 'grants.project_id')
      .innerJoin('accounts', 'accounts.id', 'grants.account_id')
      .select(['projects.name as project', 'accounts.name as account', 'accounts.kind as account_kind', 'grants.role', 'grants.models', 'grants.granted_at', 'grants.granted_by']);
  }

  private static toGrant(row: { project: string; account: string; account_kind: 'user' | 'service'; role: string; models: string | null; granted_at: number; granted_by: string }): GrantRecord {
    return { project: row.project, account: row.account, accountKind: row.account_kind, role: row.role, models: parseList(row.models), grantedAt: row.granted_at, grantedBy: row.granted_by };
  }

  async listGrants(projectId: number): Promise<GrantRecord[]> {
    return (await this.grantQuery().where('grants.project_id', '=', projectId).orderBy('accounts.name').execute()).map(KyselyMetadataStore.toGrant);
  }

  async grantsOf(accountId: number): Promise<GrantRecord[]> {
    return (await this.grantQuery().where('grants.account_id', '=', accountId).orderBy('projects.name').execute()).map(KyselyMetadataStore.toGrant);
  }

  private tokenQuery() {
    return this.db
      .selectFrom('tokens')
      .innerJoin('accounts', 'accounts.id', 'tokens.account_id')
      .leftJoin('projects', 'projects.id', 'tokens.project_id')
      .selectAll('tokens')
      .select(['accounts.name as account_name', 'accounts.kind as account_kind', 'accounts.server_admin as account_server_admin', 'accounts.disabled_at as account_disabled_at', 'projects.name as project_name']);
  }

  private static toToken(row: Selectable<TokensTable> & { account_name: string; account_kind: 'user' | 'service'; account_server_admin: number; account_disabled_at: number | null; project_name: string | null }): TokenRecord {
    return {
      accountDisabledAt: row.account_disabled_at === null ? null : Number(row.account_disabled_at),
      id: row.id,
      accountId: row.account_id,
      account: row.account_name,
      accountKind: row.account_kind,
      accountServerAdmin: row.account_server_admin === 1,
      hash: row.hash,
      project: row.project_name,
      actions: parseList(row.actions),
      description: row.description,
      createdAt: row.created_at,
      createdBy: row.created_by,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
      lastUsedAt: row.last_used_at,
    };
  }

  async insertToken(input: Omit<TokenRecord, 'account' | 'accountKind' | 'accountServerAdmin' | 'project' | 'revokedAt' | 'lastUsedAt'> & { projectId: number | null }): Promise<void> {
    await this.db
      .insertInto('tokens')
      .values({
        id: input.id,
        account_id: input.accountId,
        hash: input.hash,
        project_id: input.projectId,
        actions: input.actions === null ? null : JSON.stringify(input.actions),
        description: input.description,
        created_at: input.createdAt,
        created_by: input.createdBy,
        expires_at: input.expiresAt,
        revoked_at: null,
        last_used_at: null,
      })
      .execute();
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const row = await this.tokenQuery().where('tokens.hash', '=', hash).executeTakeFirst();
    return row ? KyselyMetadataStore.toToken(row) : undefined;
  }

  async findToken(id: string): Promise<TokenRecord | undefined> {
    const row = await this.tokenQuery().where('tokens.id', '=', id).executeTakeFirst();
    return row ? KyselyMetadataStore.toToken(row) : undefined;
  }

  async listTokens(accountId: number | null): Promise<TokenRecord[]> {
    let query = this.tokenQuery();
    if (accountId !== null) query = query.where('tokens.account_id', '=', accountId);
    return (await query.orderBy('tokens.created_at').orderBy('tokens.id').execute()).map(KyselyMetadataStore.toToken);
  }

  async revokeToken(id: string, at: number): Promise<boolean> {
    const result = await this.db.updateTable('tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async touchToken(id: string, at: number): Promise<void> {
    await this.db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async addTrustedKey(input: { projectId: number; hint: string; keyType: string; pem: string; addedBy: string; owner?: string | null }): Promise<boolean> {
    const result = await this.db
      .insertInto('trusted_keys')
      .values({ project_id: input.projectId, hint: input.hint, key_type: input.keyType, pem: input.pem, added_at: Date.now(), added_by: input.addedBy, owner: input.owner ?? null })
      .onConflict((oc) => oc.columns(['project_id', 'hint']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async listTrustedKeys(projectId: number): Promise<TrustedKeyRecord[]> {
    const rows = await this.db
      .selectFrom('trusted_keys')
      .innerJoin('projects', 'projects.id', 'trusted_keys.project_id')
      .select(['projects.name as project', 'trusted_keys.hint', 'trusted_keys.key_type', 'trusted_keys.pem', 'trusted_keys.added_at', 'trusted_keys.added_by', 'trusted_keys.owner'])
      .where('trusted_keys.project_id', '=', projectId)
      .orderBy('trusted_keys.added_at')
      .orderBy('trusted_keys.hint')
      .execute();
    return rows.map((r) => ({ project: r.project, hint: r.hint, keyType: r.key_type, pem: r.pem, addedAt: r.added_at, addedBy: r.added_by, owner: r.owner }));
  }

  async ensureArtifact(projectId: number, kind: ArtifactKindName, name: string): Promise<ArtifactRecord> {
    await this.db
      .insertInto('artifacts')
      .values({ project_id: projectId, kind, name, created_at: Date.now() })
      .onConflict((oc) => oc.columns(['project_id', 'kind', 'name']).doNothing())
      .execute();
    const row = await this.artifactQuery().where('artifacts.project_id', '=', projectId).where('artifacts.kind', '=', kind).where('artifacts.name', '=', name).executeTakeFirstOrThrow();
    return { id: row.id, project: row.project, kind: row.kind, name: row.name, createdAt: row.created_at };
  }

  private artifactQuery() {
    return this.db.selectFrom('artifacts').innerJoin('projects', 'projects.id', 'artifacts.project_id').selectAll('artifacts').select('projects.name as project');
  }

  async findArtifact(project: string, kind: ArtifactKindName, name: string): Promise<ArtifactRecord | undefined> {
    const row = await this.artifactQuery().where('projects.name', '=', project).where('artifacts.kind', '=', kind).where('artifacts.name', '=', name).executeTakeFirst();
    return row ? { id: row.id, project: row.project, kind: row.kind, name: row.name, createdAt: row.created_at } : undefined;
  }

  async findArtifactById(id: number): Promise<ArtifactRecord | undefined> {
    const row = await this.artifactQuery().where('artifacts.id', '=', id).executeTakeFirst();
    return row ? { id: row.id, project: row.project, kind: row.kind, name: row.name, createdAt: row.created_at } : undefined;
  }

  async listArtifacts(projectId: number, kind: ArtifactKindName): Promise<(ArtifactRecord & { versions: number; latest: number | null })[]> {
    const rows = await this.artifactQuery()
      .leftJoin('versions', 'versions.artifact_id', 'artifacts.id')
      .select((eb) => [eb.fn.count<number>('versions.id').as('versions'), eb.fn.max('versions.created_at').as('latest')])
      .where('artifacts.project_id', '=', projectId)
      .where('artifacts.kind', '=', kind)
      .groupBy('artifacts.id')
      .having((eb) => eb.fn.count('versions.id'), '>', 0)
      .orderBy('artifacts.name')
      .execute();
    return rows.map((r) => ({ id: r.id, project: r.project, kind: r.kind, name: r.name, createdAt: r.created_at, versions: Number(r.versions), latest: r.latest === null ? null : Number(r.latest) }));
  }

  async createUpload(input: UploadRecord): Promise<void> {
    await this.db
      .insertInto('uploads')
      .values({ id: input.id, artifact_id: input.artifactId, account_id: input.accountId, digest: input.digest, manifest: input.manifest, bundles: input.bundles, created_at: input.createdAt, expires_at: input.expiresAt })
      .execute();
  }

  async findUpload(id: string): Promise<UploadRecord | undefined> {
    const row = await this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return row
      ? { id: row.id, artifactId: row.artifact_id, accountId: row.account_id, digest: row.digest, manifest: row.manifest, bundles: row.bundles, createdAt: row.created_at, expiresAt: row.expires_at }
      : undefined;
  }

  async recordUploadFile(uploadId: string, file: StoredFile): Promise<void> {
    await this.db
      .insertInto('upload_files')
      .values({ upload_id: uploadId, name: file.name, sha256: file.sha256, size: file.size })
      .onConflict((oc) => oc.columns(['upload_id', 'name']).doUpdateSet({ sha256: file.sha256, size: file.size }))
      .execute();
  }

  async listUploadFiles(uploadId: string): Promise<StoredFile[]> {
    return this.db.selectFrom('upload_files').select(['name', 'sha256', 'size']).where('upload_id', '=', uploadId).execute();
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('upload_files').where('upload_id', '=', id).execute();
      await trx.deleteFrom('uploads').where('id', '=', id).execute();
    });
  }

  async deleteExpiredUploads(now: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const expired = (await trx.selectFrom('uploads').select('id').where('expires_at', '<', now).execute()).map((r) => r.id);
      if (expired.length === 0) return 0;
      await trx.deleteFrom('upload_files').where('upload_id', 'in', expired).execute();
      await trx.deleteFrom('uploads').where('id', 'in', expired).execute();
      return expired.length;
    });
  }

  async commitVersion(input: NewVersion): Promise<VersionRecord> {
    const id = await this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('versions').select('id').where('artifact_id', '=', input.artifactId).where('digest', '=', input.digest).executeTakeFirst();
      if (existing) throw new CustodyError('CONFLICT', `version ${input.digest} already exists; versions are never overwritten`, { details: { version: input.digest } });
      const now = Date.now();
      const version = await trx
        .insertInto('versions')
        .values({ artifact_id: input.artifactId, digest: input.digest, manifest: input.manifest, files: input.files.length, bytes: input.bytes, status: 'active', scan_status: 'pending', created_at: now, created_by: input.createdBy, archived_at: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      for (let i = 0; i < input.files.length; i += 500) {
        const batch = input.files.slice(i, i + 500).map((f) => ({ version_id: version.id, name: f.name, sha256: f.sha256, size: f.size }));
        await trx.insertInto('version_files').values(batch).execute();
      }
      for (const a of input.attachments) {
        await trx
          .insertInto('attachments')
          .values({ version_id: version.id, kind: a.kind, predicate_type: a.predicateType, bundle: a.bundle, verified: a.verified ? 1 : 0, result: a.result, created_at: now, created_by: a.createdBy })
          .execute();
      }
      await trx.deleteFrom('upload_files').where('upload_id', '=', input.uploadId).execute();
      await trx.deleteFrom('uploads').where('id', '=', input.uploadId).execute();
      return version.id;
    });
    const record = await this.versionQuery().where('versions.id', '=', id).executeTakeFirstOrThrow();
    return KyselyMetadataStore.toVersion(record);
  }

  private versionQuery() {
    return this.db
      .selectFrom('versions')
      .innerJoin('artifacts', 'artifacts.id', 'versions.artifact_id')
      .innerJoin('projects', 'projects.id', 'artifacts.project_id')
      .selectAll('versions')
      .select(['projects.name as project', 'artifacts.kind as kind', 'artifacts.name as name']);
  }

  private static toVersion(row: Selectable<VersionsTable> & { project: string; kind: 'model' | 'dataset'; name: string }): VersionRecord {
    return {
      id: row.id,
      artifactId: row.artifact_id,
      project: row.project,
      kind: row.kind,
      name: row.name,
      digest: row.digest,
      manifest: row.manifest,
      files: row.files,
      bytes: Number(row.bytes),
      status: row.status,
      scanStatus: row.scan_status,
      createdAt: row.created_at,
      createdBy: row.created_by,
      archivedAt: row.archived_at,
      stage: row.stage,
      stageAt: row.stage_at === null ? null : Number(row.stage_at),
      forced: row.forced === 1,
    };
  }

  async findVersion(artifactId: number, digest: string): Promise<VersionRecord | undefined> {
    const row = await this.versionQuery().where('versions.artifact_id', '=', artifactId).where('versions.digest', '=', digest).executeTakeFirst();
    return row ? KyselyMetadataStore.toVersion(row) : undefined;
  }

  async findVersionByName(project: string, kind: ArtifactKindName, name: string, digest: string): Promise<VersionRecord | undefined> {
    const row = await this.versionQuery().where('projects.name', '=', project).where('artifacts.kind', '=', kind).where('artifacts.name', '=', name).where('versions.digest', '=', digest).executeTakeFirst();
    return row ? KyselyMetadataStore.toVersion(row) : undefined;
  }

  async listVersions(artifactId: number): Promise<VersionRecord[]> {
    return (await this.versionQuery().where('versions.artifact_id', '=', artifactId).orderBy('versions.created_at', 'desc').orderBy('versions.id', 'desc').execute()).map(KyselyMetadataStore.toVersion);
  }

  async listVersionsPage(artifactId: number, offset: number, limit: number): Promise<{ total: number; versions: VersionRecord[] }> {
    const counted = await this.db.selectFrom('versions').select((eb) => eb.fn.countAll<number>().as('n')).where('artifact_id', '=', artifactId).executeTakeFirst();
    const rows = await this.versionQuery().where('versions.artifact_id', '=', artifactId).orderBy('versions.created_at', 'desc').orderBy('versions.id', 'desc').limit(limit).offset(offset).execute();
    return { total: Number(counted?.n ?? 0), versions: rows.map(KyselyMetadataStore.toVersion) };
  }

  async versionFiles(versionId: number): Promise<StoredFile[]> {
    const rows = await this.db.selectFrom('version_files').select(['name', 'sha256', 'size']).where('version_id', '=', versionId).orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, sha256: r.sha256, size: Number(r.size) }));
  }

  async findVersionFile(versionId: number, name: string): Promise<StoredFile | undefined> {
    const row = await this.db.selectFrom('version_files').select(['name', 'sha256', 'size']).where('version_id', '=', versionId).where('name', '=', name).executeTakeFirst();
    return row ? { name: row.name, sha256: row.sha256, size: Number(row.size) } : undefined;
  }

  async archiveVersion(versionId: number, at: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('versions').set({ status: 'archived', archived_at: at, stage: 'archived', stage_at: at }).where('id', '=', versionId).where('status', '=', 'active').execute();
      await trx.deleteFrom('aliases').where('version_id', '=', versionId).execute();
    });
  }

  async versionsWithScanStatus(status: string): Promise<VersionRecord[]> {
    return (await this.versionQuery().where('versions.scan_status', '=', status).orderBy('versions.id').execute()).map(KyselyMetadataStore.toVersion);
  }

  async setScanStatus(versionId: number, status: string): Promise<void> {
    await this.db.updateTable('versions').set({ scan_status: status }).where('id', '=', versionId).execute();
  }

  async addAttachment(versionId: number, a: AttachmentInput): Promise<AttachmentRecord> {
    const row = await this.db
      .insertInto('attachments')
      .values({ version_id: versionId, kind: a.kind, predicate_type: a.predicateType, bundle: a.bundle, verified: a.verified ? 1 : 0, result: a.result, created_at: Date.now(), created_by: a.createdBy })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toAttachment(row);
  }

  async listAttachments(versionId: number): Promise<AttachmentRecord[]> {
    return (await this.db.selectFrom('attachments').selectAll().where('version_id', '=', versionId).orderBy('id').execute()).map(toAttachment);
  }

  async referencedBlobs(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('version_files').select('sha256').union(this.db.selectFrom('upload_files').select('sha256')).execute();
    return new Set(rows.map((r) => r.sha256));
  }

  // ------------------------------------------------------------------------------------------------
  // governance

  async findVersionById(id: number): Promise<VersionRecord | undefined> {
    const row = await this.versionQuery().where('versions.id', '=', id).executeTakeFirst();
    return row ? KyselyMetadataStore.toVersion(row) : undefined;
  }

  async versionsInStage(artifactId: number, stage: string): Promise<VersionRecord[]> {
    const rows = await this.versionQuery().where('versions.artifact_id', '=', artifactId).where('versions.stage', '=', stage).orderBy('versions.stage_at', 'desc').orderBy('versions.id', 'desc').execute();
    return rows.map(KyselyMetadataStore.toVersion);
  }

  async listAliases(artifactId: number): Promise<AliasRecord[]> {
    const rows = await this.db
      .selectFrom('aliases')
      .innerJoin('versions', 'versions.id', 'aliases.version_id')
      .selectAll('aliases')
      .select('versions.digest as digest')
      .where('aliases.artifact_id', '=', artifactId)
      .orderBy('aliases.name')
      .execute();
    return rows.map((r) => ({ artifactId: r.artifact_id, name: r.name, versionId: r.version_id, digest: r.digest, setAt: r.set_at, setBy: r.set_by, forced: r.forced === 1 }));
  }

  private static toPolicy(r: Selectable<PoliciesTable>): PolicyRecord {
    return { id: r.id, projectId: r.project_id, version: r.version, document: r.document, digest: r.digest, status: r.status as PolicyRecord['status'], comment: r.comment, createdAt: r.created_at, createdBy: r.created_by, decidedAt: r.decided_at };
  }

  async insertPolicy(input: { projectId: number; document: string; digest: string; comment: string; createdBy: string; at: number }): Promise<PolicyRecord> {
    const row = await this.db.transaction().execute(async (trx) => {
      const last = await trx.selectFrom('policies').select((eb) => eb.fn.max('version').as('v')).where('project_id', '=', input.projectId).executeTakeFirst();
      const version = Number(last?.v ?? 0) + 1;
      return trx
        .insertInto('policies')
        .values({ project_id: input.projectId, version, document: input.document, digest: input.digest, status: 'proposed', comment: input.comment, created_at: input.at, created_by: input.createdBy, decided_at: null })
        .returningAll()
        .executeTakeFirstOrThrow();
    });
    return KyselyMetadataStore.toPolicy(row);
  }

  async findPolicy(projectId: number, version: number): Promise<PolicyRecord | undefined> {
    const row = await this.db.selectFrom('policies').selectAll().where('project_id', '=', projectId).where('version', '=', version).executeTakeFirst();
    return row ? KyselyMetadataStore.toPolicy(row) : undefined;
  }

  async activePolicy(projectId: number): Promise<PolicyRecord | undefined> {
    const row = await this.db.selectFrom('policies').selectAll().where('project_id', '=', projectId).where('status', '=', 'active').executeTakeFirst();
    return row ? KyselyMetadataStore.toPolicy(row) : undefined;
  }

  async listPolicies(projectId: number): Promise<PolicyRecord[]> {
    return (await this.db.selectFrom('policies').selectAll().where('project_id', '=', projectId).orderBy('version').execute()).map(KyselyMetadataStore.toPolicy);
  }

  async recordPolicyDecision(input: PolicyDecisionRecord): Promise<void> {
    const values = { policy_id: input.policyId, account: input.account, token_id: input.tokenId, decision: input.decision, comment: input.comment, created_at: input.createdAt };
    await this.db
      .insertInto('policy_decisions')
      .values(values)
      .onConflict((oc) => oc.columns(['policy_id', 'account']).doUpdateSet({ token_id: values.token_id, decision: values.decision, comment: values.comment, created_at: values.created_at }))
      .execute();
  }

  async listPolicyDecisions(policyId: number): Promise<PolicyDecisionRecord[]> {
    const rows = await this.db.selectFrom('policy_decisions').selectAll().where('policy_id', '=', policyId).orderBy('created_at').execute();
    return rows.map((r) => ({ policyId: r.policy_id, account: r.account, tokenId: r.token_id, decision: r.decision as 'approve' | 'reject', comment: r.comment, createdAt: r.created_at }));
  }

  async activatePolicy(policyId: number, projectId: number, at: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('policies').select('status').where('id', '=', policyId).where('project_id', '=', projectId).executeTakeFirst();
      if (row?.status !== 'proposed') return false;
      await trx.updateTable('policies').set({ status: 'superseded', decided_at: at }).where('project_id', '=', projectId).where('status', '=', 'active').execute();
      await trx.updateTable('policies').set({ status: 'active', decided_at: at }).where('id', '=', policyId).execute();
      return true;
    });
  }

  async rejectPolicy(policyId: number, at: number): Promise<boolean> {
    const result = await this.db.updateTable('policies').set({ status: 'rejected', decided_at: at }).where('id', '=', policyId).where('status', '=', 'proposed').executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  private static toApproval(r: Selectable<ApprovalsTable>): ApprovalRecord {
    return { id: r.id, versionId: r.version_id, target: r.target, policyVersion: r.policy_version, policyDigest: r.policy_digest, account: r.account, tokenId: r.token_id, decision: r.decision as 'approve' | 'reject', comment: r.comment, bundle: r.bundle, createdAt: r.created_at };
  }

  async addApproval(input: Omit<ApprovalRecord, 'id'>): Promise<ApprovalRecord> {
    const row = await this.db
      .insertInto('approvals')
      .values({ version_id: input.versionId, target: input.target, policy_version: input.policyVersion, policy_digest: input.policyDigest, account: input.account, token_id: input.tokenId, decision: input.decision, comment: input.comment, bundle: input.bundle, created_at: input.createdAt })
      .returningAll()
      .executeTakeFirstOrThrow();
    return KyselyMetadataStore.toApproval(row);
  }

  async listApprovals(versionId: number): Promise<ApprovalRecord[]> {
    return (await this.db.selectFrom('approvals').selectAll().where('version_id', '=', versionId).orderBy('id').execute()).map(KyselyMetadataStore.toApproval);
  }

  private static toPromotion(r: Selectable<PromotionsTable>): PromotionRecord {
    return {
      id: r.id,
      versionId: r.version_id,
      target: r.target,
      fromStage: r.from_stage,
      policyVersion: r.policy_version,
      policyDigest: r.policy_digest,
      requestedBy: r.requested_by,
      tokenId: r.token_id,
      forced: r.forced === 1,
      reason: r.reason,
      evaluation: r.evaluation,
      vsa: r.vsa,
      createdAt: r.created_at,
    };
  }

  async commitPromotion(input: NewPromotion): Promise<{ promotion: PromotionRecord; displaced: number[] }> {
    return this.db.transaction().execute(async (trx) => {
      const version = await trx.selectFrom('versions').select(['stage', 'status']).where('id', '=', input.versionId).executeTakeFirst();
      if (!version || version.stage !== input.expectStage || version.status !== 'active') {
        throw new CustodyError('CONFLICT', `the version moved (it is ${version?.stage ?? 'gone'} now, it was ${input.expectStage} when the policy was evaluated); evaluate again`);
      }
      const active = await trx.selectFrom('policies').select('version').where('project_id', '=', input.projectId).where('status', '=', 'active').executeTakeFirst();
      if ((active?.version ?? 0) !== input.expectPolicyVersion) {
        throw new CustodyError('CONFLICT', `the project's policy changed (version ${active?.version ?? 0} is active, ${input.expectPolicyVersion} was evaluated); evaluate again`);
      }
      const displaced: number[] = [];
      if (input.alias) {
        await trx
          .insertInto('aliases')
          .values({ artifact_id: input.artifactId, name: input.target, version_id: input.versionId, set_at: input.at, set_by: input.requestedBy, forced: input.forced ? 1 : 0 })
          .onConflict((oc) => oc.columns(['artifact_id', 'name']).doUpdateSet({ version_id: input.versionId, set_at: input.at, set_by: input.requestedBy, forced: input.forced ? 1 : 0 }))
          .execute();
      } else {
        const archived = input.target === 'archived';
        await trx
          .updateTable('versions')
          .set({ stage: input.target, stage_at: input.at, forced: input.forced ? 1 : 0, ...(archived ? { status: 'archived' as const, archived_at: input.at } : {}) })
          .where('id', '=', input.versionId)
          .execute();
        if (archived) await trx.deleteFrom('aliases').where('version_id', '=', input.versionId).execute();
        if (input.maxInStage !== null) {
          const holders = await trx.selectFrom('versions').select('id').where('artifact_id', '=', input.artifactId).where('stage', '=', input.target).where('id', '!=', input.versionId).orderBy('stage_at', 'desc').orderBy('id', 'desc').execute();
          for (const h of holders.slice(Math.max(0, input.maxInStage - 1))) {
            await trx.updateTable('versions').set({ stage: input.displaceTo, stage_at: input.at, forced: 0 }).where('id', '=', h.id).execute();
            displaced.push(h.id);
          }
        }
      }
      const row = await trx
        .insertInto('promotions')
        .values({
          version_id: input.versionId,
          target: input.target,
          from_stage: input.expectStage,
          policy_version: input.policyVersion,
          policy_digest: input.policyDigest,
          requested_by: input.requestedBy,
          token_id: input.tokenId,
          forced: input.forced ? 1 : 0,
          reason: input.reason,
          evaluation: input.evaluation,
          vsa: input.vsa,
          created_at: input.at,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { promotion: KyselyMetadataStore.toPromotion(row), displaced };
    });
  }

  async listPromotions(versionId: number): Promise<PromotionRecord[]> {
    return (await this.db.selectFrom('promotions').selectAll().where('version_id', '=', versionId).orderBy('id').execute()).map(KyselyMetadataStore.toPromotion);
  }

  async addLineageEdges(edges: readonly LineageEdge[]): Promise<void> {
    if (edges.length === 0) return;
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < edges.length; i += 200) {
        const batch = edges.slice(i, i + 200).map((e) => ({ version_id: e.versionId, kind: e.kind, ref: e.ref, label: e.label, verified: e.verified ? 1 : 0, created_at: now }));
        await trx.insertInto('lineage_edges').values(batch).execute();
      }
    });
  }

  private static toEdge(r: { version_id: number; kind: string; ref: string; label: string; verified: number }): LineageEdge {
    return { versionId: r.version_id, kind: r.kind, ref: r.ref, label: r.label, verified: r.verified === 1 };
  }

  async edgesOf(versionIds: readonly number[]): Promise<LineageEdge[]> {
    const out: LineageEdge[] = [];
    for (let i = 0; i < versionIds.length; i += 500) {
      const rows = await this.db.selectFrom('lineage_edges').select(['version_id', 'kind', 'ref', 'label', 'verified']).where('version_id', 'in', versionIds.slice(i, i + 500)).execute();
      out.push(...rows.map(KyselyMetadataStore.toEdge));
    }
    return out;
  }

  async edgesTo(kinds: readonly string[], refs: readonly string[]): Promise<LineageEdge[]> {
    const out: LineageEdge[] = [];
    for (let i = 0; i < refs.length; i += 500) {
      const rows = await this.db.selectFrom('lineage_edges').select(['version_id', 'kind', 'ref', 'label', 'verified']).where('kind', 'in', [...kinds]).where('ref', 'in', refs.slice(i, i + 500)).execute();
      out.push(...rows.map(KyselyMetadataStore.toEdge));
    }
    return out;
  }

  async versionsByDigest(digests: readonly string[], projectIds: readonly number[] | null): Promise<VersionRecord[]> {
    const out: VersionRecord[] = [];
    for (let i = 0; i < digests.length; i += 500) {
      let query = this.versionQuery().where('versions.digest', 'in', digests.slice(i, i + 500));
      if (projectIds !== null) query = query.where('artifacts.project_id', 'in', projectIds.length > 0 ? [...projectIds] : [-1]);
      out.push(...(await query.execute()).map(KyselyMetadataStore.toVersion));
    }
    return out;
  }

  async versionsByIds(ids: readonly number[]): Promise<VersionRecord[]> {
    const out: VersionRecord[] = [];
    for (let i = 0; i < ids.length; i += 500) out.push(...(await this.versionQuery().where('versions.id', 'in', ids.slice(i, i + 500)).execute()).map(KyselyMetadataStore.toVersion));
    return out;
  }

  async versionPlacesByIds(ids: readonly number[]): Promise<VersionPlace[]> {
    const out: VersionPlace[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db
        .selectFrom('versions')
        .innerJoin('artifacts', 'artifacts.id', 'versions.artifact_id')
        .innerJoin('projects', 'projects.id', 'artifacts.project_id')
        .select(['versions.id as id', 'versions.digest as digest', 'versions.stage as stage', 'versions.forced as forced', 'projects.name as project', 'artifacts.kind as kind', 'artifacts.name as name'])
        .where('versions.id', 'in', ids.slice(i, i + 500))
        .execute();
      for (const r of rows) out.push({ id: r.id, digest: r.digest, stage: r.stage, forced: r.forced === 1, project: r.project, kind: r.kind, name: r.name });
    }
    return out;
  }

  private oidcQuery() {
    return this.db
      .selectFrom('oidc_issuers')
      .innerJoin('projects', 'projects.id', 'oidc_issuers.project_id')
      .innerJoin('accounts', 'accounts.id', 'oidc_issuers.account_id')
      .selectAll('oidc_issuers')
      .select(['projects.name as project', 'accounts.name as account']);
  }

  private static toIssuer(r: Selectable<OidcIssuersTable> & { project: string; account: string }): OidcIssuerRecord {
    return {
      id: r.id,
      projectId: r.project_id,
      project: r.project,
      issuer: r.issuer,
      audience: r.audience,
      accountId: r.account_id,
      account: r.account,
      role: r.role,
      claims: JSON.parse(r.claims) as Record<string, string[]>,
      jwks: r.jwks,
      ttlSeconds: r.ttl_seconds,
      createdAt: r.created_at,
      createdBy: r.created_by,
    };
  }

  async addOidcIssuer(input: Omit<OidcIssuerRecord, 'id' | 'project' | 'account' | 'createdAt'> & { at: number }): Promise<OidcIssuerRecord> {
    const row = await this.db
      .insertInto('oidc_issuers')
      .values({ project_id: input.projectId, issuer: input.issuer, audience: input.audience, account_id: input.accountId, role: input.role, claims: JSON.stringify(input.claims), jwks: input.jwks, ttl_seconds: input.ttlSeconds, created_at: input.at, created_by: input.createdBy })
      .returning('id')
      .executeTakeFirstOrThrow();
    return KyselyMetadataStore.toIssuer(await this.oidcQuery().where('oidc_issuers.id', '=', row.id).executeTakeFirstOrThrow());
  }

  async listOidcIssuers(projectId: number): Promise<OidcIssuerRecord[]> {
    return (await this.oidcQuery().where('oidc_issuers.project_id', '=', projectId).orderBy('oidc_issuers.id').execute()).map(KyselyMetadataStore.toIssuer);
  }

  async rememberOidcToken(hash: string, expiresAt: number, now: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('oidc_seen').where('expires_at', '<', now).execute();
      const result = await trx.insertInto('oidc_seen').values({ hash, expires_at: expiresAt }).onConflict((oc) => oc.column('hash').doNothing()).executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    });
  }

  async recordUsage(accountId: number, project: string, action: string, at: number): Promise<void> {
    await this.db
      .insertInto('account_usage')
      .values({ account_id: accountId, project, action, last_used_at: at })
      .onConflict((oc) => oc.columns(['account_id', 'project', 'action']).doUpdateSet({ last_used_at: at }))
      .execute();
  }

  async listUsage(): Promise<UsageRecord[]> {
    const rows = await this.db.selectFrom('account_usage').innerJoin('accounts', 'accounts.id', 'account_usage.account_id').selectAll('account_usage').select('accounts.name as account').execute();
    return rows.map((r) => ({ accountId: r.account_id, account: r.account, project: r.project, action: r.action, lastUsedAt: r.last_used_at }));
  }

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

/**
 * The handle as Kysely sees it, with prepared statements reused by SQL text: preparing costs more
 * than running the small queries a request makes. Bounded; the oldest statement is dropped first.
 */
function cachingStatements(handle: SqliteHandle, max = 512): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => handle.close(),
    prepare(sqlText: string): SqliteStatement {
      let statement = cache.get(sqlText);
      if (statement === undefined) {
        statement = handle.prepare(sqlText);
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
        cache.set(sqlText, statement);
      }
      return statement as unknown as SqliteStatement;
    },
  };
}

/** Turns a unique-constraint violation into CONFLICT (SQLite and PostgreSQL spell it differently). */
function uniqueToConflict(message: string): (error: unknown) => never {
  return (error: unknown) => {
    const text = error instanceof Error ? `${(error as { code?: string }).code ?? ''} ${error.message}` : String(error);
    if (/UNIQUE|unique constraint|23505/i.test(text)) throw new CustodyError('CONFLICT', message, { cause: error });
    throw error;
  };
}
