import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type Selectable, type SqliteDatabase, type SqliteStatement } from 'kysely';
import { Migrator } from 'kysely/migration';
import { CustodyError } from '../core/errors.js';
import type {
  AccountRecord,
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
  VersionRecord,
} from './metadata.js';
import { migrationProvider } from './migrations.js';
import type { AccountsTable, AttachmentsTable, Database, TokensTable, VersionsTable } from './schema.js';

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
      .select(['accounts.name as account_name', 'accounts.kind as account_kind', 'accounts.server_admin as account_server_admin', 'projects.name as project_name']);
  }

  private static toToken(row: Selectable<TokensTable> & { account_name: string; account_kind: 'user' | 'service'; account_server_admin: number; project_name: string | null }): TokenRecord {
    return {
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

  async addTrustedKey(input: { projectId: number; hint: string; keyType: string; pem: string; addedBy: string }): Promise<boolean> {
    const result = await this.db
      .insertInto('trusted_keys')
      .values({ project_id: input.projectId, hint: input.hint, key_type: input.keyType, pem: input.pem, added_at: Date.now(), added_by: input.addedBy })
      .onConflict((oc) => oc.columns(['project_id', 'hint']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async listTrustedKeys(projectId: number): Promise<TrustedKeyRecord[]> {
    const rows = await this.db
      .selectFrom('trusted_keys')
      .innerJoin('projects', 'projects.id', 'trusted_keys.project_id')
      .select(['projects.name as project', 'trusted_keys.hint', 'trusted_keys.key_type', 'trusted_keys.pem', 'trusted_keys.added_at', 'trusted_keys.added_by'])
      .where('trusted_keys.project_id', '=', projectId)
      .orderBy('trusted_keys.added_at')
      .orderBy('trusted_keys.hint')
      .execute();
    return rows.map((r) => ({ project: r.project, hint: r.hint, keyType: r.key_type, pem: r.pem, addedAt: r.added_at, addedBy: r.added_by }));
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

  async versionFiles(versionId: number): Promise<StoredFile[]> {
    const rows = await this.db.selectFrom('version_files').select(['name', 'sha256', 'size']).where('version_id', '=', versionId).orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, sha256: r.sha256, size: Number(r.size) }));
  }

  async findVersionFile(versionId: number, name: string): Promise<StoredFile | undefined> {
    const row = await this.db.selectFrom('version_files').select(['name', 'sha256', 'size']).where('version_id', '=', versionId).where('name', '=', name).executeTakeFirst();
    return row ? { name: row.name, sha256: row.sha256, size: Number(row.size) } : undefined;
  }

  async archiveVersion(versionId: number, at: number): Promise<void> {
    await this.db.updateTable('versions').set({ status: 'archived', archived_at: at }).where('id', '=', versionId).where('status', '=', 'active').execute();
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
