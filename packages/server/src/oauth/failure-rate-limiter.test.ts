import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createManualClock } from '../support/clock.ts';
import { FailureRateLimiter } from './failure-rate-limiter.ts';

const limits = { windowSeconds: 60, failuresPerClient: 3, failuresPerIp: 5 };
// A window boundary, so the tests know where each window ends.
const windowStart = Date.UTC(2026, 0, 1, 12, 0, 0);
const A = 'lkc_AAAAAAAAAAAAAAAAAAAAAA';
const B = 'lkc_BBBBBBBBBBBBBBBBBBBBBB';

describe('FailureRateLimiter', () => {
  it('lets the first failures through, then refuses that client ID from that address until the window ends', () => {
    const clock = createManualClock(windowStart + 10_000);
    const limiter = new FailureRateLimiter(limits, clock);
    for (let i = 0; i < limits.failuresPerClient; i++) {
      expect(limiter.check('10.0.0.1', A)).toBeNull();
      limiter.recordFailure('10.0.0.1', A);
    }
    expect(limiter.check('10.0.0.1', A)).toEqual({ retryAfter: 50, what: 'for this client_id from this address' });
    // The same client from another address, and other clients from this one, are unaffected.
    expect(limiter.check('10.0.0.2', A)).toBeNull();
    expect(limiter.check('10.0.0.1', B)).toBeNull();
    clock.set(windowStart + 59_500);
    expect(limiter.check('10.0.0.1', A)).toEqual({ retryAfter: 1, what: 'for this client_id from this address' });
    clock.set(windowStart + 60_000);
    expect(limiter.check('10.0.0.1', A)).toBeNull();
  });

  it('failures from many addresses never add up against one client ID', () => {
    const clock = createManualClock(windowStart);
    const limiter = new FailureRateLimiter(limits, clock);
    for (let i = 0; i < 100; i++) limiter.recordFailure(`10.0.1.${i}`, A);
    expect(limiter.check('10.0.0.1', A)).toBeNull();
  });

  it('limits an address that tries many client IDs', () => {
    const clock = createManualClock(windowStart);
    const limiter = new FailureRateLimiter(limits, clock);
    for (let i = 0; i < limits.failuresPerIp; i++) limiter.recordFailure('10.0.0.9', `lkc_${String(i).padStart(22, '0')}`);
    expect(limiter.check('10.0.0.9', B)).toEqual({ retryAfter: 60, what: 'from this address' });
    expect(limiter.check('10.0.0.8', B)).toBeNull();
  });

  it('counts every malformed client ID from one address together', () => {
    const clock = createManualClock(windowStart);
    const limiter = new FailureRateLimiter({ ...limits, failuresPerIp: 1000 }, clock);
    for (const id of ['lks_secret-in-the-wrong-field', 'x', 'lkc_short']) limiter.recordFailure('10.0.0.1', id);
    expect(limiter.check('10.0.0.1', 'anything else')).toEqual({ retryAfter: 60, what: 'for this client_id from this address' });
    expect(limiter.check('10.0.0.1', A)).toBeNull();
  });

  it('with accounts, counts a name from every address together (console sign-in)', () => {
    const clock = createManualClock(windowStart);
    const limiter = new FailureRateLimiter({ ...limits, accounts: true }, clock);
    for (let i = 0; i < limits.failuresPerClient; i++) limiter.recordFailure(`10.0.0.${i}`, 'admin@example.com');
    expect(limiter.check('10.0.0.99', 'admin@example.com')).toEqual({ retryAfter: 60, what: 'for this account' });
    expect(limiter.check('10.0.0.99', 'other@example.com')).toBeNull();
  });

  it('counts afresh in the next window: earlier failures do not carry over', () => {
    const clock = createManualClock(windowStart + 59_000);
    const limiter = new FailureRateLimiter(limits, clock);
    limiter.recordFailure('10.0.0.1', A);
    limiter.recordFailure('10.0.0.1', A);
    clock.set(windowStart + 61_000);
    limiter.recordFailure('10.0.0.1', A);
    expect(limiter.check('10.0.0.1', A)).toBeNull();
  });

  it('agrees with a plain count of failures per window, for any sequence of failures and checks', () => {
    const event = fc.record({ advanceMs: fc.integer({ min: 0, max: 30_000 }), ip: fc.constantFrom('a', 'b'), client: fc.constantFrom(A, B, 'not-an-id'), fail: fc.boolean() });
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
          const clientKey = `client ${e.client} from ${e.ip}`;
          const expectedBlocked = (counts.get(`ip ${e.ip}`) ?? 0) >= limits.failuresPerIp || (counts.get(clientKey) ?? 0) >= limits.failuresPerClient;
          if ((limiter.check(e.ip, e.client) !== null) !== expectedBlocked) return false;
          if (e.fail) {
            limiter.recordFailure(e.ip, e.client);
            for (const key of [`ip ${e.ip}`, clientKey]) counts.set(key, (counts.get(key) ?? 0) + 1);
          }
        }
        return true;
      }),
    );
  });
});
