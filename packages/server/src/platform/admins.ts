import type { Database } from '../storage/database.ts';
import type { Clock } from '../support/clock.ts';
import { newId } from '../support/ids.ts';
import { recordAudit, type ActionContext } from './audit.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { generatePassword, hashPassword, passwordProblem, verifyPassword } from './passwords.ts';

/** What an admin may do in one environment. */
export type EnvironmentRole = 'admin' | 'viewer';

/** A console user as callers see it: never the password hash. */
export interface Admin {
  id: string;
  email: string;
  platformAdmin: boolean;
  /** Roles per environment id (platform admins have every right everywhere). */
  environments: Record<string, EnvironmentRole>;
  /** The password is temporary (generated on first run): until the admin sets a new one, their sessions may do nothing else. */
  passwordChangeRequired: boolean;
  createdAt: number;
}

/** What the admin functions need. */
export interface AdminDeps {
  database: Database;
  clock: Clock;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

function normalizeEmail(email: string): string {
  const normalized = email.trim().toLowerCase();
  if (!EMAIL.test(normalized)) throw new ValidationError('email', `'${email.slice(0, 80)}' is not an email address`);
  return normalized;
}

async function assemble(deps: AdminDeps, rows: { id: string; email: string; platform_admin: number; password_temporary: number; created_at: number }[]): Promise<Admin[]> {
  if (rows.length === 0) return [];
  const roles = await deps.database.db.selectFrom('admin_environment_roles').selectAll().where('admin_id', 'in', rows.map((r) => r.id)).execute();
  return rows.map((row) => ({
    id: row.id,
    email: row.email,
    platformAdmin: row.platform_admin === 1,
    environments: Object.fromEntries(roles.filter((r) => r.admin_id === row.id).map((r) => [r.environment_id, r.role])),
    passwordChangeRequired: row.password_temporary === 1,
    createdAt: row.created_at,
  }));
}

/** Creates an admin. Without `password`, one is generated and returned (to be shown once); `temporaryPassword` makes the first sign-in set a new one. */
export async function createAdmin(
  deps: AdminDeps,
  input: { email: string; password?: string | undefined; platformAdmin: boolean; environments?: Record<string, EnvironmentRole>; temporaryPassword?: boolean },
  context: ActionContext,
): Promise<{ admin: Admin; generatedPassword: string | null }> {
  const email = normalizeEmail(input.email);
  const password = input.password ?? generatePassword();
  const problem = passwordProblem(password);
  if (problem) throw new ValidationError('password', problem);
  for (const [environmentId, role] of Object.entries(input.environments ?? {})) {
    if (role !== 'admin' && role !== 'viewer') throw new ValidationError('role', `role must be admin or viewer, got '${String(role)}' for ${environmentId}`);
  }
  const passwordHash = await hashPassword(password);
  const now = deps.clock.now();
  const id = newId('adm', now);
  await deps.database.db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('admins').select('id').where('email', '=', email).executeTakeFirst();
    if (existing) throw new ConflictError('admin_exists', `an admin with email ${email} already exists`);
    for (const environmentId of Object.keys(input.environments ?? {})) {
      const env = await trx.selectFrom('environments').select('id').where('id', '=', environmentId).executeTakeFirst();
      if (!env) throw new NotFoundError('environment', environmentId);
    }
    await trx.insertInto('admins').values({ id, email, password_hash: passwordHash, platform_admin: input.platformAdmin ? 1 : 0, password_temporary: input.temporaryPassword ? 1 : 0, created_at: now, updated_at: now }).execute();
    for (const [environmentId, role] of Object.entries(input.environments ?? {})) {
      await trx.insertInto('admin_environment_roles').values({ admin_id: id, environment_id: environmentId, role }).execute();
    }
    await recordAudit(trx, context, { at: now, environmentId: null, action: 'admin.create', targetType: 'admin', targetId: email, details: { platformAdmin: input.platformAdmin, environments: input.environments ?? {} } });
  });
  return { admin: await getAdminByEmail(deps, email), generatedPassword: input.password === undefined ? password : null };
}

/** Every admin, by email. */
export async function listAdmins(deps: AdminDeps): Promise<Admin[]> {
  const rows = await deps.database.db.selectFrom('admins').select(['id', 'email', 'platform_admin', 'password_temporary', 'created_at']).orderBy('email').execute();
  return assemble(deps, rows);
}

/** One admin by email, or NotFoundError. */
export async function getAdminByEmail(deps: AdminDeps, email: string): Promise<Admin> {
  const row = await deps.database.db.selectFrom('admins').select(['id', 'email', 'platform_admin', 'password_temporary', 'created_at']).where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
  if (!row) throw new NotFoundError('admin', email);
  return (await assemble(deps, [row]))[0]!;
}

