import { describe, expect, it } from 'vitest';
import { describeSigningKeys } from './signing-keys.ts';

const row = (kid: string, activatesAt: number) => ({ kid, alg: 'ES256', public_jwk: '{}', private_jwk_sealed: '', created_at: 0, activates_at: activatesAt });
const TTL = 100; // seconds

describe('signing key states', () => {
  it('moves a key through next, active, retiring and retired', () => {
    const rows = [row('old', 0), row('new', 50_000)];
    const at = (now: number) => describeSigningKeys(rows, now, TTL).map((k) => `${k.kid}:${k.state}`);
    expect(at(10_000)).toEqual(['old:active', 'new:next']);
    expect(at(50_000)).toEqual(['old:retiring', 'new:active']);
    expect(at(50_000 + TTL * 1000 - 1)).toEqual(['old:retiring', 'new:active']);
    expect(at(50_000 + TTL * 1000)).toEqual(['old:retired', 'new:active']);
  });
});
