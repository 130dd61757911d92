/**
 * DPoP proofs (RFC 9449 §4.2) signed in the benchmark process, ahead of the load: every request of a
 * DPoP scenario carries a proof of its own (the server refuses a `jti` it has seen), and wrk cannot
 * sign. One ES256 key per signer, as a browser keeps one non-extractable key; the header (with the
 * public jwk) is encoded once, so a proof costs one JSON payload and one `crypto.sign`.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/** Signs DPoP proofs with one key. */
export interface DpopSigner {
  /** RFC 7638 SHA-256 thumbprint (base64url) of the public key: a bound token's `cnf.jkt`. */
  jkt: string;
  /** A fresh proof (new `jti`, `iat` now) for `method` `url`, with `ath` when it accompanies an access token. */
  proof(method: string, url: string, accessToken?: string): string;
  /** `count` fresh proofs for the same request. */
  proofs(count: number, method: string, url: string, accessToken?: string): string[];
}

const b64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

/** A new ES256 key and a signer for it. */
export function createDpopSigner(): DpopSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { crv, x, y } = publicKey.export({ format: 'jwk' }) as { crv: string; x: string; y: string };
  // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
  const jkt = createHash('sha256').update(`{"crv":"${crv}","kty":"EC","x":"${x}","y":"${y}"}`).digest('base64url');
  const header = b64url(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv, x, y } }));
  const signWith = (key: KeyObject, input: string): string => sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  const proof = (method: string, url: string, accessToken?: string): string => {
    const ath = accessToken === undefined ? undefined : createHash('sha256').update(accessToken).digest('base64url');
    const payload = { jti: randomBytes(12).toString('base64url'), htm: method, htu: url, iat: Math.floor(Date.now() / 1000), ...(ath === undefined ? {} : { ath }) };
    const input = `${header}.${b64url(JSON.stringify(payload))}`;
    return `${input}.${signWith(privateKey, input)}`;
  };
  return {
    jkt,
    proof,
    proofs: (count, method, url, accessToken) => Array.from({ length: count }, () => proof(method, url, accessToken)),
  };
}
