import type { Database, Executor } from '../storage/database.ts';
import type { Schema } from '../storage/schema.ts';
import * as rows from '../storage/repositories/integrations.ts';
import { writeWithChanges, type ChangeBus } from '../storage/change-log.ts';
import type { Clock } from '../support/clock.ts';
import { newId } from '../support/ids.ts';
import type { ApiCatalogue, ApiId } from './apis.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { getEnvironment, validateDisplayName } from './environments.ts';
import type { ActionContext } from './audit.ts';
import { revokeTokensOfIntegration, waitForRevocationSecond } from './revocations.ts';
import { generateClientId, generateClientSecret, hashClientSecret } from './secrets.ts';

/** What the integration functions need. */
export interface IntegrationDeps {
  database: Database;
  clock: Clock;
  apis: ApiCatalogue;
  secretHashKey: Buffer;
  /** The configured access-token lifetime: revocations must outlive the tokens they cover. */
  tokenTtlSeconds: number;
  /** This process's caches (a server); absent in the CLI, whose writes servers read from the change feed. */
  changes?: ChangeBus | undefined;
}

/** Scopes granted per API. An API missing from the map has no grant. */
export type Grants = Partial<Record<ApiId, string[]>>;

/** A secret as listed: never the secret or its hash. */
export interface SecretSummary {
  id: string;
  generation: number;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  /** active: valid with no end; expiring: valid until expiresAt (rotation grace); expired: no longer valid. */
  status: 'active' | 'expiring' | 'expired';
}

/** An integration as callers see it. */
export interface Integration {
  id: string;
  environmentId: string;
  clientId: string;
  name: string;
  description: string;
  disabled: boolean;
  grantVersion: number;
  secretGeneration: number;
  grants: Grants;
  secrets: SecretSummary[];
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
  /** Every token issued before this time (ms) is revoked; null when its tokens were never revoked. */
  tokensRevokedAt: number | null;
  /** Whether it may exchange its access tokens for short-lived read-only browser tokens (RFC 8693). */
  browserTokens: boolean;
  /** A browser Origin seen at the token endpoint with its Client ID (its secret reached a page), or null. */
  browserUse: BrowserUseSummary | null;
}

/** What the token endpoint saw of an integration's credentials used from a browser (read-only). */
export interface BrowserUseSummary {
  /** The latest Origin header (truncated to 256 characters, control characters replaced). */
  origin: string;
  ip: string;
  firstSeenAt: number;
  lastSeenAt: number;
  count: number;
}

/** A change to what an integration may do: scopes per API and/or whether it may mint browser tokens. */
export interface PermissionChange {
  /** Replaces the scopes of the APIs named (others keep theirs). */
  grants?: Grants | undefined;
  /** Allows (true) or stops (false) token exchange for browser tokens. */
  browserTokens?: boolean | undefined;
}

/** An integration together with a secret that is shown this once and never again. */
export interface IntegrationWithSecret {
  integration: Integration;
  clientSecret: string;
}

const DESCRIPTION_MAX = 500;

function validateDescription(description: string | undefined): string {
  if (description === undefined) return '';
  if (description.length > DESCRIPTION_MAX) throw new ValidationError('description', `description must be at most ${DESCRIPTION_MAX} characters`);
  return description.trim();
}

/** Checks every scope against its API's catalogue and returns the grants in catalogue order. */
export function normalizeGrants(apis: ApiCatalogue, grants: Grants): Grants {
  const normalized: Grants = {};
  for (const [apiId, scopes] of Object.entries(grants) as [ApiId, string[]][]) {
    const api = apis.apis.find((candidate) => candidate.id === apiId);
    if (!api) throw new ValidationError(`grants.${apiId}`, `unknown API '${apiId}'`);
    for (const scope of scopes) {
      if (!api.scopes.some((s) => s.name === scope)) {
        const owner = apis.apiOfScope(scope);
        const hint = owner ? ` (it belongs to the ${owner.name})` : `; ${api.name} scopes are: ${api.scopes.map((s) => s.name).join(', ')}`;
        throw new ValidationError(`grants.${apiId}`, `'${scope.slice(0, 80)}' is not a ${api.name} scope${hint}`);
      }
    }
    normalized[apiId] = apis.normalizeScopes(api, scopes);
  }
  return normalized;
}

