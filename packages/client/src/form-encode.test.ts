import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { basicAuthorization, formUrlEncode } from './form-encode.ts';

describe('formUrlEncode (RFC 6749 Appendix B)', () => {
  it.each([
    ['78366401571920522@amce', '78366401571920522%40amce'],
    ['veryweaksecret!', 'veryweaksecret%21'],
    ["!'()*", '%21%27%28%29%2A'],
    ['a b', 'a+b'],
    ['a+b', 'a%2Bb'],
    ['a:b%c', 'a%3Ab%25c'],
    ['é', '%C3%A9'],
    ['-._~', '-._~'],
  ])('encodes %j as %j', (value, encoded) => {
    expect(formUrlEncode(value)).toBe(encoded);
  });

  it('decodes back with the standard form decoder', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (value) => {
        expect(new URLSearchParams(`v=${formUrlEncode(value)}`).get('v')).toBe(value);
      }),
    );
  });

  it('refuses a lone surrogate with a TypeError', () => {
    expect(() => formUrlEncode('\uD800')).toThrow(TypeError);
  });
});

describe('basicAuthorization (RFC 6749 §2.3.1)', () => {
  it('matches the known vector', () => {
    expect(basicAuthorization('78366401571920522@amce', 'veryweaksecret!')).toBe(
      'Basic NzgzNjY0MDE1NzE5MjA1MjIlNDBhbWNlOnZlcnl3ZWFrc2VjcmV0JTIx',
    );
  });
});
