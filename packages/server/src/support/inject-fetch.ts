import type { FastifyInstance } from 'fastify';
import type { FetchLike } from '@latchkey/resource';

/**
 * A `fetch` for @latchkey/resource that answers this server's own discovery and JWKS URLs by
 * injecting the request into the same Fastify app. The APIs Latchkey hosts thus verify tokens through
 * exactly the code path a third-party API uses (metadata → JWKS → jose), without a socket to
 * themselves and without depending on the public issuer URL resolving from inside (behind a proxy).
 */
export function createInjectFetch(app: FastifyInstance, issuer: string): FetchLike {
  const issuerPath = new URL(issuer).pathname.replace(/\/+$/, '');
  return async (input) => {
    const url = new URL(String(input));
    const path = url.pathname.startsWith(issuerPath) ? url.pathname.slice(issuerPath.length) || '/' : url.pathname;
    const response = await app.inject({ method: 'GET', url: path + url.search });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') headers.set(name, value);
    return new Response(response.body, { status: response.statusCode, headers });
  };
}
