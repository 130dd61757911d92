import { afterEach, describe, expect, it } from 'vitest';
import { basicAuthorization, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';

// Checklist 11: behind a TLS-terminating proxy, X-Forwarded-For is believed only from configured
// proxies. Observed through the per-address failure limit, which keys on the client address.

async function failFrom(lk: TestLatchkey, clientId: string, forwardedFor: string) {
  const res = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(clientId, 'lks_wrong'), 'x-forwarded-for': forwardedFor });
  return res.status;
}

describe('forwarded client addresses', () => {
  let lk: TestLatchkey | undefined;
  afterEach(async () => {
    await lk?.close();
    lk = undefined;
  });

  it('ignores X-Forwarded-For when no proxy is configured: a client cannot dodge the address limit', async () => {
    lk = await startTestLatchkey({ dialect: 'sqlite', env: { LATCHKEY_AUTH_FAILURES_PER_IP: '3', LATCHKEY_AUTH_FAILURES_PER_CLIENT: '1000' } });
    const { integration } = await lk.createIntegration();
    for (let i = 0; i < 3; i++) expect(await failFrom(lk, integration.clientId, `203.0.113.${i}`)).toBe(401);
    // Every attempt counted against 127.0.0.1, whatever the header claimed.
    expect(await failFrom(lk, integration.clientId, '203.0.113.99')).toBe(429);
  });

  it('uses X-Forwarded-For from a configured proxy, so one client is limited and another is not', async () => {
    lk = await startTestLatchkey({ dialect: 'sqlite', env: { LATCHKEY_TRUSTED_PROXIES: '127.0.0.1', LATCHKEY_AUTH_FAILURES_PER_IP: '3', LATCHKEY_AUTH_FAILURES_PER_CLIENT: '1000' } });
    const { integration } = await lk.createIntegration();
    for (let i = 0; i < 3; i++) expect(await failFrom(lk, integration.clientId, '203.0.113.7')).toBe(401);
    expect(await failFrom(lk, integration.clientId, '203.0.113.7')).toBe(429);
    expect(await failFrom(lk, integration.clientId, '198.51.100.20')).toBe(401);
  });
});
