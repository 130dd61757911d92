/** A `fetch`-compatible function (the global one by default). */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

// Discovery and JWKS are small documents on a nearby server: fail fast rather than hold requests.
const FETCH_TIMEOUT_MS = 5_000;

/**
 * Fetches a JSON document, throwing a plain Error (logged as `cause`, never sent to clients) when
 * the server does not answer 200 with JSON.
 */
export async function fetchJson(fetchImpl: FetchLike, url: string): Promise<unknown> {
  const response = await fetchImpl(url, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`GET ${url} answered HTTP ${response.status}`);
  }
  return response.json();
}

/**
 * The metadata URLs to try for an issuer: RFC 8414 §3.1 inserts the well-known segment before the
 * issuer's path; many servers instead append it (the OpenID Connect habit), so that form is tried
 * second. For an issuer without a path both are the same URL.
 */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const inserted = `${url.origin}/.well-known/oauth-authorization-server${path}`;
  const appended = `${url.origin}${path}/.well-known/oauth-authorization-server`;
  return inserted === appended ? [inserted] : [inserted, appended];
}

/**
 * Reads `jwks_uri` from the issuer's authorization server metadata (RFC 8414 §3), after checking
 * that the document's `issuer` is exactly ours (RFC 8414 §3.3: prevents metadata mix-up).
 *
 * @example
 * const jwksUri = await discoverJwksUri('https://auth.example.com', fetch);
 */
export async function discoverJwksUri(issuer: string, fetchImpl: FetchLike): Promise<string> {
  let lastError: unknown;
  for (const url of metadataUrls(issuer)) {
    let metadata: unknown;
    try {
      metadata = await fetchJson(fetchImpl, url);
    } catch (error) {
      lastError = error;
      continue;
    }
    if (typeof metadata !== 'object' || metadata === null) throw new Error(`${url} is not a JSON object`);
    const { issuer: published, jwks_uri: jwksUri } = metadata as Record<string, unknown>;
    if (published !== issuer) {
      throw new Error(`${url} names issuer ${JSON.stringify(published)}, expected ${JSON.stringify(issuer)} (RFC 8414 §3.3)`);
    }
    if (typeof jwksUri !== 'string' || !/^https?:\/\//.test(jwksUri)) throw new Error(`${url} has no absolute jwks_uri`);
    return jwksUri;
  }
  throw new Error(`authorization server metadata for ${issuer} could not be loaded`, { cause: lastError });
}
