import { describe, expect, it } from 'vitest';
import { AccessTokenError } from './errors.ts';
import { extractAuthorization } from './extract-authorization.ts';

function refusal(header: unknown): AccessTokenError {
  try {
    extractAuthorization(header as string);
  } catch (error) {
    if (error instanceof AccessTokenError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('extractAuthorization (RFC 6750 §2.1, RFC 9449 §7.1)', () => {
  it.each([
    ['Bearer abc.def', 'Bearer', 'abc.def'],
    ['bearer abc', 'Bearer', 'abc'],
    ['DPoP abc.def-_~+/=', 'DPoP', 'abc.def-_~+/='],
    ['dpop abc', 'DPoP', 'abc'],
    ['DPOP  abc ', 'DPoP', 'abc'],
    [['DPoP abc'], 'DPoP', 'abc'],
  ])('%j -> %s %s', (header, scheme, token) => {
    expect(extractAuthorization(header as string)).toEqual({ scheme, token });
  });

  it('treats no header and other schemes as no credentials', () => {
    for (const header of [undefined, null, '', '  ', 'Basic abc', 'DPoPx abc', 'Bearerabc']) {
      expect(refusal(header).code).toBe('ERR_TOKEN_MISSING');
    }
  });

  it('refuses DPoP or Bearer without exactly one token, and repeated headers', () => {
    for (const header of ['DPoP', 'DPoP a b', 'DPoP a"b', 'Bearer', 'Bearer a b']) {
      expect(refusal(header).code, header).toBe('ERR_TOKEN_MALFORMED');
    }
    expect(refusal('DPoP a b').errorDescription).toMatch(/DPoP followed by exactly one token/);
    expect(refusal(['DPoP a', 'DPoP b']).code).toBe('ERR_TOKEN_MALFORMED');
    expect(() => extractAuthorization(42 as unknown as string)).toThrow(TypeError);
  });
});
