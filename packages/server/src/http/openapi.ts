import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Runtime } from '../runtime.ts';
import { validateEnvironmentId } from '../platform/environments.ts';

/**
 * Registers @fastify/swagger (before any route, so it sees them all) to build the OpenAPI 3.1
 * document from the same TypeBox schemas that validate requests, and Swagger UI at /docs. Only
 * routes with tags are documented; the OAuth endpoints (tag OAuth) describe themselves in http/routes/oauth-schemas.ts.
 */
export async function registerOpenApi(app: FastifyInstance, runtime: Runtime): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Latchkey API', version: '1', description: 'Platform API (environments, integrations, secrets, permissions, audit) and Environment API.' },
      servers: [{ url: runtime.config.issuer }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /oauth/token for the API the route belongs to' },
          session: { type: 'apiKey', in: 'cookie', name: 'latchkey_session', description: 'Console session (state-changing requests also need X-CSRF-Token)' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    hideUntagged: true,
  });
  // queryConfigEnabled lets /docs/?url=… open another document (the per-environment one); Swagger UI
  // supports it, @fastify/swagger-ui's types do not list it, and the plugin passes uiConfig through.
  const uiConfig = { deepLinking: true, queryConfigEnabled: true } as Record<string, unknown>;
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig });
}

/**
 * The OpenAPI document specialised for one environment: `{environmentId}` filled in, so Swagger UI
 * shows ready-to-call paths (the seed's "Your Environment Swagger").
 */
export function environmentOpenApi(app: FastifyInstance, environmentId: string): unknown {
  validateEnvironmentId(environmentId);
  const document = structuredClone(app.swagger()) as { paths?: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> };
  const paths: Record<string, unknown> = {};
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    if (!path.includes('{environmentId}')) continue;
    for (const operation of Object.values(operations)) {
      if (operation?.parameters) operation.parameters = operation.parameters.filter((p) => !(p.in === 'path' && p.name === 'environmentId'));
    }
    paths[path.replace('{environmentId}', environmentId)] = operations;
  }
  return { ...document, paths, info: { ...(document as { info?: object }).info, title: `Latchkey API — environment ${environmentId}` } };
}