async function insertSecret(trx: Executor, deps: IntegrationDeps, integrationId: string, generation: number, now: number): Promise<string> {
  const secret = generateClientSecret();
  await rows.insertSecret(trx, {
    id: newId('sec', now),
    integration_id: integrationId,
    generation,
    secret_hash: hashClientSecret(deps.secretHashKey, secret).toString('hex'),
    created_at: now,
    expires_at: null,
    last_used_at: null,
  });
  return secret;
}

/** Creates an integration in an environment with a fresh Client ID and Client Secret (returned once). */
export async function createIntegration(
  deps: IntegrationDeps,
  input: { environmentId: string; name: string; description?: string; grants?: Grants; browserTokens?: boolean | undefined },
  context: ActionContext,
): Promise<IntegrationWithSecret> {
  await getEnvironment(deps, input.environmentId);
  const name = validateDisplayName('name', input.name);
  const description = validateDescription(input.description);
  const grants = normalizeGrants(deps.apis, input.grants ?? {});
  const now = deps.clock.now();
  const id = newId('int', now);
  const clientId = generateClientId();
  const browserTokens = input.browserTokens === true;
  const clientSecret = await writeWithChanges(deps, now, async (trx, log) => {
    await rows.insertIntegration(trx, {
      id,
      environment_id: input.environmentId,
      client_id: clientId,
      name,
      description,
      disabled: 0,
      grant_version: 1,
      secret_generation: 1,
      tokens_not_before: 0,
      browser_tokens: browserTokens ? 1 : 0,
      created_at: now,
      updated_at: now,
    });
    await rows.replaceGrants(trx, id, grants as Record<string, string[]>);
    const secret = await insertSecret(trx, deps, id, 1, now);
    await log.change('integration', clientId);
    await log.audit(context, {
      at: now,
      environmentId: input.environmentId,
      action: 'integration.create',
      targetType: 'integration',
      targetId: clientId,
      details: { name, description, grants, ...(browserTokens ? { browserTokens } : {}) },
    });
    return secret;
  });
  return { integration: await getIntegration(deps, clientId), clientSecret };
}

function secretStatus(expiresAt: number | null, now: number): SecretSummary['status'] {
  if (expiresAt === null) return 'active';
  return expiresAt > now ? 'expiring' : 'expired';
}

async function assembleIntegrations(deps: IntegrationDeps, integrationRows: Schema['integrations'][]): Promise<Integration[]> {
  if (integrationRows.length === 0) return [];
  const { grants: grantRows, secrets: secretRows } = await rows.readIntegrationChildren(deps.database.db, integrationRows.map((row) => row.id));
  const now = deps.clock.now();
  return integrationRows.map((row) => {
    const grants: Grants = {};
    for (const grant of grantRows.filter((g) => g.integration_id === row.id)) grants[grant.api_id as ApiId] = grant.scopes.split(' ');
    return {
      id: row.id,
      environmentId: row.environment_id,
      clientId: row.client_id,
      name: row.name,
      description: row.description,
      disabled: row.disabled === 1,
      grantVersion: row.grant_version,
      secretGeneration: row.secret_generation,
      grants,
      secrets: secretRows
        .filter((s) => s.integration_id === row.id)
        .map((s) => ({ id: s.id, generation: s.generation, createdAt: s.created_at, expiresAt: s.expires_at, lastUsedAt: s.last_used_at, status: secretStatus(s.expires_at, now) })),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      lastUsedAt: row.last_used_at,
      tokensRevokedAt: row.tokens_not_before > 0 ? row.tokens_not_before : null,
      browserTokens: row.browser_tokens === 1,
      browserUse: toBrowserUse(row),
    };
  });
}

function toBrowserUse(row: Schema['integrations']): BrowserUseSummary | null {
  if (row.browser_use_last_at === null || row.browser_use_first_at === null) return null;
  return { origin: row.browser_use_origin ?? '', ip: row.browser_use_ip ?? '', firstSeenAt: row.browser_use_first_at, lastSeenAt: row.browser_use_last_at, count: row.browser_use_count };
}

