import { Type, type TSchema } from '@sinclair/typebox';

// OpenAPI descriptions of the OAuth endpoints. These endpoints read their bodies themselves
// (oauth/token-request.ts: form or JSON, repeated parameters refused) and answer RFC 6749 §5.2 errors,
// so the schemas here document; they do not validate (see oauthRouteSchema's caller).

const TAGS = ['OAuth'];
const FORM_AND_JSON = ['application/x-www-form-urlencoded', 'application/json'];

const OAuthErrorBody = Type.Object(
  { error: Type.String({ description: 'RFC 6749 §5.2 error code' }), error_description: Type.String({ description: 'what to fix, in printable ASCII' }) },
  { description: 'An RFC 6749 §5.2 error' },
);

const ClientCredentials = {
  client_id: Type.Optional(Type.String({ description: 'with client_secret_post; or authenticate with HTTP Basic (client_secret_basic)' })),
  client_secret: Type.Optional(Type.String({ description: 'with client_secret_post' })),
};

const errors = (extra: Record<number, string> = {}) =>
  Object.fromEntries(
    Object.entries({ 400: 'invalid_request (missing or repeated parameter, credentials in the URL, two authentication methods)', 401: 'invalid_client', 429: 'too many failed client authentications; Retry-After', ...extra }).map(([status, description]) => [
      status,
      { ...OAuthErrorBody, description },
    ]),
  );

/** A route schema with this summary, body fields and responses, tagged OAuth, without credentials of the API's own. */
function oauthRouteSchema(summary: string, description: string, body: Record<string, TSchema>, responses: Record<number, TSchema>): Record<string, unknown> {
  return { tags: TAGS, summary, description, consumes: FORM_AND_JSON, body: Type.Object(body), response: responses, security: [] };
}

/** `POST /oauth/token` (RFC 6749 §4.4). */
export const tokenRouteSchema = oauthRouteSchema(
  'Get an access token (client credentials grant)',
  'Authenticate with HTTP Basic or client_id + client_secret in the body. The same integration, API and scopes get the same cached token until less than LATCHKEY_TOKEN_REFRESH_WINDOW of its life remains.',
  {
    grant_type: Type.Literal('client_credentials'),
    audience: Type.Optional(Type.String({ description: 'the API (its identifier); default: the Environment API' })),
    resource: Type.Optional(Type.String({ description: 'RFC 8707: the same as audience' })),
    scope: Type.Optional(Type.String({ description: 'space-separated; narrows the granted scopes' })),
    ...ClientCredentials,
  },
  {
    200: Type.Object({ access_token: Type.String(), token_type: Type.Literal('Bearer'), expires_in: Type.Integer({ description: 'seconds remaining' }), scope: Type.String() }),
    ...errors({ 403: 'access_denied: no permission for that API' }),
  },
);

/** `POST /oauth/revoke` (RFC 7009). */
export const revocationRouteSchema = oauthRouteSchema(
  'Revoke one of your own access tokens (RFC 7009)',
  "The client authenticates as at the token endpoint. Every API that follows Latchkey's revocation feed refuses the token from then on, and the token endpoint never hands it out again. An unknown, expired or another client's token is answered 200 too, and nothing changes.",
  { token: Type.String({ description: 'the access token to revoke' }), token_type_hint: Type.Optional(Type.String({ description: 'accepted and ignored: access tokens are the only kind' })), ...ClientCredentials },
  { 200: Type.Null({ description: 'revoked (or nothing to revoke); empty body' }), ...errors() },
);

/** `POST /oauth/introspect` (RFC 7662). */
export const introspectionRouteSchema = oauthRouteSchema(
  'Ask whether an access token is active (RFC 7662)',
  'For integrations granted the Platform API scope tokens:introspect, authenticated as at the token endpoint or with a Platform API bearer token. Only live tokens of the caller’s own environment are active; every other token is {"active":false}.',
  { token: Type.String({ description: 'the access token to check' }), token_type_hint: Type.Optional(Type.String({ description: 'accepted and ignored' })), ...ClientCredentials },
  {
    200: Type.Object({
      active: Type.Boolean(),
      scope: Type.Optional(Type.String()),
      client_id: Type.Optional(Type.String()),
      sub: Type.Optional(Type.String()),
      aud: Type.Optional(Type.String()),
      iss: Type.Optional(Type.String()),
      exp: Type.Optional(Type.Integer()),
      iat: Type.Optional(Type.Integer()),
      jti: Type.Optional(Type.String()),
      token_type: Type.Optional(Type.Literal('Bearer')),
      environment: Type.Optional(Type.String()),
    }),
    ...errors({ 403: 'insufficient_scope: the caller is not granted tokens:introspect' }),
  },
);

const RevocationEntry = Type.Union([
  Type.Object({ type: Type.Literal('token'), jti: Type.String(), expiresAt: Type.Integer() }),
  Type.Object({ type: Type.Literal('client'), clientId: Type.String(), notBefore: Type.Integer(), expiresAt: Type.Integer() }),
  Type.Object({ type: Type.Literal('environment'), environmentId: Type.String(), notBefore: Type.Integer(), expiresAt: Type.Integer() }),
]);

/** `GET /oauth/revocations` (docs/revocation.md). */
export const revocationFeedRouteSchema = {
  tags: TAGS,
  summary: 'The revocation feed: revoked tokens and integrations, for resource servers',
  description:
    'A token is revoked if a token entry names its jti, or a client / environment entry names its client_id / environment and its iat is before notBefore. Send Accept: text/event-stream for Server-Sent Events (backlog, an event named ready, then each new revocation; resume with Last-Event-ID). Entries disappear once every token they cover has expired (expiresAt).',
  querystring: Type.Object({ after: Type.Optional(Type.String({ description: 'the cursor of an earlier page or event; absent: every live revocation' })) }),
  response: {
    200: Type.Object({ entries: Type.Array(RevocationEntry), cursor: Type.String(), hasMore: Type.Boolean() }),
    400: { ...OAuthErrorBody, description: 'invalid_request: a malformed cursor' },
  },
  security: [],
};
