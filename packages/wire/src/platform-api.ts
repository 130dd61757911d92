import { Type, type Static } from '@sinclair/typebox';

// Wire schemas of the Platform API (/api/v1), written once: the server validates requests and
// serialises responses with them and turns them into its OpenAPI 3.1 document; the console and the
// CLI use their static types. Times are ISO 8601 strings on the wire.

/** A list of scope names. */
export const ScopeList = Type.Array(Type.String());

/** Scopes granted per API id. */
export const GrantsSchema = Type.Object(
  {
    'environment-api': Type.Optional(ScopeList),
    'platform-api': Type.Optional(ScopeList),
  },
  { additionalProperties: false, description: 'Scopes granted per API; an API left out has no access' },
);
/** Scopes granted per API id. */
export type Grants = Static<typeof GrantsSchema>;
/** The API ids grants are keyed by. */
export type ApiId = keyof Grants;

/** One secret of an integration: dates and status, never the secret. */
export const SecretSchema = Type.Object({
  id: Type.String(),
  generation: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  status: Type.Union([Type.Literal('active'), Type.Literal('expiring'), Type.Literal('expired')]),
});
/** One secret of an integration: dates and status, never the secret. */
export type Secret = Static<typeof SecretSchema>;

/** The lifetime bounds of browser tokens, in seconds (default 15 minutes, at most an hour). */
export const BROWSER_TOKEN_LIFETIME = { min: 60, max: 3600, default: 900 } as const;

/**
 * A browser Origin seen at the token endpoint with an integration's Client ID: its credentials were
 * used from a page (refused unless the environment allows it). Read-only; the latest request wins.
 */
export const BrowserUseSchema = Type.Object(
  {
    origin: Type.String({ description: 'The latest Origin header sent (at most 256 characters, control characters replaced by ?)' }),
    ip: Type.String({ description: 'The client address of that request' }),
    firstSeenAt: Type.String({ format: 'date-time' }),
    lastSeenAt: Type.String({ format: 'date-time' }),
    count: Type.Integer({ description: 'Token requests with a browser Origin so far' }),
  },
  { description: "A browser Origin seen at the token endpoint with this integration's Client ID" },
);
/** A browser Origin seen at the token endpoint with an integration's Client ID. */
export type BrowserUse = Static<typeof BrowserUseSchema>;

/** The `browserTokens` field: whether an integration may exchange its tokens for browser tokens. */
export const BrowserTokensFlagSchema = Type.Boolean({
  description: 'May exchange its access tokens (RFC 8693 token exchange at /oauth/token) for short-lived, read-only browser tokens. Default false.',
});

/** An integration (never its secret). */
export const IntegrationSchema = Type.Object({
  id: Type.String(),
  environmentId: Type.String(),
  clientId: Type.String(),
  name: Type.String(),
  description: Type.String(),
  disabled: Type.Boolean(),
  grantVersion: Type.Integer(),
  grants: GrantsSchema,
  secrets: Type.Array(SecretSchema),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  tokensRevokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Every token issued before this time is revoked; null if none ever was' }),
  browserTokens: BrowserTokensFlagSchema,
  browserUse: Type.Union([BrowserUseSchema, Type.Null()], { description: 'Read-only: null when its credentials were never seen from a browser' }),
});
/** An integration (never its secret). */
export type Integration = Static<typeof IntegrationSchema>;

const browserTokenLifetimeSeconds = (options: { default?: number } = {}) =>
  Type.Integer({
    minimum: BROWSER_TOKEN_LIFETIME.min,
    maximum: BROWSER_TOKEN_LIFETIME.max,
    description: `Lifetime of the browser tokens minted by token exchange in this environment, in seconds (${BROWSER_TOKEN_LIFETIME.min}..${BROWSER_TOKEN_LIFETIME.max}, default ${BROWSER_TOKEN_LIFETIME.default})`,
    ...options,
  });
const allowClientCredentialsFromBrowser = () =>
  Type.Boolean({
    description: 'Answer client_credentials requests that carry a browser Origin header (default false: refused with unauthorized_client, since a client secret in a page can be copied by anyone who loads it)',
  });

/** An environment's browser-token settings. */
export const BrowserTokenSettingsSchema = Type.Object({
  browserTokenLifetimeSeconds: browserTokenLifetimeSeconds(),
  allowClientCredentialsFromBrowser: allowClientCredentialsFromBrowser(),
});
/** An environment's browser-token settings. */
export type BrowserTokenSettings = Static<typeof BrowserTokenSettingsSchema>;

/** PATCH …/browser-tokens: the settings to change (a field left out keeps its value). */
export const BrowserTokenSettingsUpdateSchema = Type.Object(
  {
    browserTokenLifetimeSeconds: Type.Optional(browserTokenLifetimeSeconds()),
    allowClientCredentialsFromBrowser: Type.Optional(allowClientCredentialsFromBrowser()),
  },
  { additionalProperties: false, minProperties: 1 },
);
/** PATCH …/browser-tokens. */
export type BrowserTokenSettingsUpdate = Static<typeof BrowserTokenSettingsUpdateSchema>;

/** An environment. */
export const EnvironmentSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  browserTokenLifetimeSeconds: browserTokenLifetimeSeconds(),
  allowClientCredentialsFromBrowser: allowClientCredentialsFromBrowser(),
});
/** An environment. */
export type Environment = Static<typeof EnvironmentSchema>;

