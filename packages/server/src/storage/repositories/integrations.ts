import { sql, type Kysely } from 'kysely';
import type { IntegrationGrantsTable, IntegrationSecretsTable, IntegrationsTable, Schema } from '../schema.ts';

// The integration aggregate's rows: the integration, its grants and its secrets. Every function
// takes the executor to run on — the database, or the transaction of a write (writeWithChanges) —
// so a domain write composes them under one commit. Deleting an integration removes its grants,
// secrets and cached tokens by ON DELETE CASCADE (docs/decisions.md: "Child rows go by cascade").

/** A secret as listed: never its hash. */
export type SecretListing = Pick<IntegrationSecretsTable, 'id' | 'integration_id' | 'generation' | 'created_at' | 'expires_at' | 'last_used_at'>;

/** The integration row with this Client ID. */
export function findIntegrationByClientId(db: Kysely<Schema>, clientId: string): Promise<IntegrationsTable | undefined> {
  return db.selectFrom('integrations').selectAll().where('client_id', '=', clientId).executeTakeFirst();
}

/** The grants and listed secrets of these integrations (secrets newest generation first). */
export async function readIntegrationChildren(db: Kysely<Schema>, ids: readonly string[]): Promise<{ grants: IntegrationGrantsTable[]; secrets: SecretListing[] }> {
  const [grants, secrets] = await Promise.all([
    db.selectFrom('integration_grants').selectAll().where('integration_id', 'in', ids).execute(),
    db
      .selectFrom('integration_secrets')
      .select(['id', 'integration_id', 'generation', 'created_at', 'expires_at', 'last_used_at'])
      .where('integration_id', 'in', ids)
      .orderBy('generation', 'desc')
      .execute(),
  ]);
  return { grants, secrets };
}

