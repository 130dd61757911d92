import { describe, expect, it } from 'vitest';
import { randomBytesPooled } from './random-pool.ts';

describe('randomBytesPooled', () => {
  it('hands out each draw once, across many refills of the pool', () => {
    // 5,000 draws of 12 bytes span about fifteen 4 KiB refills.
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const bytes = randomBytesPooled(12);
      expect(bytes.length).toBe(12);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(5000);
  });

  it('returns copies: wiping the pool behind a draw does not change what was handed out', () => {
    const first = randomBytesPooled(32);
    const copy = Buffer.from(first);
    for (let i = 0; i < 300; i++) randomBytesPooled(32);
    expect(first.equals(copy)).toBe(true);
    expect(first.equals(Buffer.alloc(32))).toBe(false);
  });
});