/** A console admin and their roles. */
export const AdminSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  platformAdmin: Type.Boolean(),
  environments: Type.Record(Type.String(), Type.Union([Type.Literal('admin'), Type.Literal('viewer')])),
});
/** A console admin and their roles. */
export type Admin = Static<typeof AdminSchema>;

/** GET/POST /api/v1/session: the signed-in admin and the CSRF token. */
export const SessionSchema = Type.Object({
  admin: AdminSchema,
  csrfToken: Type.String({ description: 'Send as X-CSRF-Token on every request that changes state' }),
  expiresAt: Type.String({ format: 'date-time' }),
  idleExpiresAt: Type.String({ format: 'date-time' }),
  passwordChangeRequired: Type.Boolean({
    description: 'The admin signed in with a temporary password (the one generated on first run): until PUT /api/v1/session/password sets a new one, every other call answers 403 password_change_required',
  }),
});
/** GET/POST /api/v1/session. */
export type SessionInfo = Static<typeof SessionSchema>;

/** PUT /api/v1/session/password: an admin sets a new password, proving the current one. */
export const PasswordChangeSchema = Type.Object({
  currentPassword: Type.String({ maxLength: 200 }),
  newPassword: Type.String({ maxLength: 200, description: 'At least 12 characters' }),
});
/** PUT /api/v1/session/password. */
export type PasswordChange = Static<typeof PasswordChangeSchema>;

/** GET /api/v1/environments: the environments the caller can see. */
export const EnvironmentListSchema = Type.Object({ environments: Type.Array(EnvironmentSchema) });
/** GET /api/v1/environments. */
export type EnvironmentList = Static<typeof EnvironmentListSchema>;

/** GET …/integrations: one page, newest first. */
export const IntegrationPageSchema = Type.Object({ integrations: Type.Array(IntegrationSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) });
/** GET …/integrations. */
export type IntegrationPage = Static<typeof IntegrationPageSchema>;

/** POST …/integrations and POST …/secrets: the secret is in this response and nowhere else. */
export const integrationWithSecretSchema = (secretDescription?: string) =>
  Type.Object({ integration: IntegrationSchema, clientSecret: secretDescription === undefined ? Type.String() : Type.String({ description: secretDescription }) });
/** POST …/integrations and POST …/secrets. */
export type IntegrationWithSecret = Static<ReturnType<typeof integrationWithSecretSchema>>;

/** GET …/secrets. */
export const SecretListSchema = Type.Object({ secrets: Type.Array(SecretSchema) });

/** GET/PUT …/permissions and POST …/permissions/preset. */
export const PermissionsSchema = Type.Object({
  grants: GrantsSchema,
  grantVersion: Type.Integer(),
  browserTokens: BrowserTokensFlagSchema,
  changed: Type.Optional(
    Type.Object(
      { added: Type.Array(Type.String()), removed: Type.Array(Type.String()), browserTokens: Type.Optional(Type.Boolean({ description: 'Present when this request turned browser tokens on (true) or off (false)' })) },
      { description: 'What this request changed, per scope (api:scope)' },
    ),
  ),
  note: Type.Optional(Type.String()),
});
/** GET/PUT …/permissions. */
export type PermissionsResult = Static<typeof PermissionsSchema>;

/** PUT …/permissions: scopes for the APIs named and/or browser tokens on or off (at least one). */
export const PermissionsUpdateSchema = Type.Object(
  { grants: Type.Optional(GrantsSchema), browserTokens: Type.Optional(BrowserTokensFlagSchema) },
  { additionalProperties: false, minProperties: 1 },
);
/** PUT …/permissions. */
export type PermissionsUpdate = Static<typeof PermissionsUpdateSchema>;

/** GET /api/v1/apis: each API's identifier and scope catalogue, and the presets. */
export const ApiCatalogueSchema = Type.Object({
  apis: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), audience: Type.String(), scopes: Type.Array(Type.Object({ name: Type.String(), description: Type.String() })) })),
  presets: Type.Record(Type.String(), Type.Array(Type.String())),
});
/** GET /api/v1/apis, with `id` narrowed to the API ids grants are keyed by. */
export type ApiCatalogue = Omit<Static<typeof ApiCatalogueSchema>, 'apis'> & { apis: (Static<typeof ApiCatalogueSchema>['apis'][number] & { id: ApiId })[] };

/** GET …/usage: tokens issued per day and last use. */
export const UsageSchema = Type.Object({
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  days: Type.Array(Type.Object({ day: Type.String(), tokensMinted: Type.Integer(), tokensCached: Type.Integer(), failures: Type.Integer() })),
});
/** GET …/usage. */
export type Usage = Static<typeof UsageSchema>;

/** One audit log entry. */
export const AuditEntrySchema = Type.Object({
  id: Type.String(),
  at: Type.String({ format: 'date-time' }),
  environmentId: Type.Union([Type.String(), Type.Null()]),
  actor: Type.Object({ type: Type.String(), id: Type.String() }),
  action: Type.String(),
  target: Type.Object({ type: Type.String(), id: Type.String() }),
  ip: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
});
/** One audit log entry. */
export type AuditEntry = Static<typeof AuditEntrySchema>;

/** GET …/audit: one page, newest first. */
export const AuditPageSchema = Type.Object({ entries: Type.Array(AuditEntrySchema), nextCursor: Type.Union([Type.Integer(), Type.Null()]) });
/** GET …/audit. */
export type AuditPage = Static<typeof AuditPageSchema>;

/** The parts of RFC 8414 authorization server metadata the console uses. */
export interface ServerMetadata {
  issuer: string;
  token_endpoint: string;
}
