import { jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { nonNegative, requireUrl } from './check-options.ts';
import type { AccessTokenClaims } from './claims.ts';
import { createMemoryDpopReplayStore, DEFAULT_DPOP_ALGORITHMS, DpopProofError, verifyDpopProof } from './dpop.ts';
import type { DpopReplayStore } from './dpop.ts';
import { AccessTokenError } from './errors.ts';
import { extractAuthorization, singleHeader } from './extract-authorization.ts';
import { assertNoQueryToken } from './extract-bearer-token.ts';
import { createIssuerMetadataLoader } from './issuer-metadata.ts';
import type { FetchLike } from './issuer-metadata.ts';
import { createJwksSource, JwksUnavailableError, MissingKeyIdError } from './jwks-source.ts';
import { LruCache } from './lru-cache.ts';
import type { RevocationStatus } from './revocation-source.ts';
import { assertScopes } from './scopes.ts';
import { createVerifierRevocation } from './verifier-revocation.ts';
import type { RevocationOptions } from './verifier-revocation.ts';

/** JWS algorithms a verifier may accept: asymmetric only (RFC 9068 §4, RFC 8725 §3.1). */
export const SUPPORTED_ALGORITHMS = Object.freeze([
  'ES256', 'ES384', 'ES512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'EdDSA', 'Ed25519',
] as const);

/** One of {@link SUPPORTED_ALGORITHMS}. */
export type SupportedAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

/** Default accepted algorithms. Never `none` or HS*: a public key must not double as an HMAC secret. */
export const DEFAULT_ALGORITHMS: readonly SupportedAlgorithm[] = Object.freeze(['ES256', 'RS256', 'EdDSA', 'PS256']);

/** Options for {@link createVerifier}. */
export interface VerifierOptions {
  /** The authorization server's issuer identifier; tokens' `iss` must equal it exactly. */
  readonly issuer: string;
  /** This API's identifier (or several); a token's `aud` must contain one of them. */
  readonly audience: string | readonly string[];
  /** Accepted `alg` values, a subset of {@link SUPPORTED_ALGORITHMS}. Default {@link DEFAULT_ALGORITHMS}. */
  readonly algorithms?: readonly SupportedAlgorithm[];
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 5. */
  readonly clockToleranceSeconds?: number;
  /** Minimum seconds between two JWKS refetches caused by an unknown `kid`. Default 30. */
  readonly jwksCooldownSeconds?: number;
  /** Seconds after which the JWKS is refreshed in the background. Default 600. */
  readonly jwksMaxAgeSeconds?: number;
  /** Fetch keys from this URL instead of discovering `jwks_uri` from RFC 8414 metadata. */
  readonly jwksUri?: string;
  /** Verified tokens remembered, least recently used evicted first; 0 disables the cache. Default 1000. */
  readonly cacheSize?: number;
  /**
   * Seconds a verified token is trusted without re-verifying (never past its `exp`). Bounds how long
   * a key withdrawn from the JWKS keeps being honoured. Default 600.
   */
  readonly cacheMaxAgeSeconds?: number;
  /** Realm in `WWW-Authenticate` challenges. Default: the (first) audience. */
  readonly realm?: string;
  /**
   * The `fetch` used for discovery and JWKS, and then also for the revocation feed (streamed).
   * Default: the global one, and node:http(s) with an unref'd socket for the feed.
   */
  readonly fetch?: FetchLike;
  /** The clock, for tests; jose's `currentDate` as a function. Default: the system clock. */
  readonly currentDate?: () => Date;
  /**
   * Refusing revoked tokens: by default the issuer's revocation feed is followed (started on the
   * first verification); `false` turns revocation checks off; see {@link RevocationOptions}.
   */
  readonly revocation?: false | RevocationOptions;
  /** Checking DPoP proofs for DPoP-bound tokens (RFC 9449); see {@link DpopOptions}. */
  readonly dpop?: DpopOptions;
}

/**
 * How a verifier checks the DPoP proofs that come with DPoP-bound tokens (`cnf.jkt`). Bound tokens
 * are always refused as plain bearer tokens; these options only tune the proof check.
 */
export interface DpopOptions {
  /**
   * Where proof `jti`s are recorded (single use). Default: one in-process store per verifier, which
   * is right for one instance; several instances behind a load balancer should share one.
   */
  readonly replay?: DpopReplayStore;
  /** Accepted proof algorithms, asymmetric only. Default ES256, ES384, EdDSA, RS256, PS256. */
  readonly algorithms?: readonly string[];
  /** How old a proof may be, in seconds. Default 60. */
  readonly maxAgeSeconds?: number;
  /** Allowed clock difference with the client for a proof's `iat`, in seconds. Default 5. */
  readonly clockSkewSeconds?: number;
}

/** A request as the framework adapters see it, reduced to what authentication needs. */
export interface BearerRequest {
  /** The `Authorization` header value. */
  readonly authorization?: string | readonly string[] | null | undefined;
  /** The request target (path and query), to refuse a token in the query string. */
  readonly url?: string | undefined;
  /** The HTTP method: the DPoP proof's `htm` must match it. Needed for DPoP requests only. */
  readonly method?: string | undefined;
  /** The `DPoP` header value (the proof). */
  readonly dpop?: string | readonly string[] | null | undefined;
  /**
   * The request's absolute public URL (scheme, host, port, path; a query is ignored): the proof's
   * `htu` must match it. A function so that a plain bearer request never pays for building it.
   * Needed for DPoP requests only.
   */
  readonly htu?: string | (() => string) | undefined;
}

/** Verifies Latchkey access tokens for one API; create one per process and share it. */
export interface AccessTokenVerifier {
  /** Verifies a token and returns its frozen claims, or throws {@link AccessTokenError}. */
  verify(token: string): Promise<AccessTokenClaims>;
  /**
   * Refuses a token in the query string, extracts the Bearer or DPoP token, and verifies it; for a
   * DPoP-bound token (`cnf.jkt`) also the request's DPoP proof (RFC 9449 §7.1). A bound token sent
   * as Bearer, or an unbound one sent as DPoP, is refused.
   */
  verifyRequest(request: BearerRequest): Promise<AccessTokenClaims>;
  /** Throws ERR_INSUFFICIENT_SCOPE (403) unless the claims carry every scope; uses this verifier's realm. */
  assertScopes(claims: Pick<AccessTokenClaims, 'scope'>, scopes: readonly string[]): void;
  /** The realm used in `WWW-Authenticate` challenges. */
  readonly realm: string;
  /** The issuer tokens must come from. */
  readonly issuer: string;
  /** The audiences a token may name. */
  readonly audience: readonly string[];
  /** The DPoP proof algorithms accepted (the `algs` of DPoP challenges). */
  readonly dpopAlgorithms: readonly string[];
  /** How many JWKS fetches were started so far (for tests and metrics). */
  jwksFetchCount(): number;
  /** Where revocation checking stands: feed state, entries held, staleness (for health checks). */
  revocationStatus(): RevocationStatus;
  /** Stops the revocation feed for good; verification goes on with the revocations already held. */
  close(): void;
}

interface CacheEntry {
  readonly claims: AccessTokenClaims;
  /** Milliseconds since the epoch after which the entry must not be used. */
  readonly usableUntil: number;
  /** The revocation source's version the claims were last checked against. */
  version: number;
}

// RFC 9068 §2.2 requires iss, exp, aud, sub, client_id, iat, jti; Latchkey always sends scope.
const REQUIRED_CLAIMS = ['iss', 'aud', 'exp', 'iat', 'sub', 'client_id', 'jti', 'scope'];

/**
 * Creates a verifier for the access tokens of one issuer and one API (RFC 9068 §4).
 *
 * It discovers `jwks_uri` from `${issuer}/.well-known/oauth-authorization-server` (RFC 8414),
 * caches the keys, and checks the signature (jose), `typ` = `at+jwt`, the algorithm, `iss`,
 * `aud`, `exp`/`nbf`/`iat` and the required claims. A token seen before is answered from a bounded
 * cache without re-verifying, and never after its `exp`.
 *
 * Revoked tokens are refused (`ERR_TOKEN_REVOKED`), cached ones included: by default the verifier
 * follows the issuer's revocation feed, starting on the first verification (which waits briefly
 * for it to catch up); `revocation: { source }` consults an in-process source instead. Call
 * `close()` to stop the feed; it never keeps the process alive on its own.
 *
 * @example
 * import { createVerifier } from '@latchkey/resource';
 *
 * const verifier = createVerifier({
 *   issuer: 'https://latchkey.example.com',
 *   audience: 'https://latchkey.example.com/environment-api',
 * });
 * const claims = await verifier.verify(token); // throws AccessTokenError
 * verifier.assertScopes(claims, ['templates:read']);
 */
export function createVerifier(options: VerifierOptions): AccessTokenVerifier {
  if (typeof options !== 'object' || options === null) throw new TypeError('createVerifier needs an options object');
  const issuer = requireUrl(options.issuer, 'issuer');
  const audience = normaliseAudience(options.audience);
  const algorithms = normaliseAlgorithms(options.algorithms);
  const clockTolerance = nonNegative(options.clockToleranceSeconds, 5, 'clockToleranceSeconds');
  const cooldownMs = nonNegative(options.jwksCooldownSeconds, 30, 'jwksCooldownSeconds') * 1000;
  const maxAgeMs = nonNegative(options.jwksMaxAgeSeconds, 600, 'jwksMaxAgeSeconds') * 1000;
  const cacheMaxAgeMs = nonNegative(options.cacheMaxAgeSeconds, 600, 'cacheMaxAgeSeconds') * 1000;
  const cacheSize = options.cacheSize ?? 1000;
  if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new TypeError('cacheSize must be a non-negative integer');
  const jwksUri = options.jwksUri === undefined ? undefined : requireUrl(options.jwksUri, 'jwksUri');
  const realm = options.realm ?? (audience[0] as string);
  if (typeof realm !== 'string' || !/^[\x20\x21\x23-\x5B\x5D-\x7E]+$/.test(realm)) {
    throw new TypeError('realm must be non-empty printable ASCII without " or \\');
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new TypeError('fetch must be a function');
  if (options.currentDate !== undefined && typeof options.currentDate !== 'function') {
    throw new TypeError('currentDate must be a function returning a Date');
  }
  const currentDate = options.currentDate;
  const now = currentDate === undefined ? Date.now : () => currentDate().getTime();
  const dpop = normaliseDpop(options.dpop, now);
  const userFetch = options.fetch;
  // Called through a wrapper so the global fetch never runs with a foreign `this`.
  const fetchImpl: FetchLike = userFetch ?? ((input, init) => globalThis.fetch(input, init));

  // One metadata document serves every discovery (jwks_uri, the revocation feed).
  const loadMetadata = createIssuerMetadataLoader(issuer, fetchImpl);
  const keys = createJwksSource({ loadMetadata, jwksUri, fetch: fetchImpl, now, cooldownMs, maxAgeMs });
  const cache = cacheSize === 0 ? undefined : new LruCache<string, CacheEntry>(cacheSize);
  const { source: revocations, failClosed, feed } = createVerifierRevocation(options.revocation, {
    issuer,
    loadMetadata,
    fetch: userFetch,
    now,
    clockToleranceSeconds: clockTolerance,
  });
  let feedStarted = feed === undefined;
  // The first start's wait for the feed to catch up, while it lasts.
  let feedStartup: Promise<void> | undefined;

  /** Throws if the claims are revoked, or if the source is stale and the policy is to fail closed. Returns the version checked. */
  function assertNotRevoked(claims: AccessTokenClaims): number {
    const version = revocations.version;
    if (revocations.isRevoked(claims)) throw new AccessTokenError('ERR_TOKEN_REVOKED', { realm });
    if (failClosed && revocations.status().stale) throw new AccessTokenError('ERR_REVOCATION_UNAVAILABLE', { realm });
    return version;
  }

  /**
   * Verifies a token. `asBearer`: it came as `Authorization: Bearer`, so a DPoP-bound one (any
   * `cnf`: we cannot check another kind of binding) is refused (RFC 9449 §7.2) — checked here, on
   * the claims at hand, so the plain-bearer hot path pays one property check and no extra await.
   */
  async function verifyToken(token: string, asBearer: boolean): Promise<AccessTokenClaims> {
    if (typeof token !== 'string') throw new TypeError('token must be a string');
    if (token === '') throw new AccessTokenError('ERR_TOKEN_MISSING', { realm });
    const at = now();
    if (cache !== undefined) {
      const hit = cache.get(token);
      if (hit !== undefined) {
        if (at < hit.usableUntil) {
          // The only revocation cost of a hit: re-check when the source has changed since.
          if (hit.version !== revocations.version) hit.version = assertNotRevoked(hit.claims);
          if (asBearer && hit.claims.cnf !== undefined) throw boundAsBearer();
          return hit.claims;
        }
        cache.delete(token);
      }
    }
    if (!feedStarted) {
      feedStarted = true;
      // Started alongside the key discovery; awaited only once the signature has been checked.
      feedStartup = (feed as NonNullable<typeof feed>).start().then(() => {
        feedStartup = undefined;
      });
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys.getKey, {
        issuer,
        audience: audience as string[],
        algorithms: algorithms as string[],
        // RFC 9068 §4: reject anything that is not an access token, e.g. an ID token (typ JWT).
        // jose compares case-insensitively and ignores an `application/` prefix (RFC 7515 §4.1.9).
        typ: 'at+jwt',
        requiredClaims: REQUIRED_CLAIMS,
        clockTolerance,
        ...(currentDate === undefined ? {} : { currentDate: new Date(at) }),
      }));
    } catch (error) {
      throw toAccessTokenError(error, realm);
    }
    const claims = checkClaims(payload, at, clockTolerance, realm);
    // A freshly started API must not accept a token revoked long ago: wait (briefly) for the feed.
    if (feedStartup !== undefined) await feedStartup;
    const version = assertNotRevoked(claims);
    const usableUntil = Math.min(claims.exp * 1000, at + cacheMaxAgeMs);
    if (cache !== undefined && usableUntil > at) cache.set(token, { claims, usableUntil, version });
    if (asBearer && claims.cnf !== undefined) throw boundAsBearer();
    return claims;
  }

  const boundAsBearer = () => new AccessTokenError('ERR_TOKEN_DPOP_BOUND', { realm, scheme: 'DPoP', algs: dpop.algorithms });
  const verify = (token: string) => verifyToken(token, false);

  /** `Authorization: DPoP <token>`: the token must be bound, and the request's proof by its key. */
  async function verifyDpopRequest(token: string, request: BearerRequest): Promise<AccessTokenClaims> {
    const claims = await verify(token);
    const jkt = (claims.cnf as { jkt?: unknown } | undefined)?.jkt;
    if (typeof jkt !== 'string') throw new AccessTokenError('ERR_TOKEN_NOT_DPOP_BOUND', { realm });
    const proof = singleHeader(request.dpop, realm);
    if (proof === undefined || proof === '') {
      throw new AccessTokenError('ERR_DPOP_PROOF_INVALID', { realm, description: 'the request has no DPoP header with a proof' });
    }
    const { method, htu } = request;
    if (typeof method !== 'string' || htu === undefined) throw new TypeError('verifyRequest needs method and htu for a DPoP request');
    const url = typeof htu === 'function' ? htu() : htu;
    // A Host header that does not make a URL (a hostile or broken client) is the request's fault.
    if (!URL.canParse(url)) throw new AccessTokenError('ERR_DPOP_PROOF_INVALID', { realm, description: 'the request URL (Host header) is not valid' });
    let verified;
    try {
      verified = await verifyDpopProof({
        proof,
        method,
        url,
        accessToken: token,
        now: now(),
        maxAgeSeconds: dpop.maxAgeSeconds,
        clockSkewSeconds: dpop.clockSkewSeconds,
        replay: dpop.replay,
        algorithms: dpop.algorithms as string[],
      });
    } catch (error) {
      if (error instanceof DpopProofError) throw new AccessTokenError('ERR_DPOP_PROOF_INVALID', { realm, description: error.message, cause: error });
      throw error;
    }
    if (verified.jkt !== jkt) throw new AccessTokenError('ERR_DPOP_KEY_MISMATCH', { realm });
    return claims;
  }

  return {
    verify,
    async verifyRequest(request: BearerRequest): Promise<AccessTokenClaims> {
      if (request.url !== undefined) assertNoQueryToken(request.url, realm);
      const { scheme, token } = extractAuthorization(request.authorization, realm);
      if (scheme === 'Bearer') return verifyToken(token, true);
      try {
        return await verifyDpopRequest(token, request);
      } catch (error) {
        // A request made with the DPoP scheme is answered with a DPoP challenge (RFC 9449 §7.1).
        if (error instanceof AccessTokenError && error.scheme !== 'DPoP') throw error.asDpop(dpop.algorithms);
        throw error;
      }
    },
    assertScopes(claims, scopes) {
      assertScopes(claims, scopes, realm);
    },
    realm,
    issuer,
    audience,
    dpopAlgorithms: dpop.algorithms,
    jwksFetchCount: keys.fetchCount,
    revocationStatus: () => revocations.status(),
    close() {
      feedStarted = true; // a closed verifier never starts its feed
      feed?.close();
    },
  };
}

