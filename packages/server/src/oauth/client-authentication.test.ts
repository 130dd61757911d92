import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { extractCredentials } from './client-authentication.ts';
import { InvalidRequest } from './errors.ts';

const basic = (id: string, secret: string) => {
  const encode = (text: string) => new URLSearchParams({ v: text }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
};

describe('extractCredentials (RFC 6749 §2.3.1)', () => {
  it('decodes the checklist vector', () => {
    const credentials = extractCredentials('Basic NzgzNjY0MDE1NzE5MjA1MjIlNDBhbWNlOnZlcnl3ZWFrc2VjcmV0JTIx', new Map());
    expect(credentials).toEqual({ clientId: '78366401571920522@amce', clientSecret: 'veryweaksecret!', method: 'client_secret_basic' });
  });

  it('round-trips secrets with colon, plus, percent and space', () => {
    for (const secret of ['a:b', 'a+b', '100%', 'with space', ':+% ']) {
      expect(extractCredentials(basic('client', secret), new Map()).clientSecret).toBe(secret);
    }
  });

  it('round-trips any printable id and secret', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (id, secret) => {
        const credentials = extractCredentials(basic(id, secret), new Map());
        return credentials.clientId === id && credentials.clientSecret === secret;
      }),
    );
  });

  it('refuses a badly encoded header with invalid_request', () => {
    for (const header of ['Basic !!!', 'Basic ' + Buffer.from('no-colon').toString('base64'), 'Basic ' + Buffer.from('%zz:secret').toString('base64'), 'Bearer abc']) {
      expect(() => extractCredentials(header, new Map())).toThrow(InvalidRequest);
    }
  });

  it('refuses trailing data after the base64, a stray character, and the base64url alphabet', () => {
    const valid = basic('lkc_abc', 'lks_x');
    const encoded = valid.slice('Basic '.length);
    expect(encoded).toMatch(/=$/);
    for (const header of [`${valid}AAAA`, `${valid}A`, `Basic ${encoded.replace(/=+$/, '')}A`, `Basic ${encoded.replace(/=+$/, '')}=A`, `Basic ${Buffer.from('a:b>>>').toString('base64url')}`]) {
      expect(() => extractCredentials(header, new Map()), header).toThrow(InvalidRequest);
    }
    // Padding may be left out, as many encoders do.
    expect(extractCredentials(`Basic ${encoded.replace(/=+$/, '')}`, new Map()).clientSecret).toBe('lks_x');
  });

  it('refuses decoded bytes that are not printable ASCII (id and secret must be form-urlencoded)', () => {
    for (const raw of [Buffer.from('clïent:secret', 'utf8'), Buffer.from([0x61, 0x3a, 0xff]), Buffer.from('a:b\u0000c'), Buffer.from('a:b\tc')]) {
      expect(() => extractCredentials(`Basic ${raw.toString('base64')}`, new Map())).toThrow(/not printable ASCII/);
    }
    // Encoded, the same characters are fine.
    expect(extractCredentials(basic('clïent', 'sécret'), new Map())).toMatchObject({ clientId: 'clïent', clientSecret: 'sécret' });
  });

  it('takes client_secret_post from the body and requires both fields', () => {
    expect(extractCredentials(undefined, new Map([['client_id', 'a'], ['client_secret', 'b']]))).toEqual({ clientId: 'a', clientSecret: 'b', method: 'client_secret_post' });
    expect(() => extractCredentials(undefined, new Map([['client_id', 'a']]))).toThrow(/client_secret is missing/);
    expect(() => extractCredentials(undefined, new Map())).toThrow(/client_id is missing/);
  });
});
