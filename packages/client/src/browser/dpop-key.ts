// The browser's DPoP key (RFC 9449 §2): an ES256 key pair made by WebCrypto with the private half
// non-extractable, so no script in the page (ours included) can read it out and take it elsewhere;
// it can only be used, here, for as long as the page lives.

import { base64url, base64urlText } from './base64url.ts';

/** The public half as it goes into a proof's `jwk` header: only the members RFC 7518 §6.2.1 defines. */
export interface EcPublicJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
}

/** A DPoP signing key: the non-extractable private key, its public JWK and RFC 7638 thumbprint. */
export interface DpopKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: EcPublicJwk;
  /** RFC 7638 JWK thumbprint (SHA-256, base64url): the `cnf.jkt` a bound token carries. */
  readonly thumbprint: string;
}

const ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };

/** The WebCrypto this page (or Node 20) has; a clear error where there is none (an insecure http: page). */
export function subtleCrypto(): SubtleCrypto {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) {
    throw new TypeError('WebCrypto (crypto.subtle) is not available: browsers offer it only to secure contexts (https: or http://localhost)');
  }
  return subtle;
}

/** Makes a fresh ES256 key pair (private half non-extractable) and computes its public JWK and thumbprint. */
export async function generateDpopKey(): Promise<DpopKey> {
  const subtle = subtleCrypto();
  const pair = (await subtle.generateKey(ALGORITHM, false, ['sign', 'verify'])) as CryptoKeyPair;
  // WebCrypto always makes the public half extractable; export it without key_ops / ext.
  const { x, y } = await subtle.exportKey('jwk', pair.publicKey);
  if (typeof x !== 'string' || typeof y !== 'string') throw new TypeError('WebCrypto returned a public key without x and y');
  const publicJwk: EcPublicJwk = Object.freeze({ kty: 'EC', crv: 'P-256', x, y });
  return Object.freeze({ privateKey: pair.privateKey, publicJwk, thumbprint: await jwkThumbprint(publicJwk) });
}

/** RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace. */
export async function jwkThumbprint(jwk: EcPublicJwk): Promise<string> {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return base64url(await subtleCrypto().digest('SHA-256', new TextEncoder().encode(canonical)));
}

/** Signs `header.payload` with ES256; WebCrypto's ECDSA output is already JWS's r||s form (RFC 7518 §3.4). */
export async function signEs256(key: CryptoKey, header: object, payload: object): Promise<string> {
  const input = `${base64urlText(JSON.stringify(header))}.${base64urlText(JSON.stringify(payload))}`;
  const signature = await subtleCrypto().sign({ name: 'ECDSA', hash: 'SHA-256' }, key, new TextEncoder().encode(input));
  return `${input}.${base64url(signature)}`;
}
