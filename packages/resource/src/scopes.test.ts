import { describe, expect, it } from 'vitest';
import { assertScopes, hasScopes, parseScope, validateScopes } from './scopes.ts';

describe('scopes', () => {
  it('parses a space-separated scope claim', () => {
    expect(parseScope(' a:read  b:write ')).toEqual(['a:read', 'b:write']);
    expect(parseScope('')).toEqual([]);
  });

  it('requires every scope, not a prefix or substring', () => {
    expect(hasScopes({ scope: 'templates:read templates:write' }, ['templates:write', 'templates:read'])).toBe(true);
    expect(hasScopes({ scope: 'templates:read' }, ['templates:read', 'templates:write'])).toBe(false);
    expect(hasScopes({ scope: 'templates:readwrite' }, ['templates:read'])).toBe(false);
    expect(() => assertScopes({ scope: 'a' }, ['b'])).toThrowError(expect.objectContaining({ code: 'ERR_INSUFFICIENT_SCOPE' }));
  });

  it('refuses an empty list or an invalid scope-token at declaration', () => {
    expect(() => validateScopes([])).toThrow(TypeError);
    expect(() => validateScopes(['a b'])).toThrow(TypeError);
    expect(() => validateScopes(['a"b'])).toThrow(TypeError);
    expect(validateScopes(['templates:read'])).toEqual(['templates:read']);
  });
});
