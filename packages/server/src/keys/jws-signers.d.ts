import type { KeyObject } from 'node:crypto';
/** See jws-signers.js: the JWS signature of `input` with `key`, per supported `alg`. */
export const SIGNERS: Readonly<Record<string, (input: Buffer, key: KeyObject) => Buffer>>;
