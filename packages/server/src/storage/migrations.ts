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

/** Used by tests to prove a migration left no half-made table behind. */
export const LATEST_MIGRATION = '0001_token_core';
export { sql };