/** One integration by Client ID, or NotFoundError. */
export async function getIntegration(deps: IntegrationDeps, clientId: string): Promise<Integration> {
  const row = await rows.findIntegrationByClientId(deps.database.db, clientId);
  if (!row) throw new NotFoundError('integration', clientId);
  return (await assembleIntegrations(deps, [row]))[0]!;
}

/** Paging and filtering of an integration list. */
export interface IntegrationListQuery {
  /** Case-insensitive substring of the name. */
  name?: string | undefined;
  limit?: number | undefined;
  /** The previous page's nextCursor: the id of its last integration. */
  after?: string | undefined;
}

/** The integrations of an environment, newest first, optionally filtered by name and paged. */
export async function listIntegrationsPage(
  deps: IntegrationDeps,
  environmentId: string,
  query: IntegrationListQuery = {},
): Promise<{ integrations: Integration[]; nextCursor: string | null }> {
  await getEnvironment(deps, environmentId);
  const limit = query.limit ?? 1000;
  const found = await rows.listIntegrationRows(deps.database.db, environmentId, { nameContains: query.name, beforeId: query.after, limit });
  const page = found.slice(0, limit);
  return { integrations: await assembleIntegrations(deps, page), nextCursor: found.length > limit ? page[page.length - 1]!.id : null };
}

/** Every integration of an environment, newest first. */
export async function listIntegrations(deps: IntegrationDeps, environmentId: string): Promise<Integration[]> {
  return (await listIntegrationsPage(deps, environmentId)).integrations;
}

/** One integration that must belong to `environmentId`: another environment's looks like a missing one. */
export async function getIntegrationInEnvironment(deps: IntegrationDeps, environmentId: string, clientId: string): Promise<Integration> {
  const integration = await getIntegration(deps, clientId);
  if (integration.environmentId !== environmentId) throw new NotFoundError('integration', clientId);
  return integration;
}

/** Changes an integration's name and/or description. */
export async function updateIntegration(deps: IntegrationDeps, clientId: string, input: { name?: string | undefined; description?: string | undefined }, context: ActionContext): Promise<Integration> {
  const now = deps.clock.now();
  await writeWithChanges(deps, now, async (trx, log) => {
    const row = await requireIntegrationRow(trx, clientId);
    const changes: Record<string, { from: string; to: string }> = {};
    const name = input.name === undefined ? row.name : validateDisplayName('name', input.name);
    const description = input.description === undefined ? row.description : validateDescription(input.description);
    if (name !== row.name) changes.name = { from: row.name, to: name };
    if (description !== row.description) changes.description = { from: row.description, to: description };
    if (Object.keys(changes).length === 0) return;
    await rows.updateIntegration(trx, row.id, { name, description, updated_at: now });
    await log.audit(context, { at: now, environmentId: row.environment_id, action: 'integration.update', targetType: 'integration', targetId: clientId, details: changes });
  });
  return getIntegration(deps, clientId);
}

/** Ends one secret now (e.g. a leaked one still in its grace period). The last active secret cannot be revoked: rotate instead. */
export async function revokeSecret(deps: IntegrationDeps, clientId: string, secretId: string, context: ActionContext): Promise<Integration> {
  const now = deps.clock.now();
  await writeWithChanges(deps, now, async (trx, log) => {
    const row = await requireIntegrationRow(trx, clientId);
    const secrets = await rows.listSecretsOf(trx, row.id);
    const target = secrets.find((s) => s.id === secretId);
    if (!target) throw new NotFoundError('secret', secretId);
    const stillValid = secrets.filter((s) => s.id !== secretId && (s.expires_at === null || s.expires_at > now));
    if (stillValid.length === 0) {
      throw new ConflictError('last_secret', 'this is the integration\'s only valid secret: rotate the secret instead of revoking it, or disable the integration');
    }
    await rows.expireSecret(trx, secretId, now);
    await log.change('integration', clientId);
    await log.audit(context, { at: now, environmentId: row.environment_id, action: 'integration.secret.revoke', targetType: 'integration', targetId: clientId, details: { secretId, generation: target.generation } });
  });
  return getIntegration(deps, clientId);
}

async function requireIntegrationRow(trx: Executor, clientId: string) {
  const row = await rows.findIntegrationByClientId(trx, clientId);
  if (!row) throw new NotFoundError('integration', clientId);
  return row;
}