/** One page of an environment's integrations, newest first: `limit + 1` rows tell whether more follow. */
export function listIntegrationRows(db: Kysely<Schema>, environmentId: string, page: { nameContains?: string | undefined; beforeId?: string | undefined; limit: number }): Promise<IntegrationsTable[]> {
  let q = db.selectFrom('integrations').selectAll().where('environment_id', '=', environmentId);
  if (page.nameContains) {
    // LIKE with an explicit escape character: SQLite has no default one, PostgreSQL's is '\'.
    const pattern = `%${page.nameContains.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where(sql<boolean>`lower(name) like ${pattern} escape '\\'`);
  }
  if (page.beforeId) q = q.where('id', '<', page.beforeId);
  return q.orderBy('id', 'desc').limit(page.limit + 1).execute();
}

/** The id and Client ID of every integration of an environment. */
export function listIntegrationIdsOfEnvironment(db: Kysely<Schema>, environmentId: string): Promise<{ id: string; client_id: string }[]> {
  return db.selectFrom('integrations').select(['id', 'client_id']).where('environment_id', '=', environmentId).execute();
}

/** The browser-use columns: written only by recordBrowserUse, never by an admin action. */
type BrowserUseColumns = 'browser_use_origin' | 'browser_use_ip' | 'browser_use_first_at' | 'browser_use_last_at' | 'browser_use_count';

/** Inserts a new integration row (browser tokens off unless `browser_tokens` says otherwise). */
export async function insertIntegration(db: Kysely<Schema>, row: Omit<IntegrationsTable, 'last_used_at' | 'browser_tokens' | BrowserUseColumns> & Partial<Pick<IntegrationsTable, 'browser_tokens'>>): Promise<void> {
  await db.insertInto('integrations').values({ browser_tokens: 0, ...row, browser_use_count: 0 }).execute();
}

/** Changes columns of one integration row. */
export async function updateIntegration(db: Kysely<Schema>, id: string, set: Partial<Omit<IntegrationsTable, 'id' | 'client_id' | 'environment_id' | BrowserUseColumns>>): Promise<void> {
  await db.updateTable('integrations').set(set).where('id', '=', id).execute();
}

/** Deletes an integration; its grants, secrets and cached tokens go with it (cascade). */
export async function deleteIntegration(db: Kysely<Schema>, id: string): Promise<void> {
  await db.deleteFrom('integrations').where('id', '=', id).execute();
}

/** The grant rows of one integration. */
export function listGrantsOf(db: Kysely<Schema>, integrationId: string): Promise<IntegrationGrantsTable[]> {
  return db.selectFrom('integration_grants').selectAll().where('integration_id', '=', integrationId).execute();
}

/** Replaces the scopes of each named API (an empty list removes the API's grant); other APIs keep theirs. */
export async function replaceGrants(db: Kysely<Schema>, integrationId: string, grants: Record<string, readonly string[]>): Promise<void> {
  for (const [apiId, scopes] of Object.entries(grants)) {
    await db.deleteFrom('integration_grants').where('integration_id', '=', integrationId).where('api_id', '=', apiId).execute();
    if (scopes.length > 0) await db.insertInto('integration_grants').values({ integration_id: integrationId, api_id: apiId, scopes: scopes.join(' ') }).execute();
  }
}

/** Inserts a secret row (its hash only). */
export async function insertSecret(db: Kysely<Schema>, row: IntegrationSecretsTable): Promise<void> {
  await db.insertInto('integration_secrets').values(row).execute();
}

/** The secrets of one integration, with what revoking one needs to know. */
export function listSecretsOf(db: Kysely<Schema>, integrationId: string): Promise<Pick<IntegrationSecretsTable, 'id' | 'generation' | 'expires_at'>[]> {
  return db.selectFrom('integration_secrets').select(['id', 'generation', 'expires_at']).where('integration_id', '=', integrationId).execute();
}

/** Ends one secret at `at`. */
export async function expireSecret(db: Kysely<Schema>, secretId: string, at: number): Promise<void> {
  await db.updateTable('integration_secrets').set({ expires_at: at }).where('id', '=', secretId).execute();
}

/** Makes every secret of an integration end by `end`: shortens, never lengthens, a remaining life. */
export async function shortenSecrets(db: Kysely<Schema>, integrationId: string, end: number): Promise<void> {
  await db
    .updateTable('integration_secrets')
    .set({ expires_at: end })
    .where('integration_id', '=', integrationId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', end)]))
    .execute();
}

/** An integration's revocation time (ms; 0 = never revoked), or undefined when it does not exist. */
export async function readTokensNotBefore(db: Kysely<Schema>, clientId: string): Promise<number | undefined> {
  const row = await db.selectFrom('integrations').select('tokens_not_before').where('client_id', '=', clientId).executeTakeFirst();
  return row?.tokens_not_before;
}

/**
 * Moves an integration's `tokens_not_before` to `next` (ms), or one second past its current value
 * when that is already at or after `next`, in one statement so concurrent revocations stay exact.
 * Returns the value stored.
 */
export async function advanceTokensNotBefore(db: Kysely<Schema>, id: string, next: number): Promise<number> {
  const updated = await db
    .updateTable('integrations')
    .set({ tokens_not_before: sql<number>`case when tokens_not_before >= ${next} then tokens_not_before + 1000 else ${next} end` })
    .where('id', '=', id)
    .returning('tokens_not_before')
    .executeTakeFirst();
  return updated?.tokens_not_before ?? next;
}

/** What checking a token against its integration needs: the integration's state and its grant for one API. */
export function readHolderState(db: Kysely<Schema>, clientId: string, apiId: string) {
  return db
    .selectFrom('integrations')
    .leftJoin('integration_grants', (join) => join.onRef('integration_grants.integration_id', '=', 'integrations.id').on('integration_grants.api_id', '=', apiId))
    .select(['integrations.environment_id', 'integrations.disabled', 'integrations.tokens_not_before', 'integration_grants.scopes'])
    .where('integrations.client_id', '=', clientId)
    .executeTakeFirst();
}

/**
 * Whether an integration may exchange its access tokens for browser tokens (RFC 8693), or undefined
 * when no integration has this Client ID. The token endpoint's client directory reads the same column
 * with the rest of the row (client-records.ts: readClientRows selects every column).
 */
export async function readIntegrationBrowserTokens(db: Kysely<Schema>, clientId: string): Promise<boolean | undefined> {
  const row = await db.selectFrom('integrations').select('browser_tokens').where('client_id', '=', clientId).executeTakeFirst();
  return row === undefined ? undefined : row.browser_tokens === 1;
}

/**
 * Turns browser tokens on or off for one integration. Call it inside a write that also records an
 * `integration` change for its Client ID (platform/integrations.ts does), so every token endpoint
 * drops its cached client record and the next exchange sees the new value.
 */
export async function writeIntegrationBrowserTokens(db: Kysely<Schema>, id: string, enabled: boolean, at: number): Promise<void> {
  await db.updateTable('integrations').set({ browser_tokens: enabled ? 1 : 0, updated_at: at }).where('id', '=', id).execute();
}

/** At most this many characters of a recorded Origin are kept (an origin is scheme://host:port; a longer one is hostile). */
export const BROWSER_USE_ORIGIN_MAX = 256;
/** At most this many characters of a recorded client address (an IPv6 address with a zone fits). */
const BROWSER_USE_IP_MAX = 64;

/** What a token request that carried a browser Origin tells about its integration. */
export interface BrowserUse {
  /** The integration (its id, `int_…`, as in ClientRecord.integrationId). */
  integrationId: string;
  /** The request's `Origin` header as sent; truncated and stripped of control characters here. */
  origin: string;
  /** The client address (after the trusted-proxy rule). */
  ip: string;
  /** When (ms). */
  at: number;
  /** How many requests this records (a caller that batches); default 1. */
  count?: number | undefined;
}

/** Keeps what an attacker-chosen header may put in a column shown in the console and the CLI: printable text, bounded. */
function sanitizeRecorded(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
  return value.slice(0, max).replace(/[\u0000-\u001f\u007f]/g, '?');
}

/**
 * Records that a token request carrying a browser `Origin` was made with this integration's Client
 * ID, refused or not: the first time is kept, the last time, origin and address follow the latest
 * request, and the count grows. One statement on the integration's row, so concurrent requests (any
 * instance) add up exactly. It records no change-feed row: nothing cached depends on it, and the token
 * endpoint may call it often.
 */
export async function recordBrowserUse(db: Kysely<Schema>, use: BrowserUse): Promise<void> {
  const origin = sanitizeRecorded(use.origin, BROWSER_USE_ORIGIN_MAX);
  const ip = sanitizeRecorded(use.ip, BROWSER_USE_IP_MAX);
  const count = use.count ?? 1;
  // A late write (an older batch) must not move "last" backwards.
  const newer = sql<boolean>`(browser_use_last_at is null or browser_use_last_at <= ${use.at})`;
  await db
    .updateTable('integrations')
    .set({
      browser_use_origin: sql<string>`case when ${newer} then ${origin} else browser_use_origin end`,
      browser_use_ip: sql<string>`case when ${newer} then ${ip} else browser_use_ip end`,
      browser_use_first_at: sql<number>`case when browser_use_first_at is null or browser_use_first_at > ${use.at} then ${use.at} else browser_use_first_at end`,
      browser_use_last_at: sql<number>`case when ${newer} then ${use.at} else browser_use_last_at end`,
      browser_use_count: sql<number>`browser_use_count + ${count}`,
    })
    .where('id', '=', use.integrationId)
    .execute();
}
