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
  /** Last successful token request, flushed periodically from memory (platform/usage-recorder.ts). */
  last_used_at: number | null;
  /** Every token issued to it before this time (ms, a whole second) is revoked; 0 = none. */
  tokens_not_before: number;
  /** 1 when it may exchange its access tokens for browser tokens (RFC 8693 token exchange); default 0. */
  browser_tokens: number;
  /** The last browser `Origin` seen at the token endpoint with its Client ID (truncated), or null if never. */
  browser_use_origin: string | null;
  /** The client address of that request. */
  browser_use_ip: string | null;
  /** When a browser Origin was first and last seen (ms). */
  browser_use_first_at: number | null;
  browser_use_last_at: number | null;
  /** How many token requests carried a browser Origin. */
  browser_use_count: number;
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

export interface RevocationsTable {
  seq: Generated<number>;
  /** 'token' (subject = jti), 'client' (subject = client ID) or 'environment' (subject = environment id). */
  kind: string;
  subject: string;
  /** 'token' rows: the client ID the token was issued to. */
  client_id: string | null;
  /** client / environment: tokens issued before this time (ms, a whole second) are revoked. Null for 'token'. */
  not_before: number | null;
  /** When every token the row covers has expired (ms); the row is pruned after that. */
  expires_at: number;
  created_at: number;
}

export interface AdminsTable {
  id: string;
  email: string;
  /** scrypt (platform/passwords.ts); admin passwords are human-chosen, so a slow KDF is right here. */
  password_hash: string;
  platform_admin: number;
  /** 1 while the password is a temporary one (generated on first run): the admin must set a new one before anything else. */
  password_temporary: number;
  created_at: number;
  updated_at: number;
}

export interface AdminEnvironmentRolesTable {
  admin_id: string;
  environment_id: string;
  role: 'admin' | 'viewer';
}

export interface AdminSessionsTable {
  /** SHA-256 of the session cookie value: a database dump holds no usable session. */
  id_hash: string;
  admin_id: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  /** Absolute expiry; idle expiry is derived from last_seen_at. */
  expires_at: number;
}

export interface AuditLogTable {
  seq: Generated<number>;
  id: string;
  at: number;
  environment_id: string | null;
  actor_type: string;
  actor_id: string;
  action: string;
  target_type: string;
  target_id: string;
  ip: string | null;
  outcome: string;
  /** JSON: what changed. Never a secret, hash or token. */
  details: string;
}

export interface UsageDailyTable {
  integration_id: string;
  /** UTC day, YYYY-MM-DD. */
  day: string;
  tokens_minted: number;
  tokens_cached: number;
  failures: number;
}

export interface AuthFailuresTable {
  /** 'ip <address>' or 'client <client id>'. */
  key: string;
  window_start: number;
  count: number;
}

export interface SettingsTable {
  name: string;
  value: string;
}

export interface ServingLeaseTable {
  name: string;
  holder: string;
  expires_at: number;
}

export interface BlobsTable {
  key: string;
  content_type: string;
  data: Buffer;
  created_at: number;
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
  revocations: RevocationsTable;
  admins: AdminsTable;
  admin_environment_roles: AdminEnvironmentRolesTable;
  admin_sessions: AdminSessionsTable;
  audit_log: AuditLogTable;
  usage_daily: UsageDailyTable;
  auth_failures: AuthFailuresTable;
  settings: SettingsTable;
  blobs: BlobsTable;
  serving_lease: ServingLeaseTable;
  templates: TemplatesTable;
  projects: ProjectsTable;
  assets: AssetsTable;
  environment_browser_settings: EnvironmentBrowserSettingsTable;
}

// Environment API (environment-api/, migration 0003_environment_api).

export interface TemplatesTable {
  id: string;
  environment_id: string;
  name: string;
  /** The document, as JSON text. */
  content: string;
  /** Bytes of `content` (UTF-8). */
  size: number;
  /** Client ID of the integration that created it. */
  created_by: string;
  updated_by: string;
  created_at: number;
  updated_at: number;
}

export interface ProjectsTable extends TemplatesTable {
  /** The template it was created from (kept after that template is deleted). */
  template_id: string | null;
}

export interface AssetsTable {
  id: string;
  environment_id: string;
  /** 'media' | 'fonts'. */
  kind: string;
  name: string;
  content_type: string;
  size: number;
  /** SHA-256 of the bytes, hex: the ETag. */
  sha256: string;
  /** Where the BlobStore keeps the bytes. */
  blob_key: string;
  created_by: string;
  created_at: number;
}

export interface EnvironmentBrowserSettingsTable {
  environment_id: string;
  /** JSON array of origins (scheme://host[:port]) allowed to GET media and fonts cross-origin. */
  allowed_origins: string;
  /** 1 relaxes the rule that a token with a write scope must never come from a browser. */
  allow_write_tokens_in_browser: number;
  /** Lifetime of the browser tokens minted by token exchange in this environment (60..3600, default 900). */
  browser_token_ttl_seconds: number;
  /** 1 tolerates client_credentials requests that carry a browser Origin (default 0: refused). */
  allow_client_credentials_from_browser: number;
  updated_at: number;
}
