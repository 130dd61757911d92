import type { Database } from '../storage/database.ts';
import type { Clock } from '../support/clock.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { writeWithChanges, type ChangeBus } from '../storage/change-log.ts';
import * as rows from '../storage/repositories/environments.ts';
import type { BrowserTokenSettings } from '../storage/repositories/environments.ts';
import { BROWSER_TOKEN_LIFETIME } from '@latchkey/wire';
import { listIntegrationIdsOfEnvironment } from '../storage/repositories/integrations.ts';
import { latestRevocationNotBefore } from '../storage/repositories/revocations.ts';
import type { ActionContext } from './audit.ts';
import { revokeTokensOfEnvironment } from './revocations.ts';

/** An environment as callers see it. */
export interface Environment extends BrowserTokenSettings {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
}

/** What the environment functions need. */
export interface EnvironmentDeps {
  database: Database;
  clock: Clock;
  /** This process's caches (a server); absent in the CLI, whose writes servers read from the change feed. */
  changes?: ChangeBus | undefined;
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

function toEnvironment(row: rows.EnvironmentRow): Environment {
  return { id: row.id, name: row.name, createdAt: row.created_at, updatedAt: row.updated_at, ...rows.toBrowserTokenSettings(row) };
}

/**
 * Creates an environment; its name defaults to its id. An id may be used again after its environment
 * was deleted: the new environment is another tenant, and the deletion revoked every token of the old
 * one (revokeTokensOfEnvironment) — tokens issued before the deletion's not-before second.
 */
export async function createEnvironment(deps: EnvironmentDeps, input: { id: string; name?: string }, context: ActionContext): Promise<Environment> {
  validateEnvironmentId(input.id);
  const name = validateDisplayName('name', input.name ?? input.id);
  await waitOutDeletionSecond(deps, input.id);
  const now = deps.clock.now();
  const row = { id: input.id, name, created_at: now, updated_at: now };
  const defaults = { browser_token_ttl_seconds: BROWSER_TOKEN_LIFETIME.default, allow_client_credentials_from_browser: 0 };
  await writeWithChanges(deps, now, async (trx, log) => {
    const existing = await rows.findEnvironment(trx, input.id);
    if (existing) throw new ConflictError('environment_exists', `environment '${input.id}' already exists`);
    await rows.insertEnvironment(trx, row);
    await log.change('environment', input.id);
    await log.audit(context, { at: now, environmentId: input.id, action: 'environment.create', targetType: 'environment', targetId: input.id, details: { name } });
  });
  return toEnvironment({ ...row, ...defaults });
}

/** Renames an environment (its id never changes: it is in URLs and tokens). */
export async function renameEnvironment(deps: EnvironmentDeps, id: string, name: string, context: ActionContext): Promise<Environment> {
  const newName = validateDisplayName('name', name);
  const now = deps.clock.now();
  await writeWithChanges(deps, now, async (trx, log) => {
    const row = await rows.findEnvironment(trx, id);
    if (!row) throw new NotFoundError('environment', id);
    if (row.name === newName) return;
    await rows.renameEnvironment(trx, id, newName, now);
    await log.audit(context, { at: now, environmentId: id, action: 'environment.rename', targetType: 'environment', targetId: id, details: { from: row.name, to: newName } });
  });
  return getEnvironment(deps, id);
}

/**
 * An environment id deleted in this very second: its revocation refuses tokens with `iat` before the
 * next second, which would include tokens of a new environment with the same id issued in this one.
 * Re-creating it waits for that second to pass (at most a second, and only right after a deletion).
 */
async function waitOutDeletionSecond(deps: EnvironmentDeps, id: string): Promise<void> {
  const wait = (await latestRevocationNotBefore(deps.database.db, 'environment', id)) - deps.clock.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 1000)));
}

/**
 * Deletes an environment with all its integrations, and revokes every token issued in it: no API
 * that follows the revocation feed accepts them again, whatever environment later takes the same id.
 */