const verifiersByOptions = new WeakMap<VerifierOptions, AccessTokenVerifier>();

/**
 * Verifies one access token: with a verifier, or with options (one verifier, and so one key and
 * token cache, is kept per options object, so pass the same object each time).
 *
 * @example
 * const options = { issuer: 'https://latchkey.example.com', audience: 'https://latchkey.example.com/environment-api' };
 * const claims = await verifyAccessToken(token, options);
 */
export function verifyAccessToken(token: string, verifier: AccessTokenVerifier | VerifierOptions): Promise<AccessTokenClaims> {
  if (typeof verifier !== 'object' || verifier === null) throw new TypeError('verifyAccessToken needs a verifier or options');
  if ('verify' in verifier && typeof verifier.verify === 'function') return verifier.verify(token);
  const options = verifier as VerifierOptions;
  let created = verifiersByOptions.get(options);
  if (created === undefined) {
    created = createVerifier(options);
    verifiersByOptions.set(options, created);
  }
  return created.verify(token);
}

/** Checks what jose does not: claim types, and `iat` not in the future. Freezes the result. */
function checkClaims(payload: JWTPayload, at: number, clockTolerance: number, realm: string): AccessTokenClaims {
  for (const name of ['sub', 'client_id', 'jti', 'scope'] as const) {
    if (typeof payload[name] !== 'string' || (name !== 'scope' && payload[name] === '')) {
      throw new AccessTokenError('ERR_TOKEN_INVALID', { realm, description: `the token ${name} claim is not a valid string` });
    }
  }
  if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number') {
    throw new AccessTokenError('ERR_TOKEN_INVALID', { realm, description: 'the token exp and iat claims must be numbers' });
  }
  if (payload.iat > at / 1000 + clockTolerance) {
    throw new AccessTokenError('ERR_TOKEN_INVALID', { realm, description: 'the token was issued in the future (iat)' });
  }
  if (Array.isArray(payload.aud)) Object.freeze(payload.aud);
  return Object.freeze(payload) as AccessTokenClaims;
}

