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
