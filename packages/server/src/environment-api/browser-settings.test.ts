import { describe, expect, it } from 'vitest';
import { EnvironmentAccessCache } from './browser-settings.ts';
import type { BrowserSettings } from './storage.ts';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('EnvironmentAccessCache', () => {
  it('loads once for concurrent callers, then answers from memory until invalidated or too old', async () => {
    let loads = 0;
    let now = 0;
    const cache = new EnvironmentAccessCache({ findBrowserSettings: async () => ({ allowedOrigins: [`https://v${++loads}.example`], allowWriteTokensInBrowser: false }) }, () => now, 1000);
    const [a, b] = await Promise.all([cache.find('demo'), cache.find('demo')]);
    expect(a).toBe(b);
    expect([...a!.allowedOrigins]).toEqual(['https://v1.example']);
    expect(loads).toBe(1);
    cache.invalidate('demo');
    expect([...(await cache.find('demo'))!.allowedOrigins]).toEqual(['https://v2.example']);
    now += 1000;
    expect([...(await cache.find('demo'))!.allowedOrigins]).toEqual(['https://v3.example']);
  });

  it('remembers unknown environments, and does not keep a load that an invalidation overtook', async () => {
    const pending = deferred<BrowserSettings | null>();
    let calls = 0;
    const cache = new EnvironmentAccessCache({ findBrowserSettings: () => (++calls === 1 ? pending.promise : Promise.resolve(null)) }, () => 0);
    const first = cache.find('demo');
    cache.invalidate('demo');
    pending.resolve({ allowedOrigins: ['https://stale.example'], allowWriteTokensInBrowser: true });
    expect((await first)?.allowWriteTokensInBrowser).toBe(true);
    expect(await cache.find('demo')).toBeNull();
    expect(await cache.find('demo')).toBeNull();
    expect(calls).toBe(2);
  });
});