export async function deleteEnvironment(deps: EnvironmentDeps & { tokenTtlSeconds: number }, id: string, context: ActionContext): Promise<void> {
  const now = deps.clock.now();
  await writeWithChanges(deps, now, async (trx, log) => {
    const row = await rows.findEnvironment(trx, id);
    if (!row) throw new NotFoundError('environment', id);
    const integrations = await listIntegrationIdsOfEnvironment(trx, id);
    // Its integrations (with their secrets, grants and cached tokens), admin roles and Environment
    // API content go with it (ON DELETE CASCADE).
    await rows.deleteEnvironment(trx, id);
    await revokeTokensOfEnvironment(trx, log, id, now, deps.tokenTtlSeconds);
    for (const integration of integrations) await log.change('integration', integration.client_id);
    await log.change('environment', id);
    await log.audit(context, { at: now, environmentId: id, action: 'environment.delete', targetType: 'environment', targetId: id, details: { integrationsDeleted: integrations.length, tokensRevoked: true } });
  });
}

/** Every environment, by id. */
export async function listEnvironments(deps: EnvironmentDeps): Promise<Environment[]> {
  return (await rows.listEnvironmentRows(deps.database.db)).map(toEnvironment);
}

/** One environment, or NotFoundError. */
export async function getEnvironment(deps: EnvironmentDeps, id: string): Promise<Environment> {
  const row = await rows.findEnvironment(deps.database.db, id);
  if (!row) throw new NotFoundError('environment', id);
  return toEnvironment(row);
}

/**
 * Sets how browser tokens work in an environment: their lifetime (60..3600 seconds) and whether
 * client_credentials requests that carry a browser Origin are answered (default: refused, since a
 * client secret in a page is the mistake the seed warns about). A field left out keeps its value.
 * Every token endpoint applies the change before its next request: the write records an
 * `environment` change and an `integration` change per integration of the environment, whichever of
 * them a token endpoint's caches follow (storage/repositories/environments.ts: readBrowserTokenSettings).
 *
 * @example
 * await setBrowserTokenSettings(deps, 'demo', { browserTokenLifetimeSeconds: 600 }, context);
 */
export async function setBrowserTokenSettings(deps: EnvironmentDeps, id: string, input: Partial<BrowserTokenSettings>, context: ActionContext): Promise<Environment> {
  const lifetime = input.browserTokenLifetimeSeconds;
  if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime < BROWSER_TOKEN_LIFETIME.min || lifetime > BROWSER_TOKEN_LIFETIME.max)) {
    throw new ValidationError(
      'browserTokenLifetimeSeconds',
      `browserTokenLifetimeSeconds must be a whole number of seconds from ${BROWSER_TOKEN_LIFETIME.min} to ${BROWSER_TOKEN_LIFETIME.max} (1 hour); the default is ${BROWSER_TOKEN_LIFETIME.default}`,
    );
  }
  const now = deps.clock.now();
  await writeWithChanges(deps, now, async (trx, log) => {
    const row = await rows.findEnvironment(trx, id);
    if (!row) throw new NotFoundError('environment', id);
    const before = rows.toBrowserTokenSettings(row);
    const details: Record<string, { from: number | boolean; to: number | boolean }> = {};
    for (const key of ['browserTokenLifetimeSeconds', 'allowClientCredentialsFromBrowser'] as const) {
      const to = input[key];
      if (to !== undefined && to !== before[key]) details[key] = { from: before[key], to };
    }
    if (Object.keys(details).length === 0) return;
    await rows.writeBrowserTokenSettings(trx, id, input, now);
    await log.change('environment', id);
    // The token endpoint may hold these settings inside each client record of the environment.
    for (const integration of await listIntegrationIdsOfEnvironment(trx, id)) await log.change('integration', integration.client_id);
    await log.audit(context, { at: now, environmentId: id, action: 'environment.browser_tokens.update', targetType: 'environment', targetId: id, details });
  });
  return getEnvironment(deps, id);
}
