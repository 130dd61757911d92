import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { basicAuthorization, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';

// Issue 6, point 1: with LATCHKEY_REDIS_URL set, failed-authentication limits are shared through
// Redis. Two instances over two *separate* SQLite databases share nothing else, so a shared limit
// here can only have come through Redis. (.ci/run starts Redis at 127.0.0.1:6379 when it is down.)

const REDIS_URL = process.env.LATCHKEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('shared failure limits through Redis', () => {
  const prefix = `latchkey-test-${randomBytes(6).toString('hex')}:`;
  const env = { LATCHKEY_REDIS_URL: REDIS_URL, LATCHKEY_REDIS_PREFIX: prefix, LATCHKEY_AUTH_FAILURES_PER_IP: '40', LATCHKEY_AUTH_FAILURE_WINDOW: '3600', LATCHKEY_AUTH_FAILURES_PER_CLIENT: '1000' };
  let first: TestLatchkey;
  let second: TestLatchkey;

  beforeAll(async () => {
    first = await startTestLatchkey({ dialect: 'sqlite', env });
    second = await startTestLatchkey({ dialect: 'sqlite', env });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  // An hour-long window: 40 failures on a busy machine must not straddle a window boundary.
  it('limits an address on every instance once it failed too often on one', async () => {
    const wrong = () => ({ authorization: basicAuthorization('lkc_0000000000000000000000', 'lks_wrong') });
    for (let i = 0; i < 40; i++) {
      const res = await first.postToken({ grant_type: 'client_credentials' }, wrong());
      expect(res.status).toBe(401);
    }
    // The other instance has seen none of those failures; within its once-a-second sync it refuses
    // this address. It counts the failures it answers itself, but far fewer than 40 polls fit in the
    // time allowed, so a 429 here can only come through Redis.
    const deadline = Date.now() + 3000;
    let status = 0;
    let polls = 0;
    while (Date.now() < deadline) {
      polls++;
      status = (await second.postToken({ grant_type: 'client_credentials' }, wrong())).status;
      if (status === 429) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(429);
    expect(polls).toBeLessThan(40);
    const redis = new Redis(REDIS_URL);
    expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(0);
    redis.disconnect();
  });
});
