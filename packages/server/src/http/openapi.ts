import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from '../config/load-config.ts';
import { validateEnvironmentId } from '../platform/environments.ts';

/**
 * The Content-Security-Policy of every page and file under /docs: Swagger UI's own scripts and
 * styles only (no inline script), requests to this origin only, never inside a frame.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  // Swagger UI's logo is an SVG with a <style> element of its own (swagger-ui-standalone-preset.js);
  // its hash lets exactly that one in. The Chromium test of the docs fails on any CSP violation.
  "style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** The Swagger UI settings shared by /docs and the per-environment pages. */
export const SWAGGER_UI_CONFIG = {
  deepLinking: true,
  // Swagger UI can be told by ?url=… or ?configUrl=… to render any API document on this origin,
  // an attacker's included; the per-environment pages have routes of their own instead.
  queryConfigEnabled: false,
  validatorUrl: null,
};

/**
 * Registers @fastify/swagger (before any route, so it sees them all) to build the OpenAPI 3.1
 * document from the same TypeBox schemas that validate requests, and Swagger UI at /docs. Only
 * routes with tags are documented; the OAuth endpoints (tag OAuth) describe themselves in http/routes/oauth-schemas.ts.
 */
export async function registerOpenApi(app: FastifyInstance, deps: { config: Pick<Config, 'issuer'> }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Latchkey API', version: '1', description: 'Platform API (environments, integrations, secrets, permissions, audit) and Environment API.' },
      servers: [{ url: deps.config.issuer }],
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
  // @fastify/swagger-ui's types do not list queryConfigEnabled; the plugin passes uiConfig through.
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: SWAGGER_UI_CONFIG as Record<string, unknown>, staticCSP: DOCS_CSP });
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
