import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';

describe.each(DIALECTS)('smoke (%s)', (dialect) => {
  let lk: TestLatchkey;
  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect });
  });
  afterAll(async () => lk?.close());

  it('issues a token', async () => {
    const { integration, clientSecret } = await lk.createIntegration();
    const res = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(integration.clientId, clientSecret) });
    const body = await res.json();
    expect(res.status).toBe(200);
    expect(body.token_type).toBe('Bearer');
  });
});