/** One admin by id, or null. */
export async function findAdminById(deps: AdminDeps, id: string): Promise<Admin | null> {
  const row = await deps.database.db.selectFrom('admins').select(['id', 'email', 'platform_admin', 'password_temporary', 'created_at']).where('id', '=', id).executeTakeFirst();
  return row ? (await assemble(deps, [row]))[0]! : null;
}

/** Sets a new password (generated if none is given) and ends the admin's sessions. */
export async function resetAdminPassword(deps: AdminDeps, email: string, password: string | undefined, context: ActionContext): Promise<{ generatedPassword: string | null }> {
  const chosen = password ?? generatePassword();
  const problem = passwordProblem(chosen);
  if (problem) throw new ValidationError('password', problem);
  const admin = await getAdminByEmail(deps, email);
  const passwordHash = await hashPassword(chosen);
  const now = deps.clock.now();
  await deps.database.db.transaction().execute(async (trx) => {
    await trx.updateTable('admins').set({ password_hash: passwordHash, password_temporary: 0, updated_at: now }).where('id', '=', admin.id).execute();
    await trx.deleteFrom('admin_sessions').where('admin_id', '=', admin.id).execute();
    await recordAudit(trx, context, { at: now, environmentId: null, action: 'admin.password.reset', targetType: 'admin', targetId: admin.email });
  });
  return { generatedPassword: password === undefined ? chosen : null };
}

/** Deletes an admin and their sessions. The last platform admin cannot be deleted. */
export async function deleteAdmin(deps: AdminDeps, email: string, context: ActionContext): Promise<void> {
  const admin = await getAdminByEmail(deps, email);
  const now = deps.clock.now();
  await deps.database.db.transaction().execute(async (trx) => {
    if (admin.platformAdmin) {
      const others = await trx.selectFrom('admins').select('id').where('platform_admin', '=', 1).where('id', '!=', admin.id).execute();
      if (others.length === 0) throw new ConflictError('last_platform_admin', 'cannot delete the last platform admin: create another one first');
    }
    await trx.deleteFrom('admin_sessions').where('admin_id', '=', admin.id).execute();
    await trx.deleteFrom('admin_environment_roles').where('admin_id', '=', admin.id).execute();
    await trx.deleteFrom('admins').where('id', '=', admin.id).execute();
    await recordAudit(trx, context, { at: now, environmentId: null, action: 'admin.delete', targetType: 'admin', targetId: admin.email });
  });
}

/** Checks email and password; unknown emails cost the same as wrong passwords. Returns the admin or null. */
export async function verifyAdminLogin(deps: AdminDeps, email: string, password: string): Promise<Admin | null> {
  const row = await deps.database.db.selectFrom('admins').select(['id', 'password_hash']).where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
  const ok = await verifyPassword(password, row?.password_hash);
  return ok && row ? findAdminById(deps, row.id) : null;
}

/**
 * An admin changes their own password, proving the current one: the way out of a temporary password.
 * Refuses a new password equal to the current one. Returns the admin as now stored; the caller ends
 * the admin's other sessions (platform/sessions.ts deleteOtherSessions).
 */
export async function changeOwnPassword(deps: AdminDeps, adminId: string, currentPassword: string, newPassword: string, context: ActionContext): Promise<Admin> {
  const row = await deps.database.db.selectFrom('admins').select(['id', 'email', 'password_hash']).where('id', '=', adminId).executeTakeFirst();
  if (!row) throw new NotFoundError('admin', adminId);
  if (!(await verifyPassword(currentPassword, row.password_hash))) throw new ValidationError('currentPassword', 'the current password is wrong');
  const problem = passwordProblem(newPassword);
  if (problem) throw new ValidationError('newPassword', problem);
  if (newPassword === currentPassword) throw new ValidationError('newPassword', 'the new password must differ from the current one');
  const passwordHash = await hashPassword(newPassword);
  const now = deps.clock.now();
  await deps.database.db.transaction().execute(async (trx) => {
    await trx.updateTable('admins').set({ password_hash: passwordHash, password_temporary: 0, updated_at: now }).where('id', '=', adminId).execute();
    await recordAudit(trx, context, { at: now, environmentId: null, action: 'admin.password.change', targetType: 'admin', targetId: row.email });
  });
  return (await findAdminById(deps, adminId))!;
}

/** True when no admin exists yet (first run). */
export async function hasNoAdmins(deps: AdminDeps): Promise<boolean> {
  const row = await deps.database.db.selectFrom('admins').select('id').limit(1).executeTakeFirst();
  return !row;
}
