// How each JWS `alg` Latchkey signs with maps onto node:crypto.sign (RFC 7518 §3). The signing
// threads use it (signing-worker.ts); the event loop uses it to refuse an unknown `alg` before a job
// reaches a thread.
import { sign, type KeyObject } from 'node:crypto';

/** The JWS signature of `input` with `key`, per supported `alg`. */
export const SIGNERS: Readonly<Record<string, (input: Buffer, key: KeyObject) => Buffer>> = {
  // ECDSA signatures in JWS are the raw r||s concatenation (RFC 7518 §3.4), not DER.
  ES256: (input, key) => sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }),
  RS256: (input, key) => sign('sha256', input, key),
  EdDSA: (input, key) => sign(null, input, key),
};
