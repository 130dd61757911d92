// AES-256-GCM with a random 96-bit nonce; the output is 'v1.' + base64url(nonce | ciphertext | tag).
// The version prefix leaves room for a different scheme later without guessing at old rows. The
// signing thread seals minted tokens too (signing-worker.ts), so this imports nothing but node:crypto
// and the random pool.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { randomBytesPooled } from '../support/random-pool.ts';

const VERSION = 'v1.';

/** Encrypts and authenticates `plaintext`; `context` is bound as associated data (a row cannot be swapped into another). */
export function seal(key: Buffer, plaintext: string, context: string): string {
  const nonce = randomBytesPooled(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return VERSION + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url');
}

/** Reverses seal(); throws if the key, context or bytes are wrong. */
export function open(key: Buffer, sealed: string, context: string): string {
  if (!sealed.startsWith(VERSION)) throw new Error('sealed value has an unknown format version');
  const bytes = Buffer.from(sealed.slice(VERSION.length), 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8');
}
