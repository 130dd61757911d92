import { describe, expect, it } from 'vitest';
import { CLIENT_SECRET_PATTERN, generateClientId, generateClientSecret, hashClientSecret, isWellFormedClientId, isWellFormedClientSecret } from './secrets.ts';

describe('client secrets', () => {
  it('carry a recognisable prefix, a valid checksum and fixed length', () => {
    for (let i = 0; i < 200; i++) {
      const secret = generateClientSecret();
      expect(secret).toMatch(CLIENT_SECRET_PATTERN);
      expect(isWellFormedClientSecret(secret)).toBe(true);
    }
  });

  it('fail the checksum after a one-character typo', () => {
    const secret = generateClientSecret();
    const last = secret.at(-1) === 'A' ? 'B' : 'A';
    expect(isWellFormedClientSecret(secret.slice(0, -1) + last)).toBe(false);
    expect(isWellFormedClientSecret(secret.slice(0, 20))).toBe(false);
  });

  it('carry at least 256 bits of randomness: 43 base62 characters, never repeating', () => {
    expect(43 * Math.log2(62)).toBeGreaterThanOrEqual(256);
    const seen = new Set(Array.from({ length: 1000 }, generateClientSecret));
    expect(seen.size).toBe(1000);
  });

  it('are hashed with a key: another key gives another hash', () => {
    const secret = generateClientSecret();
    const a = hashClientSecret(Buffer.alloc(32, 1), secret);
    expect(hashClientSecret(Buffer.alloc(32, 1), secret).equals(a)).toBe(true);
    expect(hashClientSecret(Buffer.alloc(32, 2), secret).equals(a)).toBe(false);
    expect(a.toString('hex')).not.toContain(secret);
  });
});

describe('client IDs', () => {
  it('are well-formed and unique', () => {
    const ids = Array.from({ length: 500 }, generateClientId);
    expect(ids.every(isWellFormedClientId)).toBe(true);
    expect(new Set(ids).size).toBe(500);
    expect(isWellFormedClientId('someone')).toBe(false);
  });
});
