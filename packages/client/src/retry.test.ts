import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from './retry.ts';

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  const now = Date.UTC(2030, 0, 1, 12, 0, 0);

  it.each<[string | null | undefined, number | undefined]>([
    ['0', 0],
    ['7', 7000],
    [' 3 ', 3000],
    [new Date(now + 5000).toUTCString(), 5000],
    [new Date(now - 5000).toUTCString(), 0],
    [null, undefined],
    [undefined, undefined],
    ['soon', undefined],
    ['-1', undefined],
    ['1.5', undefined],
    ['2030-01-01T12:00:05Z', undefined],
    ['Someday', undefined],
  ])('reads %j as %j ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('backoffDelay', () => {
  it('stays within [0, min(max, base * 2^attempt))', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, random) => {
        const delay = backoffDelay(attempt, 200, 5000, () => random);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(Math.min(5000, 200 * 2 ** attempt));
      }),
    );
  });

  it('spreads retries out (full jitter)', () => {
    expect(backoffDelay(2, 100, 10_000, () => 0)).toBe(0);
    expect(backoffDelay(2, 100, 10_000, () => 0.5)).toBe(200);
  });
});
