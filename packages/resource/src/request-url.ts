import { requireUrl } from './check-options.ts';

/**
 * Options the Fastify and Express adapters share.
 *
 * @typeParam Request the framework's request type.
 */
export interface MiddlewareOptions<Request> {
  /**
   * The public URL this API is reached at, e.g. `https://api.example.com` (or with a path prefix
   * that a proxy strips): a DPoP proof's `htu` is compared with it followed by the request path.
   * Default: the request's own protocol and `Host`, as the framework reports them — behind a
   * reverse proxy either set this, or let the framework trust the proxy (Fastify `trustProxy`,
   * Express `app.set('trust proxy', …)`) so that `X-Forwarded-Proto`/`-Host` are used.
   */
  readonly publicUrl?: string;
  /**
   * Relaxes the browser rule (a request with an `Origin` header and a token with a `:write` scope is
   * refused 403 `write_token_in_browser`): `true` everywhere, or a function that decides per request.
   * Default `false`: the rule applies.
   */
  readonly allowWriteTokensInBrowser?: boolean | ((request: Request) => boolean);
}

/** Checks the adapter options once, at start-up; returns the public URL without a trailing slash. */
export function checkMiddlewareOptions(options: MiddlewareOptions<never> | undefined, name: string): { publicUrl: string | undefined } {
  if (options === undefined) return { publicUrl: undefined };
  if (typeof options !== 'object' || options === null) throw new TypeError(`${name} options must be an object`);
  const allow = options.allowWriteTokensInBrowser;
  if (allow !== undefined && typeof allow !== 'boolean' && typeof allow !== 'function') {
    throw new TypeError('allowWriteTokensInBrowser must be a boolean or a function of the request');
  }
  if (options.publicUrl === undefined) return { publicUrl: undefined };
  const url = new URL(requireUrl(options.publicUrl, 'publicUrl'));
  if (url.search !== '' || url.hash !== '') throw new TypeError('publicUrl must not have a query or fragment');
  return { publicUrl: options.publicUrl.replace(/\/+$/, '') };
}
