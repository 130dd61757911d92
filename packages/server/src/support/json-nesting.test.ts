import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isJsonNestedDeeperThan, MAX_JSON_DEPTH } from './json-nesting.ts';

/** The nesting depth of a parsed value, computed the obvious way. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe('isJsonNestedDeeperThan', () => {
  it('counts arrays and objects, not brackets inside strings or escaped quotes', () => {
    expect(isJsonNestedDeeperThan('{"a":[1,{"b":2}]}', 2)).toBe(true);
    expect(isJsonNestedDeeperThan('{"a":[1,{"b":2}]}', 3)).toBe(false);
    expect(isJsonNestedDeeperThan('{"a":"[[[[{{{{\\"[[[["}', 1)).toBe(false);
    expect(isJsonNestedDeeperThan('"\\\\"', 0)).toBe(false);
  });

  it('refuses 5,000 levels without recursion, and accepts the limit exactly', () => {
    expect(isJsonNestedDeeperThan(`${'['.repeat(5000)}${']'.repeat(5000)}`)).toBe(true);
    expect(isJsonNestedDeeperThan(`${'{"a":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}`)).toBe(false);
    expect(isJsonNestedDeeperThan(`${'{"a":'.repeat(MAX_JSON_DEPTH + 1)}1${'}'.repeat(MAX_JSON_DEPTH + 1)}`)).toBe(true);
  });

  it('agrees with the depth of the parsed value for any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (value, max) => {
        const text = JSON.stringify(value);
        return isJsonNestedDeeperThan(text, max) === depthOf(value) > max;
      }),
    );
  });

  it('never throws on text that is not JSON', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => typeof isJsonNestedDeeperThan(text) === 'boolean'));
  });
});
