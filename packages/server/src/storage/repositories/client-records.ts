import type { Kysely } from 'kysely';
import type { EnvironmentBrowserSettingsTable, IntegrationsTable, Schema } from '../schema.ts';

// What the token endpoint's client directory (oauth/client-directory.ts) loads about one client.

/** The rows of one client: its integration, its secrets' hashes and its grants. */
export interface ClientRows {
  integration: IntegrationsTable;
  secrets: { generation: number; secret_hash: string; expires_at: number | null }[];
  grants: { api_id: string; scopes: string }[];
  /** Its environment's browser-token settings, or undefined when the environment never set any (defaults apply). */
  browserSettings: Pick<EnvironmentBrowserSettingsTable, 'browser_token_ttl_seconds' | 'allow_client_credentials_from_browser'> | undefined;
}

/**
 * Loads a client with the same four queries whether it exists or not (checklist 8: an unknown ID
 * costs what a real one does), all by client_id, so none waits for another's answer. Null when the
 * client does not exist.
 */
export async function readClientRows(db: Kysely<Schema>, clientId: string): Promise<ClientRows | null> {
  const [integration, secrets, grants, browserSettings] = await Promise.all([
    db.selectFrom('integrations').selectAll().where('client_id', '=', clientId).executeTakeFirst(),
    db
      .selectFrom('integration_secrets')
      .innerJoin('integrations', 'integrations.id', 'integration_secrets.integration_id')
      .select(['integration_secrets.generation', 'integration_secrets.secret_hash', 'integration_secrets.expires_at'])
      .where('integrations.client_id', '=', clientId)
      .execute(),
    db
      .selectFrom('integration_grants')
      .innerJoin('integrations', 'integrations.id', 'integration_grants.integration_id')
      .select(['integration_grants.api_id', 'integration_grants.scopes'])
      .where('integrations.client_id', '=', clientId)
      .execute(),
    db
      .selectFrom('environment_browser_settings')
      .innerJoin('integrations', 'integrations.environment_id', 'environment_browser_settings.environment_id')
      .select(['environment_browser_settings.browser_token_ttl_seconds', 'environment_browser_settings.allow_client_credentials_from_browser'])
      .where('integrations.client_id', '=', clientId)
      .executeTakeFirst(),
  ]);
  return integration ? { integration, secrets, grants, browserSettings } : null;
}

/** A browser `Origin` seen at the token endpoint with a client's credentials. */
export interface BrowserUseRow {
  integrationId: string;
  origin: string;
  ip: string;
  /** When (ms). */
  at: number;
}

/**
 * Records a browser Origin on the integration (its browserUse): the latest origin and address, when
 * it was first and last seen, and how many requests carried one. One statement, so concurrent
 * requests count each other.
 */
export async function recordBrowserUse(db: Kysely<Schema>, use: BrowserUseRow): Promise<void> {
  await db
    .updateTable('integrations')
    .set((eb) => ({
      browser_use_origin: use.origin,
      browser_use_ip: use.ip,
      browser_use_first_at: eb.fn.coalesce('browser_use_first_at', eb.val(use.at)),
      browser_use_last_at: use.at,
      browser_use_count: eb('browser_use_count', '+', 1),
    }))
    .where('id', '=', use.integrationId)
    .execute();
}
