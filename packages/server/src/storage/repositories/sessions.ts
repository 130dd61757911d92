import type { Kysely } from 'kysely';
import type { AdminSessionsTable, Schema } from '../schema.ts';

// Console sessions (table admin_sessions), stored by the SHA-256 of their cookie value.

/** Inserts a session row. */
export async function insertSession(db: Kysely<Schema>, row: AdminSessionsTable): Promise<void> {
  await db.insertInto('admin_sessions').values(row).execute();
}

/** The session row with this id hash. */
export function findSession(db: Kysely<Schema>, idHash: string): Promise<AdminSessionsTable | undefined> {
  return db.selectFrom('admin_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
}

/** Moves a session's idle timer. */
export async function touchSession(db: Kysely<Schema>, idHash: string, at: number): Promise<void> {
  await db.updateTable('admin_sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).execute();
}

/** Deletes one session. */
export async function deleteSessionRow(db: Kysely<Schema>, idHash: string): Promise<void> {
  await db.deleteFrom('admin_sessions').where('id_hash', '=', idHash).execute();
}

/** Deletes sessions past their absolute expiry (`now`) or idle since `idleSince` (ms). */
export async function deleteLapsedSessions(db: Kysely<Schema>, now: number, idleSince: number): Promise<void> {
  await db
    .deleteFrom('admin_sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', idleSince)]))
    .execute();
}