/**
 * Replaces the scopes of the APIs named in `grants` (others keep theirs). A real change bumps the
 * grant version, so the next token request gets a token with the new scopes instead of a cached one.
 * A change that removes any scope also revokes every token issued so far (they carry the removed
 * scope); one that only adds scopes leaves them valid.
 */
export async function setPermissions(deps: IntegrationDeps, clientId: string, grants: Grants, context: ActionContext): Promise<Integration> {
  return changePermissions(deps, clientId, { grants }, context);
}

/**
 * Changes what an integration may do, in one write and one `integration.permissions.set` audit
 * entry: its scopes (as setPermissions) and/or whether it may exchange its tokens for browser tokens.
 * Either change reaches every token endpoint before the next request (an `integration` change drops
 * the cached client record). Turning browser tokens off stops new exchanges at once; browser tokens
 * already issued live out their short lifetime (at most an hour) unless the integration's tokens are
 * revoked.
 */
export async function changePermissions(deps: IntegrationDeps, clientId: string, change: PermissionChange, context: ActionContext): Promise<Integration> {
  const normalized = change.grants === undefined ? undefined : normalizeGrants(deps.apis, change.grants);
  if (normalized !== undefined) await waitForRevocationSecond(deps, clientId);
  const now = deps.clock.now();
  await writeWithChanges(deps, now, async (trx, log) => {
    const row = await requireIntegrationRow(trx, clientId);
    const current = await rows.listGrantsOf(trx, row.id);
    const grantsChanged =
      normalized !== undefined &&
      (Object.entries(normalized) as [ApiId, string[]][]).some(([apiId, scopes]) => (current.find((g) => g.api_id === apiId)?.scopes ?? '') !== scopes.join(' '));
    const browserTokensBefore = row.browser_tokens === 1;
    const browserTokensChanged = change.browserTokens !== undefined && change.browserTokens !== browserTokensBefore;
    if (!grantsChanged && !browserTokensChanged) return;
    const details: Record<string, unknown> = {};
    let removesScopes = false;
    if (grantsChanged) {
      await rows.replaceGrants(trx, row.id, normalized as Record<string, string[]>);
      await rows.updateIntegration(trx, row.id, { grant_version: row.grant_version + 1, updated_at: now });
      const before: Grants = {};
      for (const g of current) before[g.api_id as ApiId] = g.scopes.split(' ');
      removesScopes = (Object.entries(normalized) as [ApiId, string[]][]).some(([apiId, scopes]) => (before[apiId] ?? []).some((scope) => !scopes.includes(scope)));
      Object.assign(details, { before, after: normalized });
    }
    if (browserTokensChanged) {
      // No grant-version bump: the tokens client_credentials caches carry nothing this changes.
      await rows.writeIntegrationBrowserTokens(trx, row.id, change.browserTokens === true, now);
      details.browserTokens = { from: browserTokensBefore, to: change.browserTokens };
    }
    await log.change('integration', clientId);
    if (removesScopes) await revokeTokensOfIntegration(trx, log, { id: row.id, clientId }, now, deps.tokenTtlSeconds);
    await log.audit(context, {
      at: now,
      environmentId: row.environment_id,
      action: 'integration.permissions.set',
      targetType: 'integration',
      targetId: clientId,
      details: { ...details, ...(removesScopes ? { tokensRevoked: true } : {}) },
    });
  });
  return getIntegration(deps, clientId);
}

/**
 * Issues a new secret and starts a new secret generation. Older secrets stay valid for
 * `graceSeconds` (0 = they stop working at once), so deployments can roll over without downtime.
 * `revokeTokens` (a suspected leak) also revokes every token issued so far.
 */
