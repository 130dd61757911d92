import type { FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import type { Runtime } from '../../../runtime.ts';
import { createPlatformApiVerifier, createPlatformAuthHook, enforceRouteAccess } from '../../platform-auth.ts';
import { problemErrorHandler } from '../../problem.ts';
import { sessionRoutes } from './session.ts';
import { environmentRoutes } from './environments.ts';
import { integrationRoutes } from './integrations.ts';
import { credentialRoutes } from './credentials.ts';
import { activityRoutes } from './activity.ts';

/**
 * The Platform API (`/api/v1`): what an environment admin or an automation does to environments and
 * integrations. Callers are console sessions or integrations holding a Platform API token, verified
 * with @latchkey/resource like any third-party API would.
 */
export async function platformApiRoutes(app: FastifyInstance, { runtime }: { runtime: Runtime }): Promise<void> {
  await app.register(cookie);
  const verifier = createPlatformApiVerifier(app, runtime);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', createPlatformAuthHook(runtime, verifier, runtime.config.session));
  app.addHook('preValidation', enforceRouteAccess);
  // Sessions, CSRF tokens, a secret shown once, who may do what: no answer here may be kept by a
  // browser or a shared cache (RFC 9111 §5.2.2.5), whatever its status.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });
  app.setErrorHandler(problemErrorHandler);
  for (const routes of [sessionRoutes, environmentRoutes, integrationRoutes, credentialRoutes, activityRoutes]) {
    await app.register(routes, { runtime });
  }
}
