import type { Database } from '../storage/database.ts';
import type { Clock } from '../support/clock.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { recordChange } from './change-feed.ts';
import { recordAudit, type ActionContext } from './audit.ts';

/** An environment as callers see it. */
export interface Environment {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
}

/** What the environment functions need. */
export interface EnvironmentDeps {
  database: Database;
  clock: Clock;
}

const ENVIRONMENT_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Checks an environment ID: lower-case letters, digits and inner hyphens, at most 63 characters (it appears in URLs). */
export function validateEnvironmentId(id: string): void {
  if (!ENVIRONMENT_ID.test(id)) {
    throw new ValidationError('id', `environment id '${id.slice(0, 80)}' must be 1-63 lower-case letters, digits or inner hyphens (it appears in API URLs)`);
  }
}

/** Checks a display name: 1-100 characters, no control characters. */
export function validateDisplayName(field: string, name: string, max = 100): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) throw new ValidationError(field, `${field} must not be empty`);
  if (trimmed.length > max) throw new ValidationError(field, `${field} must be at most ${max} characters`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw new ValidationError(field, `${field} must not contain control characters`);
  return trimmed;
}

function toEnvironment(row: { id: string; name: string; created_at: number; updated_at: number }): Environment {
  return { id: row.id, name: row.name, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** Creates an environment; its name defaults to its id. */
export async function createEnvironment(deps: EnvironmentDeps, input: { id: string; name?: string }, context: ActionContext): Promise<Environment> {
  validateEnvironmentId(input.id);
  const name = validateDisplayName('name', input.name ?? input.id);
  const now = deps.clock.now();
  const row = { id: input.id, name, created_at: now, updated_at: now };
  await deps.database.db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('environments').select('id').where('id', '=', input.id).executeTakeFirst();
    if (existing) throw new ConflictError('environment_exists', `environment '${input.id}' already exists`);
    await trx.insertInto('environments').values(row).execute();
    await recordChange(trx, 'environment', input.id, now);
    await recordAudit(trx, context, { at: now, environmentId: input.id, action: 'environment.create', targetType: 'environment', targetId: input.id, details: { name } });
  });
  return toEnvironment(row);
}

/** Renames an environment (its id never changes: it is in URLs and tokens). */
export async function renameEnvironment(deps: EnvironmentDeps, id: string, name: string, context: ActionContext): Promise<Environment> {
  const newName = validateDisplayName('name', name);
  const now = deps.clock.now();
  await deps.database.db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError('environment', id);
    if (row.name === newName) return;
    await trx.updateTable('environments').set({ name: newName, updated_at: now }).where('id', '=', id).execute();
    await recordAudit(trx, context, { at: now, environmentId: id, action: 'environment.rename', targetType: 'environment', targetId: id, details: { from: row.name, to: newName } });
  });
  return getEnvironment(deps, id);
}

/**
 * Deletes an environment with all its integrations. Their tokens already issued stay valid until
 * they expire; no new ones are issued.
 */
export async function deleteEnvironment(deps: EnvironmentDeps, id: string, context: ActionContext): Promise<void> {
  const now = deps.clock.now();
  await deps.database.db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('environments').select('id').where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError('environment', id);
    const integrations = await trx.selectFrom('integrations').select(['id', 'client_id']).where('environment_id', '=', id).execute();
    const ids = integrations.map((i) => i.id);
    if (ids.length > 0) {
      // Children first, explicitly, so both dialects behave the same whatever their cascade support.
      await trx.deleteFrom('token_cache').where('integration_id', 'in', ids).execute();
      await trx.deleteFrom('integration_secrets').where('integration_id', 'in', ids).execute();
      await trx.deleteFrom('integration_grants').where('integration_id', 'in', ids).execute();
      await trx.deleteFrom('integrations').where('id', 'in', ids).execute();
    }
    await trx.deleteFrom('admin_environment_roles').where('environment_id', '=', id).execute();
    await trx.deleteFrom('environments').where('id', '=', id).execute();
    for (const integration of integrations) await recordChange(trx, 'integration', integration.client_id, now);
    await recordChange(trx, 'environment', id, now);
    await recordAudit(trx, context, { at: now, environmentId: id, action: 'environment.delete', targetType: 'environment', targetId: id, details: { integrationsDeleted: integrations.length } });
  });
}

/** Every environment, by id. */
export async function listEnvironments(deps: EnvironmentDeps): Promise<Environment[]> {
  const rows = await deps.database.db.selectFrom('environments').selectAll().orderBy('id').execute();
  return rows.map(toEnvironment);
}

/** One environment, or NotFoundError. */
export async function getEnvironment(deps: EnvironmentDeps, id: string): Promise<Environment> {
  const row = await deps.database.db.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError('environment', id);
  return toEnvironment(row);
}
