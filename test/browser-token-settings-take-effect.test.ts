// Needs the token exchange (branch issue-16-exchange): it tests what that endpoint does with these settings.
// The browser-token settings take effect at the token endpoint on the very next request (issue 16):
// each change is made through the Platform API of the running server, and the next /oauth/token
// request is the check — no cache hook, no wait. Before each change the token endpoint has just
// answered the same client, so whatever it holds in memory for it is what the change must replace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';
import { adminSession, type SessionClient } from './support/platform-client.ts';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

describe.each(DIALECTS)('browser-token settings at the token endpoint, from the next request (%s)', (dialect) => {
  let lk: TestLatchkey;
  let admin: SessionClient;

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect });
    admin = await adminSession(lk, 'admin@example.com', { environments: { demo: 'admin' } });
  });
  afterAll(async () => lk?.close());

  async function post(params: Record<string, string>, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await lk.postToken(params, headers);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function patch(path: string, body: unknown): Promise<void> {
    const res = await admin.request('PATCH', path, { body });
    expect(res.status, res.text).toBe(200);
  }

  it('browserTokens on, off and on again: the next exchange follows each change', async () => {
    const { integration, clientSecret } = await lk.createIntegration({ name: 'Toggled backend' });
    const auth = { authorization: basicAuthorization(integration.clientId, clientSecret) };
    const subject = await post({ grant_type: 'client_credentials' }, auth);
    expect(subject.status, JSON.stringify(subject.body)).toBe(200);
    const exchange = () => post({ grant_type: EXCHANGE, subject_token: subject.body.access_token as string, subject_token_type: ACCESS_TOKEN }, auth);
    const path = `/api/v1/environments/demo/integrations/${integration.clientId}`;

    expect((await exchange()).body.error).toBe('unauthorized_client');
    await patch(path, { browserTokens: true });
    const first = await exchange();
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect((await exchange()).status).toBe(200);
    await patch(path, { browserTokens: false });
    const refused = await exchange();
    expect({ status: refused.status, error: refused.body.error }).toEqual({ status: 400, error: 'unauthorized_client' });
    // Through the permissions route as well.
    const on = await admin.request('PUT', `${path}/permissions`, { body: { browserTokens: true } });
    expect(on.status, on.text).toBe(200);
    expect((await exchange()).status).toBe(200);
  });

  it('browserTokenLifetimeSeconds and allowClientCredentialsFromBrowser: the next request follows each change, both ways', async () => {
    await lk.createEnvironment('toggled');
    const root = await adminSession(lk, 'root@example.com', { platformAdmin: true });
    const { integration, clientSecret } = await lk.createIntegration({ environmentId: 'toggled', name: 'Lifetime backend' });
    const auth = { authorization: basicAuthorization(integration.clientId, clientSecret) };
    const browser = { ...auth, origin: 'https://page.example' };
    const settings = '/api/v1/environments/toggled/browser-tokens';
    const set = async (body: unknown) => {
      const res = await root.request('PATCH', settings, { body });
      expect(res.status, res.text).toBe(200);
    };
    expect((await root.request('PATCH', `/api/v1/environments/toggled/integrations/${integration.clientId}`, { body: { browserTokens: true } })).status).toBe(200);

    const subject = await post({ grant_type: 'client_credentials' }, auth);
    expect(subject.status).toBe(200);
    const exchange = () => post({ grant_type: EXCHANGE, subject_token: subject.body.access_token as string, subject_token_type: ACCESS_TOKEN }, auth);
    expect((await exchange()).body.expires_in).toBe(900);
    await set({ browserTokenLifetimeSeconds: 60 });
    expect((await exchange()).body.expires_in).toBe(60);
    await set({ browserTokenLifetimeSeconds: 3600 });
    expect((await exchange()).body.expires_in).toBe(3600);

    expect((await post({ grant_type: 'client_credentials' }, browser)).body.error).toBe('unauthorized_client');
    await set({ allowClientCredentialsFromBrowser: true });
    expect((await post({ grant_type: 'client_credentials' }, browser)).status).toBe(200);
    expect((await post({ grant_type: 'client_credentials' }, browser)).status).toBe(200);
    await set({ allowClientCredentialsFromBrowser: false });
    expect((await post({ grant_type: 'client_credentials' }, browser)).body.error).toBe('unauthorized_client');
  });
});
