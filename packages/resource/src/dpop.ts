import { createHash, timingSafeEqual } from 'node:crypto';
import { base64url, calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import type { JWK } from 'jose';

// DPoP proof verification (RFC 9449 §4.3), shared by the token endpoint (server, at the exchange)
// and by the resource middlewares (bound tokens). One implementation, so both sides agree on what a
// valid proof is. Every failure is a DpopProofError with a fixed, ASCII-only message that never
// echoes the proof: it goes into a WWW-Authenticate quoted-string and into logs.

/** A single-use record of proof `jti`s (RFC 9449 §11.1). */
export interface DpopReplayStore {
  /**
   * Records `jti` until `expiresAtMs` (after which a proof with it is refused for its age anyway).
   * Returns false if it was already recorded and has not expired: the proof is a replay.
   */
  useOnce(jti: string, expiresAtMs: number): boolean;
}

/** Options of {@link verifyDpopProof}. */
export interface VerifyDpopProofOptions {
  /** The `DPoP` request header value: one compact JWS. */
  proof: string;
  /** The request's HTTP method, compared with `htm` exactly (methods are case-sensitive, RFC 9110 §9.1). */
  method: string;
  /** The request's absolute URL as the client addressed it; query and fragment are ignored (RFC 9449 §4.3). */
  url: string;
  /** When the proof accompanies an access token: `ath` must be its SHA-256 hash (RFC 9449 §4.3 step 11). */
  accessToken?: string;
  /** The current time in milliseconds since the epoch. Default `Date.now()`. */
  now?: number;
  /** How old (by `iat`) a proof may be, in seconds. Default 60. */
  maxAgeSeconds?: number;
  /** Allowed clock difference with the client, in seconds. Default 5. */
  clockSkewSeconds?: number;
  /** Where used `jti`s are recorded. */
  replay: DpopReplayStore;
  /** Accepted `alg` values; asymmetric only. Default {@link DEFAULT_DPOP_ALGORITHMS}. */
  algorithms?: string[];
}

/** What a valid proof establishes. */
export interface VerifiedDpopProof {
  /** RFC 7638 SHA-256 thumbprint (base64url) of the proof's public key: compare with `cnf.jkt`. */
  jkt: string;
  /** The proof's unique identifier. */
  jti: string;
  /** The proof's issued-at, seconds since the epoch. */
  iat: number;
}

/** The `alg` values accepted by default (also what a server advertises as dpop_signing_alg_values_supported). */
export const DEFAULT_DPOP_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']);

// Algorithms a caller may enable at all: asymmetric signatures only (RFC 9449 §4.2: never `none`
// nor a MAC, which would need a shared secret and prove nothing about a key the client holds).
const ASYMMETRIC_ALGORITHMS = new Set(['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519']);

/** A DPoP proof was refused; `message` says why (fixed text, safe for a `WWW-Authenticate` header). */
export class DpopProofError extends Error {
  override readonly name = 'DpopProofError';
  /** The RFC 9449 error code (§5, §7.1). */
  readonly code = 'invalid_dpop_proof' as const;
}

// Proofs are a few hundred bytes (an RSA key makes ~1.5 KB); anything far larger is not a proof.
const MAX_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
// JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2;
// `priv` for the post-quantum AKP keys jose also knows).
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];
const PUBLIC_KEY_TYPES = new Set(['EC', 'RSA', 'OKP']);

/**
 * Verifies a DPoP proof (RFC 9449 §4.3): one well-formed JWS, `typ` dpop+jwt, an accepted asymmetric
 * `alg`, a public `jwk` in the header that verifies the signature, `htm` and `htu` matching the
 * request, `iat` within the window, `ath` matching `accessToken` when one is given, and a `jti` never
 * seen before (recorded in `replay` only once everything else has passed, so a refused proof burns
 * nothing). Returns the key's thumbprint for the caller to compare with a token's `cnf.jkt`.
 *
 * @throws DpopProofError for anything wrong with the proof; TypeError for a misuse of the options.
 * @example
 * const { jkt } = await verifyDpopProof({ proof: req.headers.dpop, method: 'GET', url: 'https://api.example.com/templates',
 *   accessToken, replay });
 * if (jkt !== claims.cnf.jkt) refuse();
 */
