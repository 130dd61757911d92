import { describe, expect, it } from 'vitest';
import { buildBrowserTokenBackend, buildBrowserTokenPage } from './browser-token-snippets.ts';

// test/console.e2e.test.ts checks the example as the page shows it (filled from a real server, and
// parsed by node --check); these check what a test server's plain values never exercise.
describe('browser-token example', () => {
  const input = { issuer: 'https://auth.example.com/', tokenUrl: 'https://auth.example.com/oauth/token', clientId: 'lkc_abc', audience: 'https://auth.example.com/environment-api', environmentId: 'demo' };

  it('fills the backend with the Client ID, token URL and audience, and reads the secret from the environment', () => {
    const text = buildBrowserTokenBackend(input);
    expect(text).toContain('clientId: "lkc_abc",');
    expect(text).toContain('tokenUrl: "https://auth.example.com/oauth/token",');
    expect(text).toContain('audience: "https://auth.example.com/environment-api",');
    expect(text).toContain('clientSecret: process.env.LATCHKEY_CLIENT_SECRET,');
    expect(text).toContain('browserTokenHandler(tokens)');
  });

  it('points the page at the token endpoint and at the Environment API under the issuer (no double slash)', () => {
    const text = buildBrowserTokenPage(input);
    expect(text).toContain('tokenEndpoint: "https://auth.example.com/oauth/token",');
    expect(text).toContain('latchkey.fetch("https://auth.example.com/api/v1/environments/demo/fonts")');
  });

  it('quotes values as JavaScript string literals', () => {
    expect(buildBrowserTokenBackend({ ...input, clientId: 'a"b\\c' })).toContain('clientId: "a\\"b\\\\c",');
  });
});
