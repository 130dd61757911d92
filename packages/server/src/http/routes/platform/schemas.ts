import { Type } from '@sinclair/typebox';
import { AdminSchema, EnvironmentSchema, GrantsSchema, IntegrationSchema, ProblemSchema, SecretSchema, type Admin as AdminWire, type Environment as EnvironmentWire, type Integration as IntegrationWire, type Secret as SecretWire } from '@latchkey/wire';
import type { Integration, SecretSummary } from '../../../platform/integrations.ts';
import type { Environment } from '../../../platform/environments.ts';
import type { Admin } from '../../../platform/admins.ts';

// Wire schemas of the Platform API, written once in @latchkey/wire: Fastify validates requests and
// serialises responses with them, and @fastify/swagger turns them into the OpenAPI 3.1 document.
// Here: the route parameters, the error responses, and the mappers from domain values (epoch
// milliseconds) to wire values (ISO 8601 strings), which the CLI's --json uses too.

const isoTime = (ms: number) => new Date(ms).toISOString();
const isoTimeOrNull = (ms: number | null) => (ms === null ? null : isoTime(ms));

// The shapes live in @latchkey/wire, which the console and the CLI share; the server's names for
// them stay so its routes read as before.
export const Problem = ProblemSchema;
export const Grants = GrantsSchema;
export const SecretDto = SecretSchema;
export const IntegrationDto = IntegrationSchema;
export const EnvironmentDto = EnvironmentSchema;
export const AdminDto = AdminSchema;

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

export function toSecretDto(secret: SecretSummary): SecretWire {
  return { id: secret.id, generation: secret.generation, createdAt: isoTime(secret.createdAt), expiresAt: isoTimeOrNull(secret.expiresAt), lastUsedAt: isoTimeOrNull(secret.lastUsedAt), status: secret.status };
}

export function toIntegrationDto(integration: Integration): IntegrationWire {
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
    browserTokens: integration.browserTokens,
    browserUse:
      integration.browserUse === null
        ? null
        : { origin: integration.browserUse.origin, ip: integration.browserUse.ip, firstSeenAt: isoTime(integration.browserUse.firstSeenAt), lastSeenAt: isoTime(integration.browserUse.lastSeenAt), count: integration.browserUse.count },
  };
}

export function toEnvironmentDto(environment: Environment): EnvironmentWire {
  return {
    id: environment.id,
    name: environment.name,
    createdAt: isoTime(environment.createdAt),
    updatedAt: isoTime(environment.updatedAt),
    browserTokenLifetimeSeconds: environment.browserTokenLifetimeSeconds,
    allowClientCredentialsFromBrowser: environment.allowClientCredentialsFromBrowser,
  };
}

export function toAdminDto(admin: Admin): AdminWire {
  return { id: admin.id, email: admin.email, platformAdmin: admin.platformAdmin, environments: admin.environments };
}

export { isoTime, isoTimeOrNull };