export async function verifyDpopProof(options: VerifyDpopProofOptions): Promise<VerifiedDpopProof> {
  const { proof, method, url, accessToken, replay } = options;
  if (typeof method !== 'string' || method === '') throw new TypeError('method must be a non-empty string');
  if (typeof url !== 'string') throw new TypeError('url must be a string');
  if (typeof replay?.useOnce !== 'function') throw new TypeError('replay must be a DpopReplayStore');
  if (accessToken !== undefined && typeof accessToken !== 'string') throw new TypeError('accessToken must be a string');
  const now = options.now ?? Date.now();
  const maxAge = options.maxAgeSeconds ?? 60;
  const skew = options.clockSkewSeconds ?? 5;
  if (!Number.isFinite(now) || !Number.isFinite(maxAge) || maxAge < 0 || !Number.isFinite(skew) || skew < 0) {
    throw new TypeError('now, maxAgeSeconds and clockSkewSeconds must be finite non-negative numbers');
  }
  const algorithms = options.algorithms ?? DEFAULT_DPOP_ALGORITHMS;
  for (const alg of algorithms) {
    if (!ASYMMETRIC_ALGORITHMS.has(alg)) throw new TypeError(`DPoP algorithm not allowed: ${String(alg)} (asymmetric algorithms only)`);
  }

  if (typeof proof !== 'string' || proof === '') throw new DpopProofError('the DPoP proof is missing');
  if (proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) throw new DpopProofError('the DPoP proof is not a compact JWS');

  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(proof) as Record<string, unknown>;
  } catch {
    throw new DpopProofError('the DPoP proof header is malformed');
  }
  // Media types compare case-insensitively; jose and RFC 7515 §4.1.9 allow an `application/` prefix.
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : undefined;
  if (typ !== 'dpop+jwt') throw new DpopProofError('the DPoP proof typ must be dpop+jwt');
  const alg = header.alg;
  if (typeof alg !== 'string' || !ASYMMETRIC_ALGORITHMS.has(alg)) {
    throw new DpopProofError('the DPoP proof must be signed with an asymmetric algorithm (never none or HS*)');
  }
  if (!algorithms.includes(alg)) throw new DpopProofError('the DPoP proof is signed with an algorithm this server does not accept');
  const jwk = header.jwk;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new DpopProofError('the DPoP proof header has no jwk');
  const jwkRecord = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((member) => member in jwkRecord)) {
    throw new DpopProofError('the DPoP proof jwk must be a public key (it contains private key material)');
  }
  if (typeof jwkRecord.kty !== 'string' || !PUBLIC_KEY_TYPES.has(jwkRecord.kty)) {
    throw new DpopProofError('the DPoP proof jwk must be an EC, RSA or OKP public key');
  }

  let payloadBytes: Uint8Array;
  let jkt: string;
  try {
    const imported = await publicKeyOf(jwkRecord, alg);
    jkt = imported.jkt;
    ({ payload: payloadBytes } = await compactVerify(proof, imported.key, { algorithms: [alg] }));
  } catch {
    // A key that does not import (wrong curve for the alg, bad coordinates) and a signature that
    // does not verify are the same thing to the client: the proof is not signed by its jwk.
    throw new DpopProofError('the DPoP proof signature does not verify with its jwk');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payloadBytes));
  } catch {
    throw new DpopProofError('the DPoP proof payload is not JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new DpopProofError('the DPoP proof payload is not a JSON object');
  const claims = payload as Record<string, unknown>;
  const { jti, htm, htu, iat } = claims;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw new DpopProofError('the DPoP proof jti is missing or invalid');
  if (typeof htm !== 'string') throw new DpopProofError('the DPoP proof htm is missing');
  if (typeof htu !== 'string') throw new DpopProofError('the DPoP proof htu is missing');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new DpopProofError('the DPoP proof iat is missing or not a number');

  if (htm !== method) throw new DpopProofError('the DPoP proof htm does not match the request method');
  const expected = normalizeHtu(url);
  if (expected === undefined) throw new TypeError('url must be an absolute http(s) URL');
  if (normalizeHtu(htu) !== expected) throw new DpopProofError('the DPoP proof htu does not match the request URL');

  const nowSeconds = now / 1000;
  if (iat > nowSeconds + skew) throw new DpopProofError('the DPoP proof was issued in the future (iat)');
  if (iat < nowSeconds - maxAge - skew) throw new DpopProofError('the DPoP proof is too old (iat)');

  if (accessToken !== undefined) {
    if (typeof claims.ath !== 'string') throw new DpopProofError('the DPoP proof has no ath for the access token');
    const expectedAth = Buffer.from(base64url.encode(createHash('sha256').update(accessToken).digest()));
    const givenAth = Buffer.from(claims.ath);
    // Constant time: the hash is not secret, but the habit costs nothing here.
    if (givenAth.length !== expectedAth.length || !timingSafeEqual(givenAth, expectedAth)) {
      throw new DpopProofError('the DPoP proof ath does not match the access token');
    }
  }

  // Scoped by key: a jti only has to be unique per client key (RFC 9449 §4.2), and nobody can burn
  // another key's jti ahead of it. Recorded until the proof would be refused as too old anyway.
  if (!replay.useOnce(`${jkt}.${jti}`, (iat + maxAge + skew) * 1000)) {
    throw new DpopProofError('the DPoP proof has been used before (jti replayed)');
  }
  return { jkt, jti, iat };
}

/** The members that make up each key type's public key (RFC 7638 §3.2), in thumbprint order. */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = { EC: ['crv', 'x', 'y'], RSA: ['e', 'n'], OKP: ['crv', 'x'] };
const KEY_CACHE_MAX = 1024;
/** Imported proof keys and their thumbprints, by algorithm and public key. */
const keyCache = new Map<string, Promise<{ key: Awaited<ReturnType<typeof importJWK>>; jkt: string }>>();

/**
 * The proof's key, imported, and its RFC 7638 thumbprint. A page signs every request with the same
 * key, and importing it (and hashing it) was most of a proof check's cost (bench/verify-dpop.ts),
 * so the last keys seen are kept, by their public members only: two JWKs with the same members are
 * the same key. Public keys only, so nothing secret is held; bounded, oldest out first.
 */
function publicKeyOf(jwk: Record<string, unknown>, alg: string): Promise<{ key: Awaited<ReturnType<typeof importJWK>>; jkt: string }> {
  const members = PUBLIC_MEMBERS[jwk.kty as string] ?? [];
  const values = members.map((member) => jwk[member]);
  const importNow = async () => ({ key: await importJWK(jwk as JWK, alg), jkt: await calculateJwkThumbprint(jwk as JWK, 'sha256') });
  if (values.length === 0 || !values.every((value) => typeof value === 'string')) return importNow();
  const id = `${alg} ${jwk.kty as string} ${values.join(' ')}`;
  let cached = keyCache.get(id);
  if (cached === undefined) {
    cached = importNow();
    // A key that does not import is not kept: the next proof with it fails the same way, afresh.
    cached.catch(() => keyCache.delete(id));
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(id, cached);
  }
  return cached;
}

/**
 * The comparable form of an `htu` (RFC 9449 §4.3 step 9): scheme, host and port and path only,
 * with RFC 3986 §6.2.2 syntax-based and §6.2.3 scheme-based normalization — lowercase scheme and
 * host, default port dropped, empty path as `/`, dot segments resolved (WHATWG URL does these),
 * then percent-encodings: unreserved characters decoded, the rest in upper-case hex. Undefined
 * for anything that is not an absolute http(s) URL.
 */
function normalizeHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  return `${url.protocol}//${url.host}${path}`;
}

