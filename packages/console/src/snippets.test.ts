import { describe, expect, it } from 'vitest';
import { buildSnippet, SNIPPET_LANGUAGES } from './snippets.ts';

// The snippets are run for real against a server by test/console.e2e.test.ts; these check the
// quoting that a test server's plain URLs never exercise.
describe('token request snippets', () => {
  const input = { tokenUrl: 'https://auth.example.com/oauth/token', clientId: 'lkc_abc', audience: "https://api.example.com/it's" };

  it('fill in the token URL, Client ID and audience, and never contain a secret', () => {
    for (const { id } of SNIPPET_LANGUAGES) {
      const text = buildSnippet(id, input);
      expect(text).toContain('https://auth.example.com/oauth/token');
      expect(text).toContain('lkc_abc');
      expect(text).toContain('LATCHKEY_CLIENT_SECRET');
      expect(text).toContain('<YOUR CLIENT SECRET>');
    }
  });

  it('quote a single quote for the shell and a double quote for JSON-like literals', () => {
    expect(buildSnippet('curl', input)).toContain(`--data-urlencode 'audience=https://api.example.com/it'\\''s'`);
    expect(buildSnippet('node', { ...input, audience: 'a"b' })).toContain('audience: "a\\"b",');
  });
});
