import { sign, type KeyObject } from 'node:crypto';

// RFC 7515 compact serialization, signing side only: BASE64URL(header) '.' BASE64URL(payload) '.'
// BASE64URL(signature). Latchkey signs its own, trusted claims, so there is nothing to parse or
// validate here; everything that *verifies* a token (tests, @latchkey/resource) uses jose.
// Why not jose's SignJWT: in Node it signs through WebCrypto, whose per-call overhead costs about
// four times the signature itself (docs/decisions.md). node:crypto.sign with a callback runs the
// same OpenSSL signature on libuv's thread pool with little overhead, so minting uses every core
// while the event loop only frames the token.

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

type SignCallback = (error: Error | null, signature: Buffer) => void;

/** How each supported `alg` maps onto node:crypto.sign (RFC 7518 §3). */
const SIGNERS: Record<string, (input: Buffer, key: KeyObject, done: SignCallback) => void> = {
  // ECDSA signatures in JWS are the raw r||s concatenation (RFC 7518 §3.4), not DER.
  ES256: (input, key, done) => sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, done),
  RS256: (input, key, done) => sign('sha256', input, key, done),
  EdDSA: (input, key, done) => sign(null, input, key, done),
};

/** Signs `payload` with `header` (which must carry the `alg` of `key`), on the thread pool. */
export function signCompactJws(header: { alg: string } & Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): Promise<string> {
  const signer = SIGNERS[header.alg];
  if (!signer) return Promise.reject(new TypeError(`unsupported signing algorithm ${header.alg}`));
  const signingInput = `${encode(header)}.${encode(payload)}`;
  return new Promise((resolve, reject) => {
    signer(Buffer.from(signingInput), key, (error, signature) => (error ? reject(error) : resolve(`${signingInput}.${signature.toString('base64url')}`)));
  });
}
