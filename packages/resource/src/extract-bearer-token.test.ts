import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessTokenError } from './errors.ts';
import { assertNoQueryToken, extractBearerToken } from './extract-bearer-token.ts';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof AccessTokenError) return error.code;
    throw error;
  }
  return undefined;
}

describe('extractBearerToken (RFC 6750 §2.1)', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc', 'abc'],
    ['BEARER abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
    ['Bearer a-b_c~d+e/f==', 'a-b_c~d+e/f=='],
  ])('reads %j', (header, token) => {
    expect(extractBearerToken(header)).toBe(token);
  });

  it.each([undefined, null, '', '   ', 'Basic YTpi', 'Digest x', 'Bearerabc', 'Token abc'])(
    'treats %j as no bearer token (401 without error code)',
    (header) => {
      expect(codeOf(() => extractBearerToken(header))).toBe('ERR_TOKEN_MISSING');
    },
  );

  it.each(['Bearer', 'Bearer ', 'Bearer a b', 'Bearer a,b', 'Bearer "abc"', 'Bearer a=b', 'Bearer\tabc'])(
    'refuses %j as malformed (400 invalid_request)',
    (header) => {
      expect(codeOf(() => extractBearerToken(header))).toBe('ERR_TOKEN_MALFORMED');
    },
  );

  it('takes a one-element list and refuses several headers', () => {
    expect(extractBearerToken(['Bearer abc'])).toBe('abc');
    expect(codeOf(() => extractBearerToken(['Bearer abc', 'Bearer def']))).toBe('ERR_TOKEN_MALFORMED');
  });

  it('names the realm in the challenge', () => {
    try {
      extractBearerToken(undefined, 'environment-api');
      expect.unreachable();
    } catch (error) {
      expect((error as AccessTokenError).wwwAuthenticate).toBe('Bearer realm="environment-api"');
    }
  });

  it('round-trips every b64token', () => {
    const b64token = fc.stringMatching(/^[A-Za-z0-9\-._~+/]+=*$/);
    fc.assert(
      fc.property(b64token, fc.constantFrom('Bearer', 'bearer', 'BeArEr'), (token, scheme) => {
        expect(extractBearerToken(`${scheme} ${token}`)).toBe(token);
      }),
    );
  });

  it('throws TypeError for a non-string header', () => {
    expect(() => extractBearerToken(42 as unknown as string)).toThrow(TypeError);
  });
});

describe('assertNoQueryToken (RFC 6750 §2.3 refused)', () => {
  it.each(['/a?access_token=x', '/a?b=1&access_token=', '/a?access%5Ftoken=x', '/a?access_token'])('refuses %j', (url) => {
    expect(codeOf(() => assertNoQueryToken(url))).toBe('ERR_TOKEN_IN_QUERY');
  });

  it.each(['/a', '/a?', '/a?token=x', '/a?my_access_token=x', '/access_token', '/a#access_token=x'])('allows %j', (url) => {
    expect(codeOf(() => assertNoQueryToken(url))).toBeUndefined();
  });
});
