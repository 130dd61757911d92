import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { IntegrationDeps } from '../../../platform/integrations.ts';
import { createEnvironment, deleteEnvironment, getEnvironment, listEnvironments, renameEnvironment, setBrowserTokenSettings } from '../../../platform/environments.ts';
import { actionContext, authorizeEnvironment, requirePlatformAdmin, requirePrincipal } from '../../platform-auth.ts';
import { BrowserTokenSettingsSchema, BrowserTokenSettingsUpdateSchema, EnvironmentListSchema } from '@latchkey/wire';
import type { Environment } from '../../../platform/environments.ts';
import { EnvironmentDto, EnvironmentParams, errorResponses, toEnvironmentDto } from './schemas.ts';

const TAGS = ['Environments'];

/** What the environment routes use: the domain's dependencies, whose writes reach this server's caches. */
export interface EnvironmentRouteDeps {
  platform: IntegrationDeps;
}

/** Environments: platform admins manage them; others see the ones they belong to. */
export async function environmentRoutes(app: FastifyInstance, { platform: deps }: EnvironmentRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get('/api/v1/environments', { schema: { tags: TAGS, summary: 'List the environments you can see', response: { 200: EnvironmentListSchema, ...errorResponses } } }, async (request) => {
    const principal = requirePrincipal(request);
    const all = await listEnvironments(deps);
    const visible = all.filter((env) =>
      principal.kind === 'admin' ? principal.admin.platformAdmin || env.id in principal.admin.environments : env.id === principal.claims.environment && (principal.scopes.has('integrations:read') || principal.scopes.has('integrations:write')),
    );
    return { environments: visible.map(toEnvironmentDto) };
  });

  api.post(
    '/api/v1/environments',
    {
      schema: {
        tags: TAGS,
        summary: 'Create an environment (platform admins)',
        body: Type.Object({ id: Type.String({ minLength: 1, maxLength: 63, description: 'lower-case letters, digits, inner hyphens' }), name: Type.Optional(Type.String({ maxLength: 100 })) }),
        response: { 201: EnvironmentDto, ...errorResponses },
      },
    },
    async (request, reply) => {
      requirePlatformAdmin(request);
      const environment = await createEnvironment(deps, request.body, actionContext(request));
      return reply.code(201).send(toEnvironmentDto(environment));
    },
  );

  api.get('/api/v1/environments/:environmentId', { schema: { tags: TAGS, summary: 'Get an environment', params: EnvironmentParams, response: { 200: EnvironmentDto, ...errorResponses } } }, async (request) => {
    authorizeEnvironment(request, request.params.environmentId, 'read');
    return toEnvironmentDto(await getEnvironment(deps, request.params.environmentId));
  });

  api.patch(
    '/api/v1/environments/:environmentId',
    { schema: { tags: TAGS, summary: 'Rename an environment (platform admins)', params: EnvironmentParams, body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }), response: { 200: EnvironmentDto, ...errorResponses } } },
    async (request) => {
      requirePlatformAdmin(request);
      return toEnvironmentDto(await renameEnvironment(deps, request.params.environmentId, request.body.name, actionContext(request)));
    },
  );

  api.delete(
    '/api/v1/environments/:environmentId',
    { schema: { tags: TAGS, summary: 'Delete an environment and its integrations (platform admins). Every token issued in it is revoked at once, and stays refused if the id is used again.', params: EnvironmentParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      requirePlatformAdmin(request);
      await deleteEnvironment(deps, request.params.environmentId, actionContext(request));
      return reply.code(204).send(null);
    },
  );

  const browserTokens = (environment: Environment) => ({
    browserTokenLifetimeSeconds: environment.browserTokenLifetimeSeconds,
    allowClientCredentialsFromBrowser: environment.allowClientCredentialsFromBrowser,
  });

  api.get(
    '/api/v1/environments/:environmentId/browser-tokens',
    { schema: { tags: TAGS, summary: "An environment's browser-token settings", params: EnvironmentParams, response: { 200: BrowserTokenSettingsSchema, ...errorResponses } } },
    async (request) => {
      authorizeEnvironment(request, request.params.environmentId, 'read');
      return browserTokens(await getEnvironment(deps, request.params.environmentId));
    },
  );

  api.patch(
    '/api/v1/environments/:environmentId/browser-tokens',
    {
      schema: {
        tags: TAGS,
        summary: "Change an environment's browser-token settings (environment admins): the lifetime of browser tokens, and whether client_credentials requests from a browser are answered. Takes effect at the token endpoint from the next request.",
        params: EnvironmentParams,
        body: BrowserTokenSettingsUpdateSchema,
        response: { 200: BrowserTokenSettingsSchema, ...errorResponses },
      },
    },
    async (request) => {
      authorizeEnvironment(request, request.params.environmentId, 'write');
      return browserTokens(await setBrowserTokenSettings(deps, request.params.environmentId, request.body, actionContext(request)));
    },
  );
}
