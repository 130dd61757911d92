import { describe, expect, it } from 'vitest';
import { open, seal } from './sealed-box.ts';

describe('sealed box', () => {
  const key = Buffer.alloc(32, 7);
  it('round-trips and hides the plaintext', () => {
    const sealed = seal(key, 'private jwk', 'ctx');
    expect(sealed).not.toContain('private');
    expect(open(key, sealed, 'ctx')).toBe('private jwk');
  });
  it('refuses another key, another context, or a flipped byte', () => {
    const sealed = seal(key, 'secret', 'ctx');
    expect(() => open(Buffer.alloc(32, 8), sealed, 'ctx')).toThrow();
    expect(() => open(key, sealed, 'other')).toThrow();
    const bytes = Buffer.from(sealed.slice(3), 'base64url');
    bytes[14] = bytes[14]! ^ 1;
    expect(() => open(key, 'v1.' + bytes.toString('base64url'), 'ctx')).toThrow();
  });
});
