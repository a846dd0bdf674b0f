import { sql, type Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely';

/**
 * Versioned migrations, applied in name order by Kysely's Migrator at start-up. Never edit one that
 * has shipped: add the next. Column types are those SQLite and PostgreSQL both accept.
 */
const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('accounts')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('server_admin', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('password_hash', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('projects')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('grants')
      .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id'))
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('models', 'text')
      .addColumn('granted_at', 'bigint', (c) => c.notNull())
      .addColumn('granted_by', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('grants_pk', ['project_id', 'account_id'])
      .execute();
    await db.schema
      .createTable('tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id'))
      .addColumn('hash', 'text', (c) => c.notNull().unique())
      .addColumn('project_id', 'integer', (c) => c.references('projects.id'))
      .addColumn('actions', 'text')
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addColumn('last_used_at', 'bigint')
      .execute();
    await db.schema.createIndex('tokens_account').on('tokens').column('account_id').execute();
    await db.schema
      .createTable('trusted_keys')
      .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id'))
      .addColumn('hint', 'text', (c) => c.notNull())
      .addColumn('key_type', 'text', (c) => c.notNull())
      .addColumn('pem', 'text', (c) => c.notNull())
      .addColumn('added_at', 'bigint', (c) => c.notNull())
      .addColumn('added_by', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('trusted_keys_pk', ['project_id', 'hint'])
      .execute();
    await db.schema
      .createTable('artifacts')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('artifacts_unique', ['project_id', 'kind', 'name'])
      .execute();
    await db.schema
      .createTable('uploads')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('artifact_id', 'integer', (c) => c.notNull().references('artifacts.id'))
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id'))
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('manifest', 'text', (c) => c.notNull())
      .addColumn('bundles', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('upload_files')
      .addColumn('upload_id', 'text', (c) => c.notNull().references('uploads.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('upload_files_pk', ['upload_id', 'name'])
      .execute();
    await db.schema
      .createTable('versions')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('artifact_id', 'integer', (c) => c.notNull().references('artifacts.id'))
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('manifest', 'text', (c) => c.notNull())
      .addColumn('files', 'integer', (c) => c.notNull())
      .addColumn('bytes', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('scan_status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('archived_at', 'bigint')
      .addUniqueConstraint('versions_unique', ['artifact_id', 'digest'])
      .execute();
    await db.schema.createIndex('versions_scan').on('versions').column('scan_status').execute();
    await db.schema
      .createTable('version_files')
      .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('version_files_pk', ['version_id', 'name'])
      .execute();
    await db.schema.createIndex('version_files_blob').on('version_files').column('sha256').execute();
    await db.schema
      .createTable('attachments')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('predicate_type', 'text', (c) => c.notNull())
      .addColumn('bundle', 'text', (c) => c.notNull())
      .addColumn('verified', 'integer', (c) => c.notNull())
      .addColumn('result', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('attachments_version').on('attachments').column('version_id').execute();
    await db.schema
      .createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['settings', 'attachments', 'version_files', 'versions', 'upload_files', 'uploads', 'artifacts', 'trusted_keys', 'tokens', 'grants', 'projects', 'accounts']) {
      await sql`drop table if exists ${sql.table(table)}`.execute(db);
    }
  },
};

/**
 * Governance (issue 11): stages and aliases, versioned policies and their approval, promotion
 * approvals, promotions with their VSAs, lineage edges, OIDC trust and replay memory, per-account
 * use of each right, disabled accounts and key owners.
 */
const governance: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('versions').addColumn('stage', 'text', (c) => c.notNull().defaultTo('candidate')).execute();
    await db.schema.alterTable('versions').addColumn('stage_at', 'bigint').execute();
    await db.schema.alterTable('versions').addColumn('forced', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.createIndex('versions_stage').on('versions').columns(['artifact_id', 'stage']).execute();
    await db.schema.alterTable('accounts').addColumn('disabled_at', 'bigint').execute();
    await db.schema.alterTable('trusted_keys').addColumn('owner', 'text').execute();
    await db.schema
      .createTable('policies')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('comment', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('decided_at', 'bigint')
      .addUniqueConstraint('policies_unique', ['project_id', 'version'])
      .execute();
    await db.schema
      .createTable('policy_decisions')
      .addColumn('policy_id', 'integer', (c) => c.notNull().references('policies.id'))
      .addColumn('account', 'text', (c) => c.notNull())
      .addColumn('token_id', 'text', (c) => c.notNull())
      .addColumn('decision', 'text', (c) => c.notNull())
      .addColumn('comment', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('policy_decisions_pk', ['policy_id', 'account'])
      .execute();
    await db.schema
      .createTable('approvals')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id'))
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('policy_version', 'integer', (c) => c.notNull())
      .addColumn('policy_digest', 'text', (c) => c.notNull())
      .addColumn('account', 'text', (c) => c.notNull())
      .addColumn('token_id', 'text', (c) => c.notNull())
      .addColumn('decision', 'text', (c) => c.notNull())
      .addColumn('comment', 'text', (c) => c.notNull())
      .addColumn('bundle', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('approvals_version').on('approvals').columns(['version_id', 'target']).execute();
    await db.schema
      .createTable('aliases')
      .addColumn('artifact_id', 'integer', (c) => c.notNull().references('artifacts.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id'))
      .addColumn('set_at', 'bigint', (c) => c.notNull())
      .addColumn('set_by', 'text', (c) => c.notNull())
      .addColumn('forced', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('aliases_pk', ['artifact_id', 'name'])
      .execute();
    await db.schema
      .createTable('promotions')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id'))
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('from_stage', 'text', (c) => c.notNull())
      .addColumn('policy_version', 'integer', (c) => c.notNull())
      .addColumn('policy_digest', 'text', (c) => c.notNull())
      .addColumn('requested_by', 'text', (c) => c.notNull())
      .addColumn('token_id', 'text', (c) => c.notNull())
      .addColumn('forced', 'integer', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('evaluation', 'text', (c) => c.notNull())
      .addColumn('vsa', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('promotions_version').on('promotions').columns(['version_id', 'target']).execute();
    await db.schema
      .createTable('lineage_edges')
      .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('ref', 'text', (c) => c.notNull())
      .addColumn('label', 'text', (c) => c.notNull())
      .addColumn('verified', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('lineage_edges_ref').on('lineage_edges').columns(['kind', 'ref']).execute();
    await db.schema.createIndex('lineage_edges_version').on('lineage_edges').column('version_id').execute();
    await db.schema.createIndex('versions_digest').on('versions').column('digest').execute();
    await db.schema
      .createTable('oidc_issuers')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id'))
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('audience', 'text', (c) => c.notNull())
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('claims', 'text', (c) => c.notNull())
      .addColumn('jwks', 'text')
      .addColumn('ttl_seconds', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('oidc_issuers_project').on('oidc_issuers').columns(['project_id', 'issuer']).execute();
    await db.schema
      .createTable('oidc_seen')
      .addColumn('hash', 'text', (c) => c.primaryKey())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('account_usage')
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id'))
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('account_usage_pk', ['account_id', 'project', 'action'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['account_usage', 'oidc_seen', 'oidc_issuers', 'lineage_edges', 'promotions', 'aliases', 'approvals', 'policy_decisions', 'policies']) {
      await sql`drop table if exists ${sql.table(table)}`.execute(db);
    }
  },
};

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001-initial': initial,
  '0002-governance': governance,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve({ ...MIGRATIONS }),
};
