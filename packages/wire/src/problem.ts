import { Type, type Static } from '@sinclair/typebox';

/** The wire schema of an RFC 9457 problem document, shared by the Platform and Environment APIs' OpenAPI. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable machine-readable error code' }),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { description: 'RFC 9457 problem details (application/problem+json)' },
);

/** RFC 9457 problem details with Latchkey's stable `code` and, for validation, the fields at fault. */
export type Problem = Static<typeof ProblemSchema>;

/**
 * Every stable `code` a Platform API problem document carries, with what it means. The server throws
 * only these (a test scans its sources); clients branch on them, never on `detail`.
 */
export const PROBLEM_CODES = {
  // 400
  validation_failed: 'the request breaks a rule; `errors` names the fields',
  bad_request: 'the request could not be read',
  bad_url: 'the request path is not correctly percent-encoded, or holds a NUL',
  invalid_text: 'a text value holds a NUL character',
  json_too_deep: 'the JSON body nests too deeply',
  not_a_session: 'the request used a bearer token where only a console session makes sense',
  invalid_request: 'the bearer token was sent in a way RFC 6750 does not allow (in the query string, twice)',
  // 401
  unauthenticated: 'no session cookie and no bearer token',
  invalid_credentials: 'email or password is wrong',
  unauthorized: 'the bearer token was refused',
  invalid_token: 'the bearer token is not valid (expired, revoked, wrong audience, …)',
  // 403
  forbidden: 'the caller may not do this',
  insufficient_scope: 'the token lacks a scope the operation needs',
  csrf_token_invalid: 'a state-changing console request without the X-CSRF-Token of its session',
  wrong_environment: 'the token belongs to another environment',
  scope_escalation: 'a token may not grant Platform API scopes it does not hold itself',
  own_status: 'an integration may not disable or delete itself',
  password_change_required: 'the admin signed in with a temporary password and must set a new one first',
  // 404
  route_not_found: 'no such route',
  environment_not_found: 'no such environment',
  integration_not_found: 'no such integration in this environment',
  secret_not_found: 'no such secret',
  signing_key_not_found: 'no such signing key',
  admin_not_found: 'no such admin',
  template_not_found: 'no such template',
  // 409
  environment_exists: 'an environment with this id exists',
  admin_exists: 'an admin with this email exists',
  last_secret: "the integration's only valid secret cannot be revoked",
  last_platform_admin: 'the last platform admin cannot be deleted',
  // 413, 415, 429
  body_too_large: 'the body is larger than the limit',
  empty_upload: 'an upload without content',
  content_type_mismatch: 'the body is not of the declared media type',
  unsupported_media_type: 'the body has a media type the route does not accept',
  too_many_attempts: 'too many failed sign-ins; Retry-After says when to try again',
  // 5xx
  internal_error: 'the server failed; the log has the details',
  database_unavailable: 'the database is unavailable; retry shortly',
  temporarily_unavailable: 'the token could not be checked right now (revocation feed unreachable); retry shortly',
} as const;

/** A stable problem `code` of the Platform API. */
export type ProblemCode = keyof typeof PROBLEM_CODES;
