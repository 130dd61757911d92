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

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

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
  // A change made through this instance reaches its own caches (client directory, token cache)
  // before the answer reaches the caller, so the caller's very next token request sees it
  // (checklist 26: a disabled integration gets 401 at once). Other instances follow the change feed
  // within a second. Two polls: the first may be one that began before this change was committed.
  app.addHook('onSend', async (request, reply, payload) => {
    if (STATE_CHANGING.has(request.method) && reply.statusCode < 400) {
      await runtime.syncChanges();
      await runtime.syncChanges();
    }
    return payload;
  });
  app.setErrorHandler(problemErrorHandler);
  for (const routes of [sessionRoutes, environmentRoutes, integrationRoutes, credentialRoutes, activityRoutes]) {
    await app.register(routes, { runtime });
  }
}