/**
 * An in-process {@link DpopReplayStore}: remembers each `jti` until it expires. Enough for one
 * process; several instances behind a load balancer each keep their own, so a proof could be
 * replayed once per instance within its minute — use a shared store there.
 *
 * At `maxEntries` (default 100 000, i.e. ~1500 proofs a second over the default 65 s window) it
 * first drops expired entries, then the oldest ones: memory stays bounded and a flood cannot make
 * the server refuse every proof. `now` is its clock (default `Date.now`): give it the one passed to
 * `verifyDpopProof`.
 */
export function createMemoryDpopReplayStore(options: { maxEntries?: number; now?: () => number } = {}): DpopReplayStore {
  const maxEntries = options.maxEntries ?? 100_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be a positive integer');
  // The clock that `verifyDpopProof` is given (`now`), so that a test or server clock and the
  // store agree on what has expired.
  const clock = options.now ?? Date.now;
  // Insertion order is close to expiry order (every entry lives iat + window), so the oldest come first.
  const seen = new Map<string, number>();
  return {
    useOnce(jti, expiresAtMs) {
      const now = clock();
      const known = seen.get(jti);
      if (known !== undefined && known > now) return false;
      seen.delete(jti);
      if (seen.size >= maxEntries) {
        for (const [key, expiresAt] of seen) {
          if (expiresAt > now) break;
          seen.delete(key);
        }
        if (seen.size >= maxEntries) seen.delete(seen.keys().next().value as string);
      }
      seen.set(jti, expiresAtMs);
      return true;
    },
  };
}