// Fixed texts only: nothing from the token is echoed back (it could carry `"` or worse).
const CLAIM_DESCRIPTIONS: Readonly<Record<string, string>> = {
  typ: 'the token is not an access token (typ must be at+jwt)',
  iss: 'the token was issued by another issuer (iss)',
  aud: 'the token is not meant for this API (aud)',
  nbf: 'the token is not valid yet (nbf)',
  iat: 'the token was issued in the future (iat)',
};

/** Maps anything jose or the key source throws to the RFC 6750 answer. */
function toAccessTokenError(error: unknown, realm: string): AccessTokenError {
  if (error instanceof AccessTokenError) return error;
  const invalid = (description: string) => new AccessTokenError('ERR_TOKEN_INVALID', { realm, description, cause: error });
  if (error instanceof JwksUnavailableError) return new AccessTokenError('ERR_JWKS_UNAVAILABLE', { realm, cause: error });
  if (error instanceof MissingKeyIdError) return invalid('the token header has no kid');
  const { code, claim, reason } = error as { code?: unknown; claim?: unknown; reason?: unknown };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new AccessTokenError('ERR_TOKEN_EXPIRED', { realm, cause: error });
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (reason === 'missing' && typeof claim === 'string' && REQUIRED_CLAIMS.includes(claim)) {
        return invalid(`the token has no ${claim} claim`);
      }
      return invalid((typeof claim === 'string' ? CLAIM_DESCRIPTIONS[claim] : undefined) ?? 'a token claim failed validation');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return invalid('the token is signed with an algorithm this API does not accept');
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return invalid('the token is signed with an unknown key (kid)');
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return invalid('the token kid matches more than one key');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return invalid('the token signature is invalid');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return invalid('the token is malformed');
    default:
      return invalid('the access token could not be verified');
  }
}

