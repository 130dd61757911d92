// The signing thread's side (plain JavaScript: worker threads do not get the tsx loader the server's
// TypeScript runs under). It receives batches of JWS signing inputs and answers with their
// signatures, in order; see signing-thread.ts for why.
import { parentPort } from 'node:worker_threads';
import { seal } from './sealed-box.js';
import { SIGNERS } from './jws-signers.js';

// A batch: `keys` (KeyObjects arrive cloned) and, per job, the index of its key, its alg and its
// signing input; for jobs to seal, the index of the seal key in `sealKeys` (-1: none) and the seal
// context. The answer: per job, the base64url signature, the sealed token (signing input '.'
// signature, sealed-box.js) or '', and the errors by job index.
parentPort.on('message', ({ keys, keyIndexes, algs, inputs, sealKeys, sealKeyIndexes, sealContexts }) => {
  const signatures = [];
  const sealed = [];
  const errors = [];
  for (let i = 0; i < inputs.length; i++) {
    try {
      const signer = Object.hasOwn(SIGNERS, algs[i]) ? SIGNERS[algs[i]] : undefined;
      if (!signer) throw new TypeError(`unsupported signing algorithm ${algs[i]}`);
      const signature = signer(Buffer.from(inputs[i]), keys[keyIndexes[i]]).toString('base64url');
      const sealedToken = sealKeyIndexes[i] < 0 ? '' : seal(sealKeys[sealKeyIndexes[i]], `${inputs[i]}.${signature}`, sealContexts[i]);
      signatures.push(signature);
      sealed.push(sealedToken);
    } catch (error) {
      signatures.push('');
      sealed.push('');
      errors.push([i, String(error?.message ?? error)]);
    }
  }
  parentPort.postMessage({ signatures, sealed, errors });
});
