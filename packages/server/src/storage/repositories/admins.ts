import type { Kysely } from 'kysely';
import type { AdminEnvironmentRolesTable, AdminsTable, Schema } from '../schema.ts';

// Console admins, their roles per environment and their sessions (tables admins,
// admin_environment_roles, admin_sessions). Deleting an admin removes their roles and sessions by
// ON DELETE CASCADE; deleting an environment removes the roles in it.

/** An admin as listed: never the password hash. */
export type AdminListing = Pick<AdminsTable, 'id' | 'email' | 'platform_admin' | 'password_temporary' | 'created_at'>;

const LISTING = ['id', 'email', 'platform_admin', 'password_temporary', 'created_at'] as const;

/** The environment roles of these admins. */
export function listRolesOf(db: Kysely<Schema>, adminIds: readonly string[]): Promise<AdminEnvironmentRolesTable[]> {
  return db.selectFrom('admin_environment_roles').selectAll().where('admin_id', 'in', adminIds).execute();
}

/** Every admin, by email. */
export function listAdminRows(db: Kysely<Schema>): Promise<AdminListing[]> {
  return db.selectFrom('admins').select(LISTING).orderBy('email').execute();
}

/** One admin by (normalised) email. */
export function findAdminByEmail(db: Kysely<Schema>, email: string): Promise<AdminListing | undefined> {
  return db.selectFrom('admins').select(LISTING).where('email', '=', email).executeTakeFirst();
}

/** One admin by id. */
export function findAdminRowById(db: Kysely<Schema>, id: string): Promise<AdminListing | undefined> {
  return db.selectFrom('admins').select(LISTING).where('id', '=', id).executeTakeFirst();
}

/** The password hash of the admin with this (normalised) email, for a sign-in. */
export function findPasswordHash(db: Kysely<Schema>, email: string): Promise<{ id: string; password_hash: string } | undefined> {
  return db.selectFrom('admins').select(['id', 'password_hash']).where('email', '=', email).executeTakeFirst();
}

/** Whether any admin exists. */
export async function anyAdminExists(db: Kysely<Schema>): Promise<boolean> {
  return (await db.selectFrom('admins').select('id').limit(1).executeTakeFirst()) !== undefined;
}

/** The platform admins other than `exceptId`. */
export function listOtherPlatformAdmins(db: Kysely<Schema>, exceptId: string): Promise<{ id: string }[]> {
  return db.selectFrom('admins').select('id').where('platform_admin', '=', 1).where('id', '!=', exceptId).execute();
}

/** Inserts an admin with their environment roles. */
export async function insertAdmin(db: Kysely<Schema>, row: AdminsTable, roles: Record<string, AdminEnvironmentRolesTable['role']>): Promise<void> {
  await db.insertInto('admins').values(row).execute();
  for (const [environmentId, role] of Object.entries(roles)) {
    await db.insertInto('admin_environment_roles').values({ admin_id: row.id, environment_id: environmentId, role }).execute();
  }
}

/** Sets an admin's password hash (temporary or not) and ends every session of theirs. */
export async function replacePasswordHash(db: Kysely<Schema>, adminId: string, passwordHash: string, at: number, options: { temporary: boolean }): Promise<void> {
  await db.updateTable('admins').set({ password_hash: passwordHash, password_temporary: options.temporary ? 1 : 0, updated_at: at }).where('id', '=', adminId).execute();
  await db.deleteFrom('admin_sessions').where('admin_id', '=', adminId).execute();
}

/** The email and password hash of the admin with this id, for an admin proving their current password. */
export function findPasswordHashById(db: Kysely<Schema>, adminId: string): Promise<{ email: string; password_hash: string } | undefined> {
  return db.selectFrom('admins').select(['email', 'password_hash']).where('id', '=', adminId).executeTakeFirst();
}

/** Sets the password an admin chose themselves (no longer temporary); the caller decides which sessions end. */
export async function setOwnPasswordHash(db: Kysely<Schema>, adminId: string, passwordHash: string, at: number): Promise<void> {
  await db.updateTable('admins').set({ password_hash: passwordHash, password_temporary: 0, updated_at: at }).where('id', '=', adminId).execute();
}

/** Deletes an admin; their roles and sessions go with them (cascade). */
export async function deleteAdminRow(db: Kysely<Schema>, adminId: string): Promise<void> {
  await db.deleteFrom('admins').where('id', '=', adminId).execute();
}