export async function rotateSecret(
  deps: IntegrationDeps,
  clientId: string,
  options: { graceSeconds?: number | undefined; revokeTokens?: boolean | undefined },
  context: ActionContext,
): Promise<IntegrationWithSecret> {
  const grace = options.graceSeconds ?? 0;
  if (!Number.isInteger(grace) || grace < 0 || grace > 30 * 86400) throw new ValidationError('graceSeconds', 'graceSeconds must be a whole number of seconds between 0 and 2592000 (30 days)');
  const revokeTokens = options.revokeTokens === true;
  if (revokeTokens) await waitForRevocationSecond(deps, clientId);
  const now = deps.clock.now();
  const clientSecret = await writeWithChanges(deps, now, async (trx, log) => {
    const row = await requireIntegrationRow(trx, clientId);
    const generation = row.secret_generation + 1;
    const graceEnd = now + grace * 1000;
    // The integration row first, then its secrets: the order every writer takes (the usage flush
    // too), so two of them never wait on each other.
    await rows.updateIntegration(trx, row.id, { secret_generation: generation, updated_at: now });
    // Shorten, never lengthen, an older secret's remaining life.
    await rows.shortenSecrets(trx, row.id, graceEnd);
    const secret = await insertSecret(trx, deps, row.id, generation, now);
    await log.change('integration', clientId);
    if (revokeTokens) await revokeTokensOfIntegration(trx, log, { id: row.id, clientId }, now, deps.tokenTtlSeconds);
    await log.audit(context, {
      at: now,
      environmentId: row.environment_id,
      action: 'integration.secret.rotate',
      targetType: 'integration',
      targetId: clientId,
      details: { generation, graceSeconds: grace, ...(revokeTokens ? { tokensRevoked: true } : {}) },
    });
    return secret;
  });
  return { integration: await getIntegration(deps, clientId), clientSecret };
}

/**
 * Disables (true) or re-enables (false) an integration. A disabled one gets invalid_client at once,
 * and every token it holds is revoked; enabling it again does not bring those tokens back.
 */
export async function setIntegrationDisabled(deps: IntegrationDeps, clientId: string, disabled: boolean, context: ActionContext): Promise<Integration> {
  if (disabled) await waitForRevocationSecond(deps, clientId);
  const now = deps.clock.now();
  await writeWithChanges(deps, now, async (trx, log) => {
    const row = await requireIntegrationRow(trx, clientId);
    if ((row.disabled === 1) === disabled) return;
    await rows.updateIntegration(trx, row.id, { disabled: disabled ? 1 : 0, updated_at: now });
    await log.change('integration', clientId);
    if (disabled) await revokeTokensOfIntegration(trx, log, { id: row.id, clientId }, now, deps.tokenTtlSeconds);
    await log.audit(context, {
      at: now,
      environmentId: row.environment_id,
      action: disabled ? 'integration.disable' : 'integration.enable',
      targetType: 'integration',
      targetId: clientId,
      ...(disabled ? { details: { tokensRevoked: true } } : {}),
    });
  });
  return getIntegration(deps, clientId);
}

/**
 * Revokes every token issued to an integration up to now, wherever it is presented: the token
 * endpoint mints a new one on the next request, and every API that follows the revocation feed
 * refuses the old ones.
 */
export async function revokeIntegrationTokens(deps: IntegrationDeps, clientId: string, context: ActionContext): Promise<Integration> {
  await waitForRevocationSecond(deps, clientId);
  const now = deps.clock.now();
  await writeWithChanges(deps, now, async (trx, log) => {
    const row = await requireIntegrationRow(trx, clientId);
    const notBefore = await revokeTokensOfIntegration(trx, log, { id: row.id, clientId }, now, deps.tokenTtlSeconds);
    await log.audit(context, {
      at: now,
      environmentId: row.environment_id,
      action: 'integration.tokens.revoke',
      targetType: 'integration',
      targetId: clientId,
      details: { notBefore: new Date(notBefore * 1000).toISOString() },
    });
  });
  return getIntegration(deps, clientId);
}

/** Deletes an integration with its secrets, grants and cached tokens, and revokes every token it was issued. */
export async function deleteIntegration(deps: IntegrationDeps, clientId: string, context: ActionContext): Promise<void> {
  await waitForRevocationSecond(deps, clientId);
  const now = deps.clock.now();
  await writeWithChanges(deps, now, async (trx, log) => {
    const row = await requireIntegrationRow(trx, clientId);
    await revokeTokensOfIntegration(trx, log, { id: row.id, clientId }, now, deps.tokenTtlSeconds);
    // Its secrets, grants and cached tokens go with it (ON DELETE CASCADE).
    await rows.deleteIntegration(trx, row.id);
    await log.audit(context, { at: now, environmentId: row.environment_id, action: 'integration.delete', targetType: 'integration', targetId: clientId, details: { name: row.name, tokensRevoked: true } });
  });
}
