import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createManualClock } from '../support/clock.ts';
import { FailureRateLimiter } from './failure-rate-limiter.ts';

const limits = { windowSeconds: 60, failuresPerClient: 3, failuresPerIp: 5 };
// A window boundary, so the tests know where each window ends.
const windowStart = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('FailureRateLimiter', () => {
  it('lets the first failures through, then refuses until the window ends', () => {
    const clock = createManualClock(windowStart + 10_000);
    const limiter = new FailureRateLimiter(limits, clock);
    for (let i = 0; i < limits.failuresPerClient; i++) {
      expect(limiter.check('10.0.0.1', 'lkc_a')).toBeNull();
      limiter.recordFailure('10.0.0.1', 'lkc_a');
    }
    expect(limiter.check('10.0.0.2', 'lkc_a')).toEqual({ retryAfter: 50, what: 'for this client_id' });
    // Other clients and addresses are unaffected.
    expect(limiter.check('10.0.0.2', 'lkc_b')).toBeNull();
    clock.set(windowStart + 59_500);
    expect(limiter.check('10.0.0.2', 'lkc_a')).toEqual({ retryAfter: 1, what: 'for this client_id' });
    clock.set(windowStart + 60_000);
    expect(limiter.check('10.0.0.2', 'lkc_a')).toBeNull();
  });

  it('limits an address that tries many client IDs', () => {
    const clock = createManualClock(windowStart);
    const limiter = new FailureRateLimiter(limits, clock);
    for (let i = 0; i < limits.failuresPerIp; i++) limiter.recordFailure('10.0.0.9', `lkc_${i}`);
    expect(limiter.check('10.0.0.9', 'lkc_new')).toEqual({ retryAfter: 60, what: 'from this address' });
    expect(limiter.check('10.0.0.8', 'lkc_new')).toBeNull();
  });

  it('counts afresh in the next window: earlier failures do not carry over', () => {
    const clock = createManualClock(windowStart + 59_000);
    const limiter = new FailureRateLimiter(limits, clock);
    limiter.recordFailure('10.0.0.1', 'lkc_a');
    limiter.recordFailure('10.0.0.1', 'lkc_a');
    clock.set(windowStart + 61_000);
    limiter.recordFailure('10.0.0.1', 'lkc_a');
    expect(limiter.check('10.0.0.1', 'lkc_a')).toBeNull();
  });

  it('agrees with a plain count of failures per window, for any sequence of failures and checks', () => {
    const event = fc.record({ advanceMs: fc.integer({ min: 0, max: 30_000 }), ip: fc.constantFrom('a', 'b'), client: fc.constantFrom('x', 'y', 'z'), fail: fc.boolean() });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const clock = createManualClock(windowStart);
        const limiter = new FailureRateLimiter(limits, clock);
        const counts = new Map<string, number>();
        let window = windowStart;
        for (const e of events) {
          clock.advance(e.advanceMs);
          const current = Math.floor(clock.now() / 60_000) * 60_000;
          if (current !== window) {
            counts.clear();
            window = current;
          }
          const expectedBlocked = (counts.get(`ip ${e.ip}`) ?? 0) >= limits.failuresPerIp || (counts.get(`client ${e.client}`) ?? 0) >= limits.failuresPerClient;
          if ((limiter.check(e.ip, e.client) !== null) !== expectedBlocked) return false;
          if (e.fail) {
            limiter.recordFailure(e.ip, e.client);
            for (const key of [`ip ${e.ip}`, `client ${e.client}`]) counts.set(key, (counts.get(key) ?? 0) + 1);
          }
        }
        return true;
      }),
    );
  });
});
