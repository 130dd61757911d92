import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Clock } from '../../../support/clock.ts';
import { queryAudit } from '../../../platform/audit.ts';
import { getEnvironment } from '../../../platform/environments.ts';
import { getIntegrationInEnvironment, type IntegrationDeps } from '../../../platform/integrations.ts';
import { readUsage, type UsageRecorder } from '../../../platform/usage-recorder.ts';
import { authorizeEnvironment, requirePlatformAdmin } from '../../platform-auth.ts';
import { EnvironmentParams, errorResponses, IntegrationParams, isoTime, isoTimeOrNull } from './schemas.ts';

const AuditEntryDto = Type.Object({
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

const AuditQuery = Type.Object({
  actor: Type.Optional(Type.String({ maxLength: 320, description: 'admin email, client ID or CLI user' })),
  action: Type.Optional(Type.String({ maxLength: 100, description: "exact action, or a prefix ending in '*' (integration.*)" })),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  environment: Type.Optional(Type.String({ maxLength: 63 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  cursor: Type.Optional(Type.Integer({ minimum: 1 })),
});

const AuditPage = Type.Object({ entries: Type.Array(AuditEntryDto), nextCursor: Type.Union([Type.Integer(), Type.Null()]) });

/** What the activity routes use: the domain, the clock, and the usage recorder (flushed before a read). */
export interface ActivityRouteDeps {
  platform: IntegrationDeps;
  clock: Clock;
  usage: Pick<UsageRecorder, 'flush'>;
}

/** The audit log (per environment, or all of it for platform admins) and per-integration usage. */
export async function activityRoutes(app: FastifyInstance, { platform: deps, clock, usage }: ActivityRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  const read = async (query: typeof AuditQuery.static, environmentId: string | undefined) => {
    // Token issuance entries are buffered; make the log current before answering.
    await usage.flush();
    const page = await queryAudit(deps.database, {
      environmentId,
      actor: query.actor,
      action: query.action,
      from: query.from ? Date.parse(query.from) : undefined,
      to: query.to ? Date.parse(query.to) : undefined,
      before: query.cursor,
      limit: query.limit ?? 100,
    });
    return { entries: page.entries.map((e) => ({ ...e, at: isoTime(e.at) })), nextCursor: page.nextCursor };
  };

  api.get(
    '/api/v1/environments/:environmentId/audit',
    { schema: { tags: ['Audit'], summary: "An environment's audit log, newest first", params: EnvironmentParams, querystring: Type.Omit(AuditQuery, ['environment']), response: { 200: AuditPage, ...errorResponses } } },
    async (request) => {
      authorizeEnvironment(request, request.params.environmentId, 'audit');
      await getEnvironment(deps, request.params.environmentId);
      return read(request.query, request.params.environmentId);
    },
  );

  api.get('/api/v1/audit', { schema: { tags: ['Audit'], summary: 'The whole audit log (platform admins), including admin and signing-key events', querystring: AuditQuery, response: { 200: AuditPage, ...errorResponses } } }, async (request) => {
    requirePlatformAdmin(request);
    return read(request.query, request.query.environment);
  });

  api.get(
    '/api/v1/environments/:environmentId/integrations/:clientId/usage',
    {
      schema: {
        tags: ['Integrations'],
        summary: 'Tokens issued per day and last use',
        params: IntegrationParams,
        querystring: Type.Object({ days: Type.Optional(Type.Integer({ minimum: 1, maximum: 366, default: 30 })) }),
        response: {
          200: Type.Object({
            lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
            days: Type.Array(Type.Object({ day: Type.String(), tokensMinted: Type.Integer(), tokensCached: Type.Integer(), failures: Type.Integer() })),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      authorizeEnvironment(request, request.params.environmentId, 'read');
      await usage.flush();
      const integration = await getIntegrationInEnvironment(deps, request.params.environmentId, request.params.clientId);
      const since = new Date(clock.now() - ((request.query.days ?? 30) - 1) * 86400_000).toISOString().slice(0, 10);
      return { lastUsedAt: isoTimeOrNull(integration.lastUsedAt), days: await readUsage(deps.database, integration.id, since) };
    },
  );

  api.get(
    '/api/v1/apis',
    {
      schema: {
        tags: ['Permissions'],
        summary: "Each API's identifier and scope catalogue, and the presets",
        security: [],
        response: {
          200: Type.Object({
            apis: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), audience: Type.String(), scopes: Type.Array(Type.Object({ name: Type.String(), description: Type.String() })) })),
            presets: Type.Record(Type.String(), Type.Array(Type.String())),
          }),
          ...errorResponses,
        },
      },
    },
    async () => ({
      apis: deps.apis.apis.map((a) => ({ id: a.id, name: a.name, audience: a.audience, scopes: a.scopes })),
      presets: { 'read-only': deps.apis.presetScopes('read-only'), all: deps.apis.presetScopes('all') },
    }),
  );
}
