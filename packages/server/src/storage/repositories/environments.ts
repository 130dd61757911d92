import { sql, type Kysely } from 'kysely';
import type { EnvironmentsTable, Schema } from '../schema.ts';
import { DEFAULT_BROWSER_SETTINGS_ROW, upsertBrowserSettings } from './environment-api.ts';

// The environment rows. Deleting one removes every row that belongs to it — integrations (and theirs),
// admin roles, Environment API documents, assets and browser settings — by ON DELETE CASCADE
// (docs/decisions.md: "Child rows go by cascade").

/** An environment row with its browser-token settings (the defaults when it never saved any). */
export interface EnvironmentRow extends EnvironmentsTable {
  browser_token_ttl_seconds: number;
  allow_client_credentials_from_browser: number;
}

function selectEnvironments(db: Kysely<Schema>) {
  // Left join: an environment that never saved browser settings has no row there, and gets the defaults.
  return db
    .selectFrom('environments')
    .leftJoin('environment_browser_settings as settings', 'settings.environment_id', 'environments.id')
    .selectAll('environments')
    .select([
      sql<number>`coalesce(settings.browser_token_ttl_seconds, ${sql.lit(DEFAULT_BROWSER_SETTINGS_ROW.browser_token_ttl_seconds)})`.as('browser_token_ttl_seconds'),
      sql<number>`coalesce(settings.allow_client_credentials_from_browser, ${sql.lit(DEFAULT_BROWSER_SETTINGS_ROW.allow_client_credentials_from_browser)})`.as('allow_client_credentials_from_browser'),
    ]);
}

/** One environment row. */
export function findEnvironment(db: Kysely<Schema>, id: string): Promise<EnvironmentRow | undefined> {
  return selectEnvironments(db).where('environments.id', '=', id).executeTakeFirst();
}

/** Every environment row, by id. */
export function listEnvironmentRows(db: Kysely<Schema>): Promise<EnvironmentRow[]> {
  return selectEnvironments(db).orderBy('environments.id').execute();
}

/** Inserts an environment row. */
export async function insertEnvironment(db: Kysely<Schema>, row: EnvironmentsTable): Promise<void> {
  await db.insertInto('environments').values(row).execute();
}

/** Renames an environment. */
export async function renameEnvironment(db: Kysely<Schema>, id: string, name: string, at: number): Promise<void> {
  await db.updateTable('environments').set({ name, updated_at: at }).where('id', '=', id).execute();
}

/** Deletes an environment and, by cascade, everything that belongs to it. */
export async function deleteEnvironment(db: Kysely<Schema>, id: string): Promise<void> {
  await db.deleteFrom('environments').where('id', '=', id).execute();
}

/** An environment's browser-token settings (issue 16), with the defaults when it never saved any. */
export interface BrowserTokenSettings {
  /** Lifetime of the browser tokens token exchange mints here (60..3600 seconds; default 900). */
  browserTokenLifetimeSeconds: number;
  /** Whether client_credentials requests that carry a browser Origin are answered (default false: refused). */
  allowClientCredentialsFromBrowser: boolean;
}

/**
 * An environment's browser-token settings, or undefined when the environment does not exist. The
 * token endpoint reads it for token exchange (the lifetime) and for client_credentials requests that
 * carry an Origin. A write (writeBrowserTokenSettings, through platform/environments.ts) records an
 * `environment` change and an `integration` change per integration of the environment, so whatever a
 * token endpoint holds of it — per environment, or inside its client records — is dropped before the
 * write answers.
 */
export async function readBrowserTokenSettings(db: Kysely<Schema>, environmentId: string): Promise<BrowserTokenSettings | undefined> {
  const row = await findEnvironment(db, environmentId);
  return row === undefined ? undefined : toBrowserTokenSettings(row);
}

/** The browser-token settings of an environment row. */
export function toBrowserTokenSettings(row: Pick<EnvironmentRow, 'browser_token_ttl_seconds' | 'allow_client_credentials_from_browser'>): BrowserTokenSettings {
  // Number(): PostgreSQL may hand coalesce() results back as strings.
  return { browserTokenLifetimeSeconds: Number(row.browser_token_ttl_seconds), allowClientCredentialsFromBrowser: Number(row.allow_client_credentials_from_browser) === 1 };
}

/**
 * Sets an environment's browser-token settings (inside the caller's transaction); a field left out
 * keeps its value. The caller validates the range and records the changes (see readBrowserTokenSettings).
 */
export async function writeBrowserTokenSettings(db: Kysely<Schema>, environmentId: string, settings: Partial<BrowserTokenSettings>, at: number): Promise<void> {
  await upsertBrowserSettings(db, environmentId, {
    ...(settings.browserTokenLifetimeSeconds === undefined ? {} : { browser_token_ttl_seconds: settings.browserTokenLifetimeSeconds }),
    ...(settings.allowClientCredentialsFromBrowser === undefined ? {} : { allow_client_credentials_from_browser: settings.allowClientCredentialsFromBrowser ? 1 : 0 }),
    updated_at: at,
  });
}
