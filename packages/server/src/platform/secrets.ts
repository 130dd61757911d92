import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { encodeBase62, isBase62 } from '../support/base62.ts';

// Client secrets look like `lks_<43 base62 chars: 256 random bits><6 base62 chars: CRC32>`.
// The fixed prefix and checksum let secret scanners (GitHub, GitGuardian, trufflehog) find a leaked
// secret with no false positives, as GitHub's own token format does. The checksum is not a secret.

const SECRET_PREFIX = 'lks_';
const SECRET_BODY_LENGTH = 43; // ceil(256 / log2(62))
const CHECKSUM_LENGTH = 6; // ceil(32 / log2(62))
const CLIENT_ID_PREFIX = 'lkc_';

/** Matches a well-formed Latchkey client secret; scanners can use the same expression. */
export const CLIENT_SECRET_PATTERN = /^lks_[0-9A-Za-z]{49}$/;

function checksum(body: string): string {
  const value = crc32(Buffer.from(body));
  return encodeBase62(Buffer.from([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]), CHECKSUM_LENGTH);
}

/** A new client secret with 256 bits of randomness. */
export function generateClientSecret(): string {
  const body = encodeBase62(randomBytes(32), SECRET_BODY_LENGTH);
  return `${SECRET_PREFIX}${body}${checksum(body)}`;
}

/** True when `secret` has Latchkey's shape and its checksum matches (a typo or truncation fails). */
export function isWellFormedClientSecret(secret: string): boolean {
  if (!CLIENT_SECRET_PATTERN.test(secret)) return false;
  const body = secret.slice(SECRET_PREFIX.length, SECRET_PREFIX.length + SECRET_BODY_LENGTH);
  return checksum(body) === secret.slice(SECRET_PREFIX.length + SECRET_BODY_LENGTH);
}

/** A new public client ID: 128 random bits, so IDs cannot be enumerated. */
export function generateClientId(): string {
  return CLIENT_ID_PREFIX + encodeBase62(randomBytes(16), 22);
}

/** True when `clientId` could be a Latchkey client ID. */
export function isWellFormedClientId(clientId: string): boolean {
  return clientId.startsWith(CLIENT_ID_PREFIX) && clientId.length === 26 && isBase62(clientId.slice(4));
}

/**
 * Keyed hash of a secret: HMAC-SHA256 under a key derived from the master key. Secrets carry 256
 * random bits, so no slow KDF is needed; verification stays in microseconds, and a stolen database
 * without the master key gives nothing to brute-force.
 */
export function hashClientSecret(secretHashKey: Buffer, secret: string): Buffer {
  return createHmac('sha256', secretHashKey).update(secret, 'utf8').digest();
}

/** Constant-time comparison of two 32-byte hashes. */
export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
