import { sign, type KeyObject } from 'node:crypto';

// RFC 7515 compact serialization, signing side only: BASE64URL(header) '.' BASE64URL(payload) '.'
// BASE64URL(signature). Latchkey signs its own, trusted claims, so there is nothing to parse or
// validate here; everything that *verifies* a token (tests, @latchkey/resource) uses jose.
// Why not jose's SignJWT: in Node it signs through WebCrypto, an asynchronous thread-pool job that
// costs about four times the signature itself; minting throughput is bound by it (docs/decisions.md).

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** How each supported `alg` maps onto node:crypto.sign (RFC 7518 §3). */
const SIGNERS: Record<string, (input: Buffer, key: KeyObject) => Buffer> = {
  // ECDSA signatures in JWS are the raw r||s concatenation (RFC 7518 §3.4), not DER.
  ES256: (input, key) => sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }),
  RS256: (input, key) => sign('sha256', input, key),
  EdDSA: (input, key) => sign(null, input, key),
};

/** Signs `payload` with `header` (which must carry the `alg` of `key`). */
export function signCompactJws(header: { alg: string } & Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const signer = SIGNERS[header.alg];
  if (!signer) throw new TypeError(`unsupported signing algorithm ${header.alg}`);
  const signingInput = `${encode(header)}.${encode(payload)}`;
  return `${signingInput}.${signer(Buffer.from(signingInput), key).toString('base64url')}`;
}
