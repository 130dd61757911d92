import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AccessTokenClaims } from './claims.ts';
import type { AccessTokenVerifier } from './create-verifier.ts';
import { assertNoWriteTokenInBrowser } from './browser-rule.ts';
import { AccessTokenError } from './errors.ts';
import { checkMiddlewareOptions } from './request-url.ts';
import type { MiddlewareOptions } from './request-url.ts';
import { assertScopes, challengeFor, validateScopes } from './scopes.ts';

declare global {
  // Express declares its request type in this global namespace; merging is how middleware adds fields.
  namespace Express {
    interface Request {
      /** The verified access token claims; set by `latchkeyExpress(verifier)`. */
      accessToken?: AccessTokenClaims;
    }
  }
}

/**
 * Options of {@link latchkeyExpress}: `publicUrl` for DPoP, and relaxing the browser rule — per
 * route with a function of the request (`(req) => req.path.startsWith('/admin/')`), or by mounting
 * a separate `latchkeyExpress(verifier, { allowWriteTokensInBrowser: true })` on the routers that
 * may take write tokens from pages.
 */
export type LatchkeyExpressOptions = MiddlewareOptions<Request>;

// The realm of the verifier that authenticated a request, for requireScopes' 403 challenge.
/** The verifier's realm and DPoP algorithms, per verified request, for requireScopes' challenges. */
const challenges = new WeakMap<object, { realm: string | undefined; dpopAlgorithms: readonly string[] }>();

/**
 * Express middleware that authenticates a request (RFC 6750, RFC 9449): refuses a token in the
 * query string, verifies the Bearer token — or the DPoP-bound token and its `DPoP` proof — and sets
 * `req.accessToken`. Then the browser rule: a request with an `Origin` header whose token carries a
 * `:write` scope is refused 403 `write_token_in_browser`, unless `options.allowWriteTokensInBrowser`
 * relaxes it. Failures are answered directly
 * with the RFC 6750 status, `WWW-Authenticate` and a JSON `{ error, error_description }` body
 * (a 503 if the issuer's keys cannot be loaded).
 *
 * @example
 * import express from 'express';
 * import { createVerifier } from '@latchkey/resource';
 * import { latchkeyExpress, requireScopes } from '@latchkey/resource/express';
 *
 * const verifier = createVerifier({ issuer: 'https://latchkey.example.com', audience: 'https://latchkey.example.com/environment-api' });
 * const app = express();
 * app.use('/api', latchkeyExpress(verifier));
 * app.get('/api/templates', requireScopes('templates:read'), (req, res) => {
 *   res.json({ client: req.accessToken?.client_id });
 * });
 */
export function latchkeyExpress(verifier: AccessTokenVerifier, options?: LatchkeyExpressOptions): RequestHandler {
  if (typeof verifier?.verifyRequest !== 'function') throw new TypeError('latchkeyExpress needs a verifier from createVerifier()');
  const { publicUrl } = checkMiddlewareOptions(options, 'latchkeyExpress');
  const allowWrite = options?.allowWriteTokensInBrowser ?? false;
  return (req: Request, res: Response, next: NextFunction) => {
    // originalUrl: routers rewrite req.url when mounted, but the path and query are the client's.
    const url = req.originalUrl ?? req.url;
    const { headers } = req;
    verifier.verifyRequest({
      authorization: headers.authorization,
      url,
      method: req.method,
      dpop: headers.dpop,
      // What the client addressed, for the proof's htu; built only for DPoP requests.
      htu: () => `${publicUrl ?? `${req.protocol}://${req.host}`}${url}`,
    }).then(
      (claims) => {
        if (headers.origin !== undefined && allowWrite !== true && !(typeof allowWrite === 'function' && allowWrite(req))) {
          try {
            assertNoWriteTokenInBrowser(headers.origin, claims, verifier.realm);
          } catch (error) {
            sendAccessTokenError(res, error as AccessTokenError);
            return;
          }
        }
        req.accessToken = claims;
        challenges.set(req, { realm: verifier.realm, dpopAlgorithms: verifier.dpopAlgorithms });
        next();
      },
      (error: unknown) => {
        if (error instanceof AccessTokenError) sendAccessTokenError(res, error);
        else next(error);
      },
    );
  };
}

/**
 * Express middleware that answers 403 `insufficient_scope` (RFC 6750 §3.1, naming the scopes
 * needed) unless `req.accessToken` carries every one of `scopes`. Needs `latchkeyExpress` before
 * it; without it the request fails with a 500 rather than passing unchecked.
 *
 * @example
 * app.post('/api/templates', requireScopes('templates:write'), handler);
 */
export function requireScopes(...scopes: string[]): RequestHandler {
  const required = validateScopes(scopes);
  return (req: Request, res: Response, next: NextFunction) => {
    const claims = req.accessToken;
    if (claims === undefined) {
      next(new TypeError('requireScopes() runs only after latchkeyExpress(verifier)'));
      return;
    }
    try {
      const known = challenges.get(req);
      assertScopes(claims, required, known?.realm, challengeFor(claims, known?.dpopAlgorithms ?? []));
    } catch (error) {
      if (error instanceof AccessTokenError) {
        sendAccessTokenError(res, error);
        return;
      }
      next(error);
      return;
    }
    next();
  };
}

/** Writes an {@link AccessTokenError} as the RFC 6750 response. */
function sendAccessTokenError(res: Response, error: AccessTokenError): void {
  res.status(error.statusCode).set(error.headers).json(error.body);
}
