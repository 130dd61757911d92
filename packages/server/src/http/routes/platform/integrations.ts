import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  changePermissions,
  createIntegration,
  deleteIntegration,
  getIntegrationInEnvironment,
  listIntegrationsPage,
  revokeIntegrationTokens,
  setIntegrationDisabled,
  updateIntegration,
  type Grants as DomainGrants,
  type IntegrationDeps,
} from '../../../platform/integrations.ts';
import { getEnvironment } from '../../../platform/environments.ts';
import { actionContext, authorizeEnvironment, refuseScopeEscalation, refuseTakeover } from '../../platform-auth.ts';
import { BrowserTokensFlagSchema, IntegrationPageSchema, integrationWithSecretSchema } from '@latchkey/wire';
import { EnvironmentParams, errorResponses, Grants, IntegrationDto, IntegrationParams, toIntegrationDto } from './schemas.ts';

const TAGS = ['Integrations'];
const REVOKES = 'Every token issued to it so far is revoked at once: Latchkey refuses it, and so does every API that follows the revocation feed (docs/revocation.md).';

/** What the integration routes use: the domain's dependencies, whose writes reach this server's caches. */
export interface IntegrationRouteDeps {
  platform: IntegrationDeps;
}

/** Integrations of an environment: list, create (secret shown once), get, edit, disable, enable, delete. */
export async function integrationRoutes(app: FastifyInstance, { platform: deps }: IntegrationRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/api/v1/environments/:environmentId/integrations',
    {
      schema: {
        tags: TAGS,
        summary: "List an environment's integrations, newest first",
        params: EnvironmentParams,
        querystring: Type.Object({
          name: Type.Optional(Type.String({ maxLength: 100, description: 'case-insensitive part of the name' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          cursor: Type.Optional(Type.String({ maxLength: 100, description: 'nextCursor of the previous page' })),
        }),
        response: { 200: IntegrationPageSchema, ...errorResponses },
      },
    },
    async (request) => {
      authorizeEnvironment(request, request.params.environmentId, 'read');
      const page = await listIntegrationsPage(deps, request.params.environmentId, { name: request.query.name, limit: request.query.limit ?? 50, after: request.query.cursor });
      return { integrations: page.integrations.map(toIntegrationDto), nextCursor: page.nextCursor };
    },
  );

  api.post(
    '/api/v1/environments/:environmentId/integrations',
    {
      schema: {
        tags: TAGS,
        summary: 'Create an integration; the response carries its Client Secret, shown this once',
        params: EnvironmentParams,
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 100 }),
          description: Type.Optional(Type.String({ maxLength: 500 })),
          preset: Type.Optional(Type.Union([Type.Literal('read-only'), Type.Literal('all')], { description: 'Environment API preset' })),
          grants: Type.Optional(Grants),
          browserTokens: Type.Optional(BrowserTokensFlagSchema),
        }),
        response: { 201: integrationWithSecretSchema('Shown once: store it now'), ...errorResponses },
      },
    },
    async (request, reply) => {
      authorizeEnvironment(request, request.params.environmentId, 'write');
      refuseScopeEscalation(request, request.body.grants?.['platform-api']);
      const grants: DomainGrants = { ...request.body.grants };
      if (request.body.preset) grants['environment-api'] = [...deps.apis.presetScopes(request.body.preset), ...(grants['environment-api'] ?? [])];
      const result = await createIntegration(
        deps,
        { environmentId: request.params.environmentId, name: request.body.name, description: request.body.description ?? '', grants, browserTokens: request.body.browserTokens },
        actionContext(request),
      );
      return reply.code(201).header('cache-control', 'no-store').send({ integration: toIntegrationDto(result.integration), clientSecret: result.clientSecret });
    },
  );

  api.get('/api/v1/environments/:environmentId/integrations/:clientId', { schema: { tags: TAGS, summary: 'Get an integration (never its secret)', params: IntegrationParams, response: { 200: IntegrationDto, ...errorResponses } } }, async (request) => {
    authorizeEnvironment(request, request.params.environmentId, 'read');
    await getEnvironment(deps, request.params.environmentId);
    return toIntegrationDto(await getIntegrationInEnvironment(deps, request.params.environmentId, request.params.clientId));
  });

  api.patch(
    '/api/v1/environments/:environmentId/integrations/:clientId',
    {
      schema: {
        tags: TAGS,
        summary: "Edit an integration's name or description, or turn browser tokens on or off (audited as a permission change, like PUT …/permissions)",
        params: IntegrationParams,
        body: Type.Object(
          { name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), description: Type.Optional(Type.String({ maxLength: 500 })), browserTokens: Type.Optional(BrowserTokensFlagSchema) },
          // Unknown and read-only fields (browserUse, clientId, …) are refused, not silently ignored.
          { minProperties: 1, additionalProperties: false },
        ),
        response: { 200: IntegrationDto, ...errorResponses },
      },
    },
    async (request) => {
      authorizeEnvironment(request, request.params.environmentId, 'write');
      refuseTakeover(request, await getIntegrationInEnvironment(deps, request.params.environmentId, request.params.clientId));
      const { browserTokens, ...details } = request.body;
      // Two writes, two audit entries: browser tokens are a permission (integration.permissions.set), the rest an edit.
      const changed = browserTokens === undefined ? null : await changePermissions(deps, request.params.clientId, { browserTokens }, actionContext(request));
      if (changed !== null && details.name === undefined && details.description === undefined) return toIntegrationDto(changed);
      return toIntegrationDto(await updateIntegration(deps, request.params.clientId, details, actionContext(request)));
    },
  );

  for (const verb of ['disable', 'enable'] as const) {
    api.post(
      `/api/v1/environments/:environmentId/integrations/:clientId/${verb}`,
      {
        schema: {
          tags: TAGS,
          summary: verb === 'disable' ? `Stop issuing tokens to an integration. ${REVOKES}` : 'Issue tokens to a disabled integration again (tokens revoked when it was disabled stay revoked)',
          params: IntegrationParams,
          response: { 200: IntegrationDto, ...errorResponses },
        },
      },
      async (request) => {
        authorizeEnvironment(request, request.params.environmentId, 'write');
        refuseTakeover(request, await getIntegrationInEnvironment(deps, request.params.environmentId, request.params.clientId), { changesStatus: true });
        return toIntegrationDto(await setIntegrationDisabled(deps, request.params.clientId, verb === 'disable', actionContext(request)));
      },
    );
  }

  api.post(
    '/api/v1/environments/:environmentId/integrations/:clientId/revoke-tokens',
    {
      schema: {
        tags: TAGS,
        summary: `Revoke every token issued to an integration so far (a suspected leak). The next token request gets a new token.`,
        params: IntegrationParams,
        response: { 200: IntegrationDto, ...errorResponses },
      },
    },
    async (request) => {
      authorizeEnvironment(request, request.params.environmentId, 'write');
      refuseTakeover(request, await getIntegrationInEnvironment(deps, request.params.environmentId, request.params.clientId));
      return toIntegrationDto(await revokeIntegrationTokens(deps, request.params.clientId, actionContext(request)));
    },
  );

  api.delete(
    '/api/v1/environments/:environmentId/integrations/:clientId',
    { schema: { tags: TAGS, summary: `Delete an integration. ${REVOKES}`, params: IntegrationParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      authorizeEnvironment(request, request.params.environmentId, 'write');
      refuseTakeover(request, await getIntegrationInEnvironment(deps, request.params.environmentId, request.params.clientId), { changesStatus: true });
      await deleteIntegration(deps, request.params.clientId, actionContext(request));
      return reply.code(204).send(null);
    },
  );
}
