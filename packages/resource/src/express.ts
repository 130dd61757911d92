import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AccessTokenClaims } from './claims.ts';
import type { AccessTokenVerifier } from './create-verifier.ts';
import { AccessTokenError } from './errors.ts';
import { assertScopes, validateScopes } from './scopes.ts';

declare global {
  // Express declares its request type in this global namespace; merging is how middleware adds fields.
  namespace Express {
    interface Request {
      /** The verified access token claims; set by `latchkeyExpress(verifier)`. */
      accessToken?: AccessTokenClaims;
    }
  }
}

// The realm of the verifier that authenticated a request, for requireScopes' 403 challenge.
const realms = new WeakMap<object, string>();

/**
 * Express middleware that authenticates a request (RFC 6750): refuses a token in the query
 * string, verifies the bearer token and sets `req.accessToken`. Failures are answered directly
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
export function latchkeyExpress(verifier: AccessTokenVerifier): RequestHandler {
  if (typeof verifier?.verifyRequest !== 'function') throw new TypeError('latchkeyExpress needs a verifier from createVerifier()');
  return (req: Request, res: Response, next: NextFunction) => {
    // originalUrl: routers rewrite req.url when mounted, but the query string is the client's.
    verifier.verifyRequest({ authorization: req.headers.authorization, url: req.originalUrl ?? req.url }).then(
      (claims) => {
        req.accessToken = claims;
        realms.set(req, verifier.realm);
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
      assertScopes(claims, required, realms.get(req));
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
