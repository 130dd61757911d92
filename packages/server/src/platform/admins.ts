import type { Database } from '../storage/database.ts';
import { writeWithChanges } from '../storage/change-log.ts';
import * as rows from '../storage/repositories/admins.ts';
import { findEnvironment } from '../storage/repositories/environments.ts';
import type { Clock } from '../support/clock.ts';
import { newId } from '../support/ids.ts';
import type { ActionContext } from './audit.ts';
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

async function assemble(deps: AdminDeps, admins: rows.AdminListing[]): Promise<Admin[]> {
  if (admins.length === 0) return [];
  const roles = await rows.listRolesOf(deps.database.db, admins.map((r) => r.id));
  return admins.map((row) => ({
    id: row.id,
    email: row.email,
    platformAdmin: row.platform_admin === 1,
    environments: Object.fromEntries(roles.filter((r) => r.admin_id === row.id).map((r) => [r.environment_id, r.role])),
    passwordChangeRequired: row.password_temporary === 1,
    createdAt: row.created_at,
  }));
}

/**
 * Creates an admin. Without `password`, one is generated and returned (to be shown once) and is
 * temporary: like a first-run password, it was seen by whoever ran the command, so the first sign-in
 * must set a new one. `temporaryPassword` overrides that either way.
 */
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
  await writeWithChanges(deps, now, async (trx, log) => {
    const existing = await rows.findAdminByEmail(trx, email);
    if (existing) throw new ConflictError('admin_exists', `an admin with email ${email} already exists`);
    for (const environmentId of Object.keys(input.environments ?? {})) {
      const env = await findEnvironment(trx, environmentId);
      if (!env) throw new NotFoundError('environment', environmentId);
    }
    await rows.insertAdmin(trx, { id, email, password_hash: passwordHash, platform_admin: input.platformAdmin ? 1 : 0, password_temporary: (input.temporaryPassword ?? input.password === undefined) ? 1 : 0, created_at: now, updated_at: now }, input.environments ?? {});
    await log.audit(context, { at: now, environmentId: null, action: 'admin.create', targetType: 'admin', targetId: email, details: { platformAdmin: input.platformAdmin, environments: input.environments ?? {} } });
  });
  return { admin: await getAdminByEmail(deps, email), generatedPassword: input.password === undefined ? password : null };
}

/** Every admin, by email. */
export async function listAdmins(deps: AdminDeps): Promise<Admin[]> {
  return assemble(deps, await rows.listAdminRows(deps.database.db));
}

/** One admin by email, or NotFoundError. */
export async function getAdminByEmail(deps: AdminDeps, email: string): Promise<Admin> {
  const row = await rows.findAdminByEmail(deps.database.db, email.trim().toLowerCase());
  if (!row) throw new NotFoundError('admin', email);
  return (await assemble(deps, [row]))[0]!;
}

/** One admin by id, or null. */
export async function findAdminById(deps: AdminDeps, id: string): Promise<Admin | null> {
  const row = await rows.findAdminRowById(deps.database.db, id);
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
  await writeWithChanges(deps, now, async (trx, log) => {
    // A generated password was seen by the operator who ran the reset: temporary, as on first run.
    await rows.replacePasswordHash(trx, admin.id, passwordHash, now, { temporary: password === undefined });
    await log.audit(context, { at: now, environmentId: null, action: 'admin.password.reset', targetType: 'admin', targetId: admin.email, details: { temporary: password === undefined } });
  });
  return { generatedPassword: password === undefined ? chosen : null };
}

/** Deletes an admin and their sessions. The last platform admin cannot be deleted. */
export async function deleteAdmin(deps: AdminDeps, email: string, context: ActionContext): Promise<void> {
  const admin = await getAdminByEmail(deps, email);
  const now = deps.clock.now();
  await writeWithChanges(deps, now, async (trx, log) => {
    if (admin.platformAdmin) {
      const others = await rows.listOtherPlatformAdmins(trx, admin.id);
      if (others.length === 0) throw new ConflictError('last_platform_admin', 'cannot delete the last platform admin: create another one first');
    }
    // Their sessions and environment roles go with them (ON DELETE CASCADE).
    await rows.deleteAdminRow(trx, admin.id);
    await log.audit(context, { at: now, environmentId: null, action: 'admin.delete', targetType: 'admin', targetId: admin.email });
  });
}

/** Checks email and password; unknown emails cost the same as wrong passwords. Returns the admin or null. */
export async function verifyAdminLogin(deps: AdminDeps, email: string, password: string): Promise<Admin | null> {
  const row = await rows.findPasswordHash(deps.database.db, email.trim().toLowerCase());
  const ok = await verifyPassword(password, row?.password_hash);
  return ok && row ? findAdminById(deps, row.id) : null;
}

/**
 * An admin changes their own password, proving the current one: the way out of a temporary password.
 * Refuses a new password equal to the current one. Returns the admin as now stored; the caller ends
 * the admin's other sessions (platform/sessions.ts deleteOtherSessions).
 */
export async function changeOwnPassword(deps: AdminDeps, adminId: string, currentPassword: string, newPassword: string, context: ActionContext): Promise<Admin> {
  const row = await rows.findPasswordHashById(deps.database.db, adminId);
  if (!row) throw new NotFoundError('admin', adminId);
  if (!(await verifyPassword(currentPassword, row.password_hash))) throw new ValidationError('currentPassword', 'the current password is wrong');
  const problem = passwordProblem(newPassword);
  if (problem) throw new ValidationError('newPassword', problem);
  if (newPassword === currentPassword) throw new ValidationError('newPassword', 'the new password must differ from the current one');
  const passwordHash = await hashPassword(newPassword);
  const now = deps.clock.now();
  await writeWithChanges(deps, now, async (trx, log) => {
    await rows.setOwnPasswordHash(trx, adminId, passwordHash, now);
    await log.audit(context, { at: now, environmentId: null, action: 'admin.password.change', targetType: 'admin', targetId: row.email });
  });
  return (await findAdminById(deps, adminId))!;
}

/** True when no admin exists yet (first run). */
export async function hasNoAdmins(deps: AdminDeps): Promise<boolean> {
  return !(await rows.anyAdminExists(deps.database.db));
}
