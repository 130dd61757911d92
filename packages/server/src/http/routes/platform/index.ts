import type { FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import { createPlatformApiVerifier, createPlatformAuthHook, enforceRouteAccess, type PlatformAuthDeps } from '../../platform-auth.ts';
import { problemErrorHandler } from '../../../support/problem.ts';
import { sessionRoutes, type SessionRouteDeps } from './session.ts';
import { environmentRoutes } from './environments.ts';
import { integrationRoutes } from './integrations.ts';
import { credentialRoutes } from './credentials.ts';
import { activityRoutes, type ActivityRouteDeps } from './activity.ts';

/** What the Platform API uses: its authentication, and what its groups of routes declare they need. */
export type PlatformApiRouteDeps = PlatformAuthDeps & SessionRouteDeps & ActivityRouteDeps;

/**
 * The Platform API (`/api/v1`): what an environment admin or an automation does to environments and
 * integrations. Callers are console sessions or integrations holding a Platform API token, verified
 * with @latchkey/resource like any third-party API would.
 */
export async function platformApiRoutes(app: FastifyInstance, deps: PlatformApiRouteDeps): Promise<void> {
  await app.register(cookie);
  const verifier = createPlatformApiVerifier(app, deps);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', createPlatformAuthHook(deps, verifier, deps.config.session));
  app.addHook('preValidation', enforceRouteAccess);
  // Sessions, CSRF tokens, a secret shown once, who may do what: no answer here may be kept by a
  // browser or a shared cache (RFC 9111 §5.2.2.5), whatever its status.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });
  app.setErrorHandler(problemErrorHandler);
  await app.register(sessionRoutes, { config: deps.config, clock: deps.clock, platform: deps.platform });
  await app.register(environmentRoutes, { platform: deps.platform });
  await app.register(integrationRoutes, { platform: deps.platform });
  await app.register(credentialRoutes, { platform: deps.platform });
  await app.register(activityRoutes, { platform: deps.platform, clock: deps.clock, usage: deps.usage });
}