function normaliseAudience(value: unknown): readonly string[] {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? [...(value as unknown[])] : [];
  if (list.length === 0 || !list.every((item) => typeof item === 'string' && item !== '')) {
    throw new TypeError('audience must be a non-empty string or a non-empty array of them');
  }
  return Object.freeze(list as string[]);
}

function normaliseAlgorithms(value: readonly string[] | undefined): readonly string[] {
  if (value === undefined) return DEFAULT_ALGORITHMS;
  if (!Array.isArray(value) || value.length === 0) throw new TypeError('algorithms must be a non-empty array');
  for (const alg of value) {
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      // `none` and HS* are refused here, at start-up, rather than silently dropped.
      throw new TypeError(`algorithm not allowed: ${String(alg)} (asymmetric algorithms only: ${SUPPORTED_ALGORITHMS.join(', ')})`);
    }
  }
  return Object.freeze([...value]);
}

interface NormalisedDpop {
  readonly replay: DpopReplayStore;
  readonly algorithms: readonly string[];
  readonly maxAgeSeconds: number;
  readonly clockSkewSeconds: number;
}

function normaliseDpop(value: DpopOptions | undefined, now: () => number): NormalisedDpop {
  if (value !== undefined && (typeof value !== 'object' || value === null)) throw new TypeError('dpop must be an options object');
  const algorithms = value?.algorithms === undefined ? DEFAULT_DPOP_ALGORITHMS : Object.freeze([...value.algorithms]);
  if (algorithms.length === 0) throw new TypeError('dpop.algorithms must not be empty');
  for (const alg of algorithms) {
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new TypeError(`DPoP algorithm not allowed: ${String(alg)} (asymmetric algorithms only: ${SUPPORTED_ALGORITHMS.join(', ')})`);
    }
  }
  const replay = value?.replay ?? createMemoryDpopReplayStore({ now });
  if (typeof replay.useOnce !== 'function') throw new TypeError('dpop.replay must be a DpopReplayStore');
  return {
    replay,
    algorithms,
    maxAgeSeconds: nonNegative(value?.maxAgeSeconds, 60, 'dpop.maxAgeSeconds'),
    clockSkewSeconds: nonNegative(value?.clockSkewSeconds, 5, 'dpop.clockSkewSeconds'),
  };
}
