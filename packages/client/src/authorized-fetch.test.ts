import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeTokenEndpoint } from '../test/support/fake-token-endpoint.ts';
import { createAuthorizedFetch } from './authorized-fetch.ts';
import { TokenClient } from './token-client.ts';

let endpoint: FakeTokenEndpoint;
let tokens: TokenClient;

beforeEach(async () => {
  endpoint = await FakeTokenEndpoint.start();
  tokens = new TokenClient({ tokenUrl: endpoint.tokenUrl, clientId: 'int_client', clientSecret: 'lk_sec_x' });
});
afterEach(async () => {
  await endpoint.close();
});

describe('createAuthorizedFetch', () => {
  it('adds Authorization: Bearer and keeps the caller’s headers', async () => {
    const api = createAuthorizedFetch(tokens);
    const response = await api(`${endpoint.url}/api/templates`, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ token: 'tok_1', accept: 'application/json' });
    await api(`${endpoint.url}/api/templates`);
    expect(endpoint.tokenRequests).toHaveLength(1);
  });

  it('retries once with a fresh token after a 401', async () => {
    await tokens.getToken();
    endpoint.validTokens.clear(); // tok_1 is now refused, as if revoked or signed by a withdrawn key
    const api = createAuthorizedFetch(tokens);
    const response = await api(`${endpoint.url}/api/templates`, { method: 'POST', body: 'name=x' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ token: 'tok_2', method: 'POST', body: 'name=x' });
    expect(endpoint.apiRequests.map((request) => request.headers.authorization)).toEqual(['Bearer tok_1', 'Bearer tok_2']);
    expect(endpoint.tokenRequests).toHaveLength(2);
  });

  it('returns the second 401 instead of looping', async () => {
    endpoint.acceptIssued = false;
    const api = createAuthorizedFetch(tokens);
    const response = await api(`${endpoint.url}/api/templates`);
    expect(response.status).toBe(401);
    expect(endpoint.apiRequests).toHaveLength(2);
    expect(endpoint.tokenRequests).toHaveLength(2);
  });

  it('replays the body of a Request object on the retry', async () => {
    await tokens.getToken();
    endpoint.validTokens.clear();
    const api = createAuthorizedFetch(tokens);
    const request = new Request(`${endpoint.url}/api/projects`, {
      method: 'PUT',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json', accept: 'text/plain' },
    });
    const response = await api(request);
    expect(await response.json()).toMatchObject({ token: 'tok_2', method: 'PUT', body: '{"a":1}', accept: 'text/plain' });
  });

  it('does not retry a streamed body it cannot replay', async () => {
    await tokens.getToken();
    endpoint.validTokens.clear();
    const api = createAuthorizedFetch(tokens);
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('chunk'));
        controller.close();
      },
    });
    const response = await api(`${endpoint.url}/api/media`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(401);
    expect(endpoint.apiRequests).toHaveLength(1);
  });

  it('passes other statuses through untouched', async () => {
    const api = createAuthorizedFetch(tokens);
    const response = await api(`${endpoint.url}/api/forbidden`);
    expect(response.status).toBe(403);
    expect(endpoint.apiRequests).toHaveLength(1);
    expect(endpoint.tokenRequests).toHaveLength(1);
  });

  it('uses the fetch it is given', async () => {
    const seen: string[] = [];
    const api = createAuthorizedFetch(tokens, (input, init) => {
      seen.push(new Headers(init?.headers).get('authorization') ?? '');
      return fetch(input, init);
    });
    await api(`${endpoint.url}/api/templates`);
    expect(seen).toEqual(['Bearer tok_1']);
  });

  it('refuses something that is not a token client', () => {
    expect(() => createAuthorizedFetch({} as never)).toThrow(TypeError);
  });
});
