import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { changePermissions, getIntegrationInEnvironment, revokeSecret, rotateSecret, setPermissions, type Grants as DomainGrants, type Integration, type IntegrationDeps } from '../../../platform/integrations.ts';
import { actionContext, authorizeEnvironment, refuseScopeEscalation, refuseTakeover } from '../../platform-auth.ts';
import { integrationWithSecretSchema, PermissionsSchema, PermissionsUpdateSchema, SecretListSchema } from '@latchkey/wire';
import { errorResponses, IntegrationDto, IntegrationParams, toIntegrationDto, toSecretDto } from './schemas.ts';

const PermissionsDto = PermissionsSchema;

function flatten(grants: DomainGrants): Set<string> {
  return new Set(Object.entries(grants).flatMap(([api, scopes]) => (scopes ?? []).map((scope) => `${api}:${scope}`)));
}

const NOTE_ADDED = 'The next token request gets the new scopes; tokens already issued keep theirs until they expire.';
const NOTE_REMOVED = 'The next token request gets the new scopes; every token issued before this change was revoked, since it carries a removed scope.';
const NOTE_BROWSER_ON = 'It may now exchange its access tokens for read-only browser tokens (grant_type urn:ietf:params:oauth:grant-type:token-exchange), from the next request on.';
const NOTE_BROWSER_OFF = 'Its next token exchange is refused; browser tokens already issued expire within their lifetime (at most an hour), or at once if you revoke its tokens.';

/** The permissions response: the new grants and, scope by scope, what changed. */
function describePermissionChange(before: Integration, after: Integration) {
  const [was, now] = [flatten(before.grants), flatten(after.grants)];
  const removed = [...was].filter((s) => !now.has(s));
  const added = [...now].filter((s) => !was.has(s));
  const browserTokensChanged = before.browserTokens !== after.browserTokens;
  const notes = [
    ...(added.length > 0 || removed.length > 0 || !browserTokensChanged ? [removed.length > 0 ? NOTE_REMOVED : NOTE_ADDED] : []),
    ...(browserTokensChanged ? [after.browserTokens ? NOTE_BROWSER_ON : NOTE_BROWSER_OFF] : []),
  ];
  return {
    grants: after.grants,
    grantVersion: after.grantVersion,
    browserTokens: after.browserTokens,
    changed: { added, removed, ...(browserTokensChanged ? { browserTokens: after.browserTokens } : {}) },
    note: notes.join(' '),
  };
}

/** What the secret and permission routes use: the domain's dependencies, whose writes reach this server's caches. */
export interface CredentialRouteDeps {
  platform: IntegrationDeps;
}

/** Secrets (rotate, list, revoke) and permissions (get, set, preset) of an integration. */
export async function credentialRoutes(app: FastifyInstance, { platform: deps }: CredentialRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const base = '/api/v1/environments/:environmentId/integrations/:clientId';

  api.get(`${base}/secrets`, { schema: { tags: ['Secrets'], summary: 'List secrets: created, last used, expires — never the secret or its hash', params: IntegrationParams, response: { 200: SecretListSchema, ...errorResponses } } }, async (request) => {
    authorizeEnvironment(request, request.params.environmentId, 'read');
    const integration = await getIntegrationInEnvironment(deps, request.params.environmentId, request.params.clientId);
    return { secrets: integration.secrets.map(toSecretDto) };
  });

  api.post(
    `${base}/secrets`,
    {
      schema: {
        tags: ['Secrets'],
        summary: 'Rotate the secret; the previous one keeps working for graceSeconds. The new secret is shown this once.',
        params: IntegrationParams,
        body: Type.Object({
          graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 2592000, default: 0 })),
          revokeTokens: Type.Optional(Type.Boolean({ default: false, description: 'Also revoke every token issued so far (a suspected leak)' })),
        }),
        response: { 201: integrationWithSecretSchema(), ...errorResponses },
      },
    },
    async (request, reply) => {
      authorizeEnvironment(request, request.params.environmentId, 'write');
      refuseTakeover(request, await getIntegrationInEnvironment(deps, request.params.environmentId, request.params.clientId));
      const result = await rotateSecret(deps, request.params.clientId, { graceSeconds: request.body.graceSeconds ?? 0, revokeTokens: request.body.revokeTokens }, actionContext(request));
      return reply.code(201).header('cache-control', 'no-store').send({ integration: toIntegrationDto(result.integration), clientSecret: result.clientSecret });
    },
  );

  api.delete(
    `${base}/secrets/:secretId`,
    { schema: { tags: ['Secrets'], summary: 'Revoke one secret now', params: Type.Object({ environmentId: Type.String(), clientId: Type.String(), secretId: Type.String({ maxLength: 100 }) }), response: { 200: IntegrationDto, ...errorResponses } } },
    async (request) => {
      authorizeEnvironment(request, request.params.environmentId, 'write');
      refuseTakeover(request, await getIntegrationInEnvironment(deps, request.params.environmentId, request.params.clientId));
      return toIntegrationDto(await revokeSecret(deps, request.params.clientId, request.params.secretId, actionContext(request)));
    },
  );

  api.get(`${base}/permissions`, { schema: { tags: ['Permissions'], summary: 'Scopes granted per API', params: IntegrationParams, response: { 200: PermissionsDto, ...errorResponses } } }, async (request) => {
    authorizeEnvironment(request, request.params.environmentId, 'read');
    const integration = await getIntegrationInEnvironment(deps, request.params.environmentId, request.params.clientId);
    return { grants: integration.grants, grantVersion: integration.grantVersion, browserTokens: integration.browserTokens };
  });

  api.put(
    `${base}/permissions`,
    {
      schema: {
        tags: ['Permissions'],
        summary: 'Replace the scopes of the APIs named in grants (others keep theirs), and/or allow or stop browser tokens (token exchange)',
        params: IntegrationParams,
        body: PermissionsUpdateSchema,
        response: { 200: PermissionsDto, ...errorResponses },
      },
    },
    async (request) => {
      authorizeEnvironment(request, request.params.environmentId, 'write');
      refuseScopeEscalation(request, request.body.grants?.['platform-api']);
      const before = await getIntegrationInEnvironment(deps, request.params.environmentId, request.params.clientId);
      refuseTakeover(request, before);
      return describePermissionChange(before, await changePermissions(deps, request.params.clientId, request.body, actionContext(request)));
    },
  );

  api.post(
    `${base}/permissions/preset`,
    {
      schema: {
        tags: ['Permissions'],
        summary: 'Apply an Environment API preset: read-only, all, or none',
        params: IntegrationParams,
        body: Type.Object({ preset: Type.Union([Type.Literal('read-only'), Type.Literal('all'), Type.Literal('none')]) }),
        response: { 200: PermissionsDto, ...errorResponses },
      },
    },
    async (request) => {
      authorizeEnvironment(request, request.params.environmentId, 'write');
      const before = await getIntegrationInEnvironment(deps, request.params.environmentId, request.params.clientId);
      refuseTakeover(request, before);
      const preset = { 'environment-api': deps.apis.presetScopes(request.body.preset) };
      return describePermissionChange(before, await setPermissions(deps, request.params.clientId, preset, actionContext(request)));
    },
  );
}
