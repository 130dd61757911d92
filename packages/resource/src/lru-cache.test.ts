import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.ts';

describe('LruCache', () => {
  it('evicts the least recently used entry', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('never grows past its bound', () => {
    const cache = new LruCache<number, number>(10);
    for (let i = 0; i < 1000; i += 1) cache.set(i, i);
    expect(cache.size).toBe(10);
    expect(cache.get(999)).toBe(999);
  });

  it('holds nothing with size 0 and refuses a bad size', () => {
    const cache = new LruCache<string, number>(0);
    cache.set('a', 1);
    expect(cache.get('a')).toBeUndefined();
    expect(() => new LruCache(-1)).toThrow(TypeError);
  });
});
