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
 * Loads a client with the same three queries whether it exists or not (checklist 8: an unknown ID
 * costs what a real one does), all by client_id, so none waits for another's answer. Null when the
 * client does not exist. The environment's browser-token settings come with the integration's row
 * (a left join: an environment that never saved any has no settings row, and gets the defaults).
 */
export async function readClientRows(db: Kysely<Schema>, clientId: string): Promise<ClientRows | null> {
  const [row, secrets, grants] = await Promise.all([
    db
      .selectFrom('integrations')
      .leftJoin('environment_browser_settings as settings', 'settings.environment_id', 'integrations.environment_id')
      .selectAll('integrations')
      .select(['settings.browser_token_ttl_seconds', 'settings.allow_client_credentials_from_browser'])
      .where('integrations.client_id', '=', clientId)
      .executeTakeFirst(),
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
  ]);
  if (!row) return null;
  const { browser_token_ttl_seconds, allow_client_credentials_from_browser, ...integration } = row;
  const browserSettings = browser_token_ttl_seconds === null || allow_client_credentials_from_browser === null ? undefined : { browser_token_ttl_seconds, allow_client_credentials_from_browser };
  return { integration, secrets, grants, browserSettings };
}
