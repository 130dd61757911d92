// DPoP proofs (RFC 9449 §4.2): one fresh, signed JWT per HTTP request, naming the request's method
// and URL, and (§4.2, `ath`) the hash of the access token it accompanies.

import { base64url } from './base64url.ts';
import { signEs256, subtleCrypto } from './dpop-key.ts';
import type { DpopKey } from './dpop-key.ts';

/** What one proof is for. */
export interface DpopProofInput {
  /** The request's method, as it will be sent (see {@link httpMethod}). */
  readonly method: string;
  /** The request's absolute URL; query and fragment are left out of `htu`. */
  readonly url: string;
  /** The access token sent with the request, hashed into `ath`; absent for the token request. */
  readonly accessToken?: string | undefined;
  /** Seconds since the epoch, for `iat`. */
  readonly issuedAt: number;
}

/** Signs a DPoP proof JWT for one request with `key`. */
export async function createDpopProof(key: DpopKey, input: DpopProofInput): Promise<string> {
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk };
  const payload: Record<string, string | number> = {
    // 128 random bits: unique per proof, so the resource can refuse a replay (§11.1).
    jti: base64url(globalThis.crypto.getRandomValues(new Uint8Array(16))),
    htm: input.method,
    htu: targetUri(input.url),
    iat: input.issuedAt,
  };
  if (input.accessToken !== undefined) payload.ath = await accessTokenHash(input.accessToken);
  return signEs256(key.privateKey, header, payload);
}

/** `htu`: the target URI without query and fragment (§4.2), in the WHATWG URL's normal form. */
export function targetUri(url: string): string {
  const parsed = new URL(url);
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}

/** `ath`: base64url(SHA-256(ASCII access token)) (§4.2). */
export async function accessTokenHash(accessToken: string): Promise<string> {
  return base64url(await subtleCrypto().digest('SHA-256', new TextEncoder().encode(accessToken)));
}

// fetch normalizes exactly these method names to upper case (Fetch standard, "normalize a method");
// any other (PATCH included) goes on the wire as written, so `htm` must say it as written too.
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/** The method as fetch will send it, for `htm`. */
export function httpMethod(method: string | undefined): string {
  if (method === undefined || method === '') return 'GET';
  const upper = method.toUpperCase();
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}
