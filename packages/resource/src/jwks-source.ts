import { createLocalJWKSet } from 'jose';
import type { CompactJWSHeaderParameters, FlattenedJWSInput, JWTVerifyGetKey } from 'jose';
import { fetchJson, metadataUrl } from './issuer-metadata.ts';
import type { FetchLike, IssuerMetadata } from './issuer-metadata.ts';

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

/** The signing keys could not be loaded (network, HTTP status, bad JSON, issuer mismatch). */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

/** The token header has no `kid`; RFC 9068 tokens from Latchkey always name their key. */
export class MissingKeyIdError extends Error {
  override readonly name = 'MissingKeyIdError';
}

/** Options for {@link createJwksSource}. */
export interface JwksSourceOptions {
  /** The issuer's metadata (RFC 8414), shared with the other discoveries; read for `jwks_uri`. */
  readonly loadMetadata: () => Promise<IssuerMetadata>;
  /** Skip discovery and fetch keys from this URL. */
  readonly jwksUri?: string | undefined;
  readonly fetch: FetchLike;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** Minimum time between two fetches caused by an unknown `kid`. */
  readonly cooldownMs: number;
  /** Keys older than this are refreshed in the background on next use. */
  readonly maxAgeMs: number;
}

/** A jose key resolver over a cached JWKS, plus a counter for tests and metrics. */
export interface JwksSource {
  readonly getKey: JWTVerifyGetKey;
  /** How many JWKS fetches were started (discovery not counted). */
  readonly fetchCount: () => number;
}

/**
 * Resolves a token's signing key from the issuer's JWKS, fetched on first use and cached.
 *
 * An unknown `kid` refetches the JWKS at most once per cooldown, however many tokens ask, so
 * garbage tokens cannot turn the resource server into a load generator against the issuer; a
 * token that arrives while a fetch is in flight waits for it instead. Stale keys are refreshed in
 * the background and kept if the refresh fails, so an issuer outage does not reject valid tokens.
 *
 * @example
 * const keys = createJwksSource({ loadMetadata, fetch, now: Date.now, cooldownMs: 30_000, maxAgeMs: 600_000 });
 * await jwtVerify(token, keys.getKey, { issuer, audience });
 */
export function createJwksSource(options: JwksSourceOptions): JwksSource {
  const { now, cooldownMs, maxAgeMs } = options;
  let jwksUri = options.jwksUri;
  let keys: LocalKeySet | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | undefined;
  let lastError: unknown;
  let fetches = 0;
  // After a failed first load, callers fail fast for a moment instead of each retrying the fetch.
  const failureRetryMs = Math.min(cooldownMs, 1_000);

  function load(): Promise<void> {
    if (inflight !== undefined) return inflight;
    attemptedAt = now();
    fetches += 1;
    inflight = (async () => {
      try {
        jwksUri ??= await discoverJwksUri(options.loadMetadata);
        const jwks = await fetchJson(options.fetch, jwksUri);
        // Throws JWKSInvalid for anything that is not a {"keys":[…]} document.
        keys = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
        fetchedAt = now();
        lastError = undefined;
      } catch (error) {
        lastError = error;
        throw new JwksUnavailableError('the JWKS could not be loaded', { cause: error });
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  }

  async function currentKeys(): Promise<LocalKeySet> {
    if (keys === undefined) {
      if (inflight === undefined && lastError !== undefined && now() - attemptedAt < failureRetryMs) {
        throw new JwksUnavailableError('the JWKS could not be loaded', { cause: lastError });
      }
      await load();
    } else if (inflight === undefined && now() - fetchedAt >= maxAgeMs && now() - attemptedAt >= cooldownMs) {
      // Stale-while-revalidate: this request uses the keys we have.
      load().catch(() => undefined);
    }
    return keys as LocalKeySet;
  }

  async function getKey(header: CompactJWSHeaderParameters, token: FlattenedJWSInput): Promise<Awaited<ReturnType<LocalKeySet>>> {
    if (typeof header.kid !== 'string' || header.kid === '') throw new MissingKeyIdError('the token header has no kid');
    const resolve = await currentKeys();
    try {
      return await resolve(header, token);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
      if (inflight !== undefined) {
        await inflight.catch(() => undefined);
      } else if (now() - attemptedAt >= cooldownMs) {
        // Signing keys rotate: a kid we have not seen may have been published since our last fetch.
        await load().catch(() => undefined);
      } else {
        throw error;
      }
      return (keys ?? resolve)(header, token);
    }
  }

  return { getKey, fetchCount: () => fetches };
}

/** Reads `jwks_uri` from the issuer's metadata (RFC 8414 §2: required when the issuer signs anything). */
async function discoverJwksUri(loadMetadata: () => Promise<IssuerMetadata>): Promise<string> {
  const jwksUri = metadataUrl(await loadMetadata(), 'jwks_uri');
  if (jwksUri === undefined) throw new Error('the issuer metadata has no jwks_uri');
  return jwksUri;
}
