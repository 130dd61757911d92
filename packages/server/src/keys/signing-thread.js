// The signing thread's side (plain JavaScript: worker threads do not get the tsx loader the server's
// TypeScript runs under). It receives batches of JWS signing inputs and answers with their
// signatures, in order; see signing-thread.ts for why.
import { parentPort } from 'node:worker_threads';
import { sign } from 'node:crypto';

/** How each supported `alg` maps onto node:crypto.sign (RFC 7518 §3). */
const SIGNERS = {
  // ECDSA signatures in JWS are the raw r||s concatenation (RFC 7518 §3.4), not DER.
  ES256: (input, key) => sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }),
  RS256: (input, key) => sign('sha256', input, key),
  EdDSA: (input, key) => sign(null, input, key),
};

// A batch: `keys` (KeyObjects arrive cloned) and, per job, the index of its key, its alg and its
// signing input. The answer: per job, the base64url signature or an error message.
parentPort.on('message', ({ keys, keyIndexes, algs, inputs }) => {
  const signatures = [];
  const errors = [];
  for (let i = 0; i < inputs.length; i++) {
    try {
      const signer = SIGNERS[algs[i]];
      if (!signer) throw new TypeError(`unsupported signing algorithm ${algs[i]}`);
      signatures.push(signer(Buffer.from(inputs[i]), keys[keyIndexes[i]]).toString('base64url'));
    } catch (error) {
      signatures.push('');
      errors.push([i, String(error?.message ?? error)]);
    }
  }
  parentPort.postMessage({ signatures, errors });
});
