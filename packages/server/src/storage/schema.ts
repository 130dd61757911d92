import type { Generated } from 'kysely';

// Table shapes as Kysely sees them. Times are integer milliseconds since the epoch in both dialects
// (bigint in PostgreSQL, parsed back to number in storage/database.ts); booleans are 0/1 integers so
// one set of queries serves SQLite and PostgreSQL alike.

export interface EnvironmentsTable {
  id: string;
  name: string;
  created_at: number;
  updated_at: number;
}

export interface IntegrationsTable {
  id: string;
  environment_id: string;
  client_id: string;
  name: string;
  description: string;
  disabled: number;
  /** Bumped on every permission change: part of the token cache key. */
  grant_version: number;
  /** Bumped on every secret rotation: the newest secret's generation. */
  secret_generation: number;
  created_at: number;
  updated_at: number;
}

export interface IntegrationSecretsTable {
  id: string;
  integration_id: string;
  generation: number;
  /** HMAC-SHA256 of the secret under a key derived from the master key, hex. Never the secret. */
  secret_hash: string;
  created_at: number;
  /** Set when a rotation gives the previous secret a grace period, or when it is revoked. */
  expires_at: number | null;
  last_used_at: number | null;
}

export interface IntegrationGrantsTable {
  integration_id: string;
  api_id: string;
  /** Space-separated scope names, in catalogue order. */
  scopes: string;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  /** The private JWK sealed with a key derived from the master key (keys/sealed-box.ts). */
  private_jwk_sealed: string;
  created_at: number;
  /** When the key starts signing; it is published from created_at. */
  activates_at: number;
}

export interface TokenCacheTable {
  /** SHA-256 of (integration, audience, scopes, grant version, secret generation). */
  cache_key: string;
  integration_id: string;
  /** The access token sealed with a key derived from the master key: a database dump leaks no token. */
  token_sealed: string;
  issued_at: number;
  expires_at: number;
}

export interface ChangesTable {
  seq: Generated<number>;
  /** What changed: 'integration' (subject = client ID), 'keys', 'environment'. */
  kind: string;
  subject: string;
  at: number;
}

/** The whole database as Kysely sees it. */
export interface Schema {
  environments: EnvironmentsTable;
  integrations: IntegrationsTable;
  integration_secrets: IntegrationSecretsTable;
  integration_grants: IntegrationGrantsTable;
  signing_keys: SigningKeysTable;
  token_cache: TokenCacheTable;
  changes: ChangesTable;
}
