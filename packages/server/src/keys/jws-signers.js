// How each JWS `alg` Latchkey signs with maps onto node:crypto.sign (RFC 7518 §3). Plain JavaScript
// (typed by jws-signers.d.ts) because the signing threads use it, and worker threads do not get the
// tsx loader; the event loop uses it to refuse an unknown `alg` before a job reaches a thread.
import { sign } from 'node:crypto';

export const SIGNERS = {
  // ECDSA signatures in JWS are the raw r||s concatenation (RFC 7518 §3.4), not DER.
  ES256: (input, key) => sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }),
  RS256: (input, key) => sign('sha256', input, key),
  EdDSA: (input, key) => sign(null, input, key),
};
