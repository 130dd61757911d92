import type { Database } from '../storage/database.ts';
import type { Clock } from '../support/clock.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { recordChange } from './change-feed.ts';

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
export async function createEnvironment(deps: EnvironmentDeps, input: { id: string; name?: string }): Promise<Environment> {
  validateEnvironmentId(input.id);
  const name = validateDisplayName('name', input.name ?? input.id);
  const now = deps.clock.now();
  const row = { id: input.id, name, created_at: now, updated_at: now };
  await deps.database.db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('environments').select('id').where('id', '=', input.id).executeTakeFirst();
    if (existing) throw new ConflictError('environment_exists', `environment '${input.id}' already exists`);
    await trx.insertInto('environments').values(row).execute();
    await recordChange(trx, 'environment', input.id, now);
  });
  return toEnvironment(row);
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
