// The signing thread's side: it receives batches of JWS signing inputs and answers with their
// signatures, in order; see signing-thread.ts (the event loop's side) for why. Started through
// support/start-worker.ts, which loads this module as .ts or as compiled .js.
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { SIGNERS } from './jws-signers.ts';
import { seal } from './sealed-box.ts';

/**
 * A batch: `keys` (KeyObjects arrive cloned) and, per job, the index of its key, its alg and its
 * signing input; for jobs to seal, the index of the seal key in `sealKeys` (-1: none) and the seal
 * context.
 */
export interface SigningBatch {
  keys: KeyObject[];
  keyIndexes: number[];
  algs: string[];
  inputs: string[];
  sealKeys: Buffer[];
  sealKeyIndexes: number[];
  sealContexts: string[];
}

/** The answer, per job: the base64url signature, the sealed token (signing input '.' signature) or '', and the errors by job index. */
export interface SigningAnswer {
  signatures: string[];
  sealed: string[];
  errors: [index: number, message: string][];
}

/** Signs (and seals) every job of a batch; a job that fails leaves '' in both lists and its message in `errors`. */
function signBatch({ keys, keyIndexes, algs, inputs, sealKeys, sealKeyIndexes, sealContexts }: SigningBatch): SigningAnswer {
  const signatures: string[] = [];
  const sealed: string[] = [];
  const errors: [number, string][] = [];
  for (let i = 0; i < inputs.length; i++) {
    try {
      const alg = algs[i]!;
      const signer = Object.hasOwn(SIGNERS, alg) ? SIGNERS[alg] : undefined;
      if (!signer) throw new TypeError(`unsupported signing algorithm ${alg}`);
      const signature = signer(Buffer.from(inputs[i]!), keys[keyIndexes[i]!]!).toString('base64url');
      const sealKeyIndex = sealKeyIndexes[i]!;
      const sealedToken = sealKeyIndex < 0 ? '' : seal(sealKeys[sealKeyIndex]!, `${inputs[i]}.${signature}`, sealContexts[i]!);
      signatures.push(signature);
      sealed.push(sealedToken);
    } catch (error) {
      signatures.push('');
      sealed.push('');
      errors.push([i, String((error as Error | undefined)?.message ?? error)]);
    }
  }
  return { signatures, sealed, errors };
}

const port = parentPort;
if (!port) throw new Error('signing-worker runs on a worker thread only (see signing-thread.ts)');
port.on('message', (batch: SigningBatch) => port.postMessage(signBatch(batch)));
