import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './database.ts';

// Versioned migrations, kept in code so the deployable needs no migration files on disk.
// Names sort in the order they run; a released migration is never edited, only followed.

function migrations(dialect: Dialect): Record<string, Migration> {
  // Millisecond timestamps overflow PostgreSQL's 32-bit integer; SQLite integers are 64-bit already.
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    '0001_token_core': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('environments')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('updated_at', time, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('integrations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
          .addColumn('client_id', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('grant_version', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('secret_generation', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('updated_at', time, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('integrations_by_environment').on('integrations').columns(['environment_id', 'name']).execute();

        await db.schema
          .createTable('integration_secrets')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
          .addColumn('generation', 'integer', (c) => c.notNull())
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('expires_at', time)
          .addColumn('last_used_at', time)
          .execute();
        await db.schema.createIndex('integration_secrets_by_integration').on('integration_secrets').column('integration_id').execute();

        await db.schema
          .createTable('integration_grants')
          .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
          .addColumn('api_id', 'text', (c) => c.notNull())
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('integration_grants_pk', ['integration_id', 'api_id'])
          .execute();

        await db.schema
          .createTable('signing_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('alg', 'text', (c) => c.notNull())
          .addColumn('public_jwk', 'text', (c) => c.notNull())
          .addColumn('private_jwk_sealed', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('activates_at', time, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('token_cache')
          .addColumn('cache_key', 'text', (c) => c.primaryKey())
          .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
          .addColumn('token_sealed', 'text', (c) => c.notNull())
          .addColumn('issued_at', time, (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('token_cache_by_expiry').on('token_cache').column('expires_at').execute();

        // The change feed other processes poll: an auto-incrementing sequence, spelled per dialect.
        await (dialect === 'postgres'
          ? db.schema.createTable('changes').addColumn('seq', 'bigserial', (c) => c.primaryKey())
          : db.schema.createTable('changes').addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        )
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('at', time, (c) => c.notNull())
          .execute();
      },
    },
    '0002_platform_admins_audit': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('admins')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('platform_admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('updated_at', time, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('admin_environment_roles')
          .addColumn('admin_id', 'text', (c) => c.notNull().references('admins.id').onDelete('cascade'))
          .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('admin_environment_roles_pk', ['admin_id', 'environment_id'])
          .execute();

        await db.schema
          .createTable('admin_sessions')
          .addColumn('id_hash', 'text', (c) => c.primaryKey())
          .addColumn('admin_id', 'text', (c) => c.notNull().references('admins.id').onDelete('cascade'))
          .addColumn('csrf_token', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('last_seen_at', time, (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .execute();

        await (dialect === 'postgres'
          ? db.schema.createTable('audit_log').addColumn('seq', 'bigserial', (c) => c.primaryKey())
          : db.schema.createTable('audit_log').addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        )
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('at', time, (c) => c.notNull())
          .addColumn('environment_id', 'text')
          .addColumn('actor_type', 'text', (c) => c.notNull())
          .addColumn('actor_id', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target_type', 'text', (c) => c.notNull())
          .addColumn('target_id', 'text', (c) => c.notNull())
          .addColumn('ip', 'text')
          .addColumn('outcome', 'text', (c) => c.notNull().defaultTo('success'))
          .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
          .execute();
        await db.schema.createIndex('audit_log_by_environment').on('audit_log').columns(['environment_id', 'seq']).execute();

        await db.schema
          .createTable('usage_daily')
          .addColumn('integration_id', 'text', (c) => c.notNull())
          .addColumn('day', 'text', (c) => c.notNull())
          .addColumn('tokens_minted', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('tokens_cached', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
          .addPrimaryKeyConstraint('usage_daily_pk', ['integration_id', 'day'])
          .execute();

        await db.schema.alterTable('integrations').addColumn('last_used_at', time).execute();
      },
    },
    '0003_environment_api': {
      // The Environment API's content (environment-api/): JSON documents, binary asset metadata (the
      // bytes live in a BlobStore) and per-environment browser settings. Rows go with their
      // environment (cascade), so deleteEnvironment needs no knowledge of them.
      async up(db: Kysely<any>) {
        for (const table of ['templates', 'projects'] as const) {
          let create = db.schema
            .createTable(table)
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
            .addColumn('name', 'text', (c) => c.notNull())
            .addColumn('content', 'text', (c) => c.notNull())
            .addColumn('size', 'integer', (c) => c.notNull())
            .addColumn('created_by', 'text', (c) => c.notNull())
            .addColumn('updated_by', 'text', (c) => c.notNull())
            .addColumn('created_at', time, (c) => c.notNull())
            .addColumn('updated_at', time, (c) => c.notNull());
          // Not a foreign key: deleting a template leaves the projects made from it alone.
          if (table === 'projects') create = create.addColumn('template_id', 'text');
          await create.execute();
          await db.schema.createIndex(`${table}_by_environment`).on(table).columns(['environment_id', 'id']).execute();
        }
        await db.schema.createIndex('projects_by_owner').on('projects').columns(['environment_id', 'created_by', 'id']).execute();

        await db.schema
          .createTable('assets')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('content_type', 'text', (c) => c.notNull())
          .addColumn('size', 'integer', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('blob_key', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('assets_by_environment').on('assets').columns(['environment_id', 'kind', 'id']).execute();

        await db.schema
          .createTable('environment_browser_settings')
          .addColumn('environment_id', 'text', (c) => c.primaryKey().references('environments.id').onDelete('cascade'))
          .addColumn('allowed_origins', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('allow_write_tokens_in_browser', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('updated_at', time, (c) => c.notNull())
          .execute();
      },
    },
    '0004_shared_auth_failures': {
      async up(db: Kysely<any>) {
        // Failed client authentications per key and aligned window, shared by every instance.
        await db.schema
          .createTable('auth_failures')
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('window_start', time, (c) => c.notNull())
          .addColumn('count', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('auth_failures_pk', ['key', 'window_start'])
          .execute();
      },
    },
    '0005_settings': {
      async up(db: Kysely<any>) {
        // Small named values the installation keeps (the master key check value, …).
        await db.schema
          .createTable('settings')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0006_blobs': {
      async up(db: Kysely<any>) {
        // Media and font bytes in the database, so instances on one PostgreSQL share them.
        await db.schema
          .createTable('blobs')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('content_type', 'text', (c) => c.notNull())
          // Binary column, spelled per dialect.
          .addColumn('data', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .execute();
      },
    },
    '0007_serving_lease': {
      async up(db: Kysely<any>) {
        // The one serving process of a SQLite database (storage/serving-lease.ts).
        await db.schema
          .createTable('serving_lease')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('holder', 'text', (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .execute();
      },
    },
    '0008_revocation': {
      async up(db: Kysely<any>) {
        // Revocations (platform/revocations.ts): one row per revoked token (by jti), per integration
        // ("every token issued before not_before") and per deleted environment. The feed that
        // resource servers follow reads it by seq; a row lives only as long as the tokens it covers.
        await (dialect === 'postgres'
          ? db.schema.createTable('revocations').addColumn('seq', 'bigserial', (c) => c.primaryKey())
          : db.schema.createTable('revocations').addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        )
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          // The integration a revoked token belonged to ('token' rows), to bound how many one client can add.
          .addColumn('client_id', 'text')
          .addColumn('not_before', time)
          .addColumn('expires_at', time, (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('revocations_by_expiry').on('revocations').column('expires_at').execute();
        await db.schema.createIndex('revocations_by_subject').on('revocations').columns(['kind', 'subject']).execute();
        await db.schema.createIndex('revocations_by_client').on('revocations').columns(['client_id', 'expires_at']).execute();
        // Every token of an integration issued before this time (ms, a whole second) is revoked.
        await db.schema.alterTable('integrations').addColumn('tokens_not_before', time, (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    '0009_child_rows_cascade': {
      // Child rows are removed one way, by ON DELETE CASCADE (docs/decisions.md). Every child table
      // already declared it except usage_daily, whose rows outlived their integration; and a
      // cascade from integrations must find an integration's cached tokens by index, not by a scan
      // of the token table per deleted integration.
      async up(db: Kysely<any>) {
        await db.schema.createIndex('token_cache_by_integration').on('token_cache').column('integration_id').execute();
        // Orphans from before this migration: nothing reads them (usage is read by integration).
        await db.deleteFrom('usage_daily').where('integration_id', 'not in', db.selectFrom('integrations').select('id')).execute();
        if (dialect === 'postgres') {
          await db.schema
            .alterTable('usage_daily')
            .addForeignKeyConstraint('usage_daily_integration_fk', ['integration_id'], 'integrations', ['id'], (fk) => fk.onDelete('cascade'))
            .execute();
          return;
        }
        // SQLite cannot add a foreign key to an existing table: rebuild it with one (same columns).
        await db.schema
          .createTable('usage_daily_next')
          .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
          .addColumn('day', 'text', (c) => c.notNull())
          .addColumn('tokens_minted', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('tokens_cached', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
          .addPrimaryKeyConstraint('usage_daily_pk', ['integration_id', 'day'])
          .execute();
        await sql`insert into usage_daily_next (integration_id, day, tokens_minted, tokens_cached, failures) select integration_id, day, tokens_minted, tokens_cached, failures from usage_daily`.execute(db);
        await db.schema.dropTable('usage_daily').execute();
        await db.schema.alterTable('usage_daily_next').renameTo('usage_daily').execute();
      },
    },
    '0010_temporary_admin_password': {
      async up(db: Kysely<any>) {
        // The first-run admin's generated password is temporary: signing in with it only allows setting a new one.
        await db.schema.alterTable('admins').addColumn('password_temporary', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    '0011_browser_tokens': {
      // Browser tokens (issue 16). On the integration: whether it may exchange
      // its access token for a short-lived read-only browser token, and the last browser Origin seen
      // at the token endpoint with its Client ID (a secret that reached a page). On the environment's
      // browser settings: the browser tokens' lifetime, and whether client_credentials requests that
      // carry a browser Origin are tolerated. One column per ALTER: SQLite adds one at a time.
      async up(db: Kysely<any>) {
        const integrationColumns: [string, 'integer' | 'text' | 'bigint', boolean][] = [
          ['browser_tokens', 'integer', true],
          ['browser_use_origin', 'text', false],
          ['browser_use_ip', 'text', false],
          ['browser_use_first_at', time, false],
          ['browser_use_last_at', time, false],
          ['browser_use_count', 'integer', true],
        ];
        for (const [name, type, counter] of integrationColumns) {
          await db.schema
            .alterTable('integrations')
            .addColumn(name, type, (c) => (counter ? c.notNull().defaultTo(0) : c))
            .execute();
        }
        await db.schema
          .alterTable('environment_browser_settings')
          .addColumn('browser_token_ttl_seconds', 'integer', (c) => c.notNull().defaultTo(900))
          .execute();
        await db.schema
          .alterTable('environment_browser_settings')
          .addColumn('allow_client_credentials_from_browser', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
  };
}

class InCodeMigrationProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect);
  }
}

/** Brings the schema up to date; safe to run from several processes at once (Kysely takes a lock). */
export async function migrateToLatest(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const migrator = new Migrator({ db, provider: new InCodeMigrationProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Brings the schema up to (and including) `target`, no further: tests that upgrade an older database use it. */
export async function migrateTo(db: Kysely<any>, dialect: Dialect, target: string): Promise<void> {
  const { error } = await new Migrator({ db, provider: new InCodeMigrationProvider(dialect) }).migrateTo(target);
  if (error) throw error;
}

/** Used by tests to prove a migration left no half-made table behind. */
export const LATEST_MIGRATION = '0011_browser_tokens';
export { sql };
