import type { Kysely } from 'kysely';
import type { EnvironmentsTable, Schema } from '../schema.ts';

// The environment rows. Deleting one removes every row that belongs to it — integrations (and theirs),
// admin roles, Environment API documents, assets and browser settings — by ON DELETE CASCADE
// (docs/decisions.md: "Child rows go by cascade").

/** One environment row. */
export function findEnvironment(db: Kysely<Schema>, id: string): Promise<EnvironmentsTable | undefined> {
  return db.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Every environment row, by id. */
export function listEnvironmentRows(db: Kysely<Schema>): Promise<EnvironmentsTable[]> {
  return db.selectFrom('environments').selectAll().orderBy('id').execute();
}

/** Inserts an environment row. */
export async function insertEnvironment(db: Kysely<Schema>, row: EnvironmentsTable): Promise<void> {
  await db.insertInto('environments').values(row).execute();
}

/** Renames an environment. */
export async function renameEnvironment(db: Kysely<Schema>, id: string, name: string, at: number): Promise<void> {
  await db.updateTable('environments').set({ name, updated_at: at }).where('id', '=', id).execute();
}

/** Deletes an environment and, by cascade, everything that belongs to it. */
export async function deleteEnvironment(db: Kysely<Schema>, id: string): Promise<void> {
  await db.deleteFrom('environments').where('id', '=', id).execute();
}
