import { afterEach, describe, expect, it } from 'vitest';
import { basicAuthorization, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';

// The composition root (runtime.ts, app.ts) owns the signing threads: each server gets its own pool,
// and stopping the server stops its threads, so a process that starts and stops many servers (this
// test suite, an embedding application) keeps none behind.

describe('composition root', () => {
  const running: TestLatchkey[] = [];
  afterEach(async () => {
    for (const lk of running.splice(0)) await lk.close();
  });

  for (const dialect of ['sqlite', 'postgres'] as const) {
    it(`closes each server's signing threads when it stops, over ${dialect}`, async () => {
      const pools = [];
      for (let i = 0; i < 3; i++) {
        const lk = await startTestLatchkey({ dialect });
        running.push(lk);
        const { integration, clientSecret } = await lk.createIntegration();
        const res = await lk.postToken({ grant_type: 'client_credentials', scope: 'templates:read' }, { authorization: basicAuthorization(integration.clientId, clientSecret) });
        expect(res.status).toBe(200);
        const pool = lk.server.runtime.signingThreads;
        // The mint ran on this server's own threads.
        expect(pool.liveThreads).toBeGreaterThan(0);
        expect(pools).not.toContain(pool);
        pools.push(pool);
        await running.pop()!.close();
        // Counted down on each worker's 'exit' event: the threads are gone, not just idle.
        expect(pool.liveThreads).toBe(0);
      }
    });
  }
});
