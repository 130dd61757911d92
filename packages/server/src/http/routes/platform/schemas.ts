import { Type, type Static } from '@sinclair/typebox';
import type { Integration, SecretSummary } from '../../../platform/integrations.ts';
import type { Environment } from '../../../platform/environments.ts';
import type { Admin } from '../../../platform/admins.ts';
import { ProblemSchema } from '../../problem.ts';

// Wire schemas of the Platform API, written once: Fastify validates requests and serialises
// responses with them, and @fastify/swagger turns them into the OpenAPI 3.1 document.
// Times are ISO 8601 strings on the wire.

const isoTime = (ms: number) => new Date(ms).toISOString();
const isoTimeOrNull = (ms: number | null) => (ms === null ? null : isoTime(ms));

/** RFC 9457 problem details (the one schema in http/problem.ts). */
export const Problem = ProblemSchema;

export const ScopeList = Type.Array(Type.String());

export const Grants = Type.Object(
  {
    'environment-api': Type.Optional(ScopeList),
    'platform-api': Type.Optional(ScopeList),
  },
  { additionalProperties: false, description: 'Scopes granted per API; an API left out has no access' },
);

export const SecretDto = Type.Object({
  id: Type.String(),
  generation: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  status: Type.Union([Type.Literal('active'), Type.Literal('expiring'), Type.Literal('expired')]),
});

export const IntegrationDto = Type.Object({
  id: Type.String(),
  environmentId: Type.String(),
  clientId: Type.String(),
  name: Type.String(),
  description: Type.String(),
  disabled: Type.Boolean(),
  grantVersion: Type.Integer(),
  grants: Grants,
  secrets: Type.Array(SecretDto),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  tokensRevokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Every token issued before this time is revoked; null if none ever was' }),
});

export const EnvironmentDto = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const AdminDto = Type.Object({
  id: Type.String(),
  email: Type.String(),
  platformAdmin: Type.Boolean(),
  environments: Type.Record(Type.String(), Type.Union([Type.Literal('admin'), Type.Literal('viewer')])),
});

export const EnvironmentParams = Type.Object({ environmentId: Type.String({ minLength: 1, maxLength: 63 }) });
export const IntegrationParams = Type.Object({ environmentId: Type.String({ minLength: 1, maxLength: 63 }), clientId: Type.String({ minLength: 1, maxLength: 100 }) });

/** An error response as sent: RFC 9457 problem details with their own media type. */
export const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: Problem } } });

/** Standard error responses, added to every route's schema. */
export const errorResponses = {
  400: problemResponse('Invalid request; `errors` names the fields'),
  401: problemResponse('No valid credentials'),
  403: problemResponse('Not allowed for this caller'),
  404: problemResponse('Not found'),
  409: problemResponse('Conflicts with the current state'),
};

export function toSecretDto(secret: SecretSummary): Static<typeof SecretDto> {
  return { id: secret.id, generation: secret.generation, createdAt: isoTime(secret.createdAt), expiresAt: isoTimeOrNull(secret.expiresAt), lastUsedAt: isoTimeOrNull(secret.lastUsedAt), status: secret.status };
}

export function toIntegrationDto(integration: Integration): Static<typeof IntegrationDto> {
  return {
    id: integration.id,
    environmentId: integration.environmentId,
    clientId: integration.clientId,
    name: integration.name,
    description: integration.description,
    disabled: integration.disabled,
    grantVersion: integration.grantVersion,
    grants: integration.grants,
    secrets: integration.secrets.map(toSecretDto),
    createdAt: isoTime(integration.createdAt),
    updatedAt: isoTime(integration.updatedAt),
    lastUsedAt: isoTimeOrNull(integration.lastUsedAt),
    tokensRevokedAt: isoTimeOrNull(integration.tokensRevokedAt),
  };
}

export function toEnvironmentDto(environment: Environment): Static<typeof EnvironmentDto> {
  return { id: environment.id, name: environment.name, createdAt: isoTime(environment.createdAt), updatedAt: isoTime(environment.updatedAt) };
}

export function toAdminDto(admin: Admin): Static<typeof AdminDto> {
  return { id: admin.id, email: admin.email, platformAdmin: admin.platformAdmin, environments: admin.environments };
}

export { isoTime, isoTimeOrNull };
