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

/** An RFC 8414 authorization server metadata document whose `issuer` has been checked. */
export type IssuerMetadata = Readonly<Record<string, unknown>>;

/**
 * Fetches the issuer's authorization server metadata (RFC 8414 §3) and checks that the document's
 * `issuer` is exactly ours (RFC 8414 §3.3: prevents metadata mix-up).
 *
 * @example
 * const metadata = await fetchIssuerMetadata('https://auth.example.com', fetch);
 */
export async function fetchIssuerMetadata(issuer: string, fetchImpl: FetchLike): Promise<IssuerMetadata> {
  let lastError: unknown;
  for (const url of metadataUrls(issuer)) {
    let metadata: unknown;
    try {
      metadata = await fetchJson(fetchImpl, url);
    } catch (error) {
      lastError = error;
      continue;
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new Error(`${url} is not a JSON object`);
    const published = (metadata as Record<string, unknown>)['issuer'];
    if (published !== issuer) {
      throw new Error(`${url} names issuer ${JSON.stringify(published)}, expected ${JSON.stringify(issuer)} (RFC 8414 §3.3)`);
    }
    return Object.freeze(metadata as Record<string, unknown>);
  }
  throw new Error(`authorization server metadata for ${issuer} could not be loaded`, { cause: lastError });
}

/**
 * One metadata fetch shared by everything a verifier discovers (`jwks_uri`, the revocation feed):
 * concurrent callers share the request in flight, a success is kept for the verifier's life (like
 * the `jwks_uri` it replaces), and a failure is not kept, so the next caller tries again.
 *
 * @example
 * const loadMetadata = createIssuerMetadataLoader(issuer, fetch);
 * const { jwks_uri } = await loadMetadata();
 */
export function createIssuerMetadataLoader(issuer: string, fetchImpl: FetchLike): () => Promise<IssuerMetadata> {
  let loaded: Promise<IssuerMetadata> | undefined;
  return () => {
    loaded ??= fetchIssuerMetadata(issuer, fetchImpl).catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
}

/** An absolute http(s) URL named by the metadata, or `undefined` when the member is absent. Throws when malformed. */
export function metadataUrl(metadata: IssuerMetadata, member: string): string | undefined {
  const value = metadata[member];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !URL.canParse(value) || !/^https?:\/\//.test(value)) {
    throw new Error(`the issuer metadata ${member} is not an absolute http(s) URL`);
  }
  return value;
}
