import type { FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import { createVerifier } from '@latchkey/resource';
import type { Runtime } from '../../../runtime.ts';
import { createInjectFetch } from '../../inject-fetch.ts';
import { createPlatformAuthHook, enforceRouteAccess } from '../../platform-auth.ts';
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
  const verifier = createVerifier({
    issuer: runtime.config.issuer,
    audience: runtime.config.platformApiAudience,
    jwksUri: `${runtime.config.issuer}/.well-known/jwks.json`,
    fetch: createInjectFetch(app, runtime.config.issuer),
    realm: 'latchkey-platform-api',
    currentDate: () => new Date(runtime.clock.now()),
  });
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
