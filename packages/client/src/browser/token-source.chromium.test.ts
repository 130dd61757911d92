import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../../../../test/support/browser.ts';
import { DpopApp, TOKEN_ENDPOINT } from '../../test/support/dpop-app.ts';

// The published JavaScript of @latchkey/client/browser (dist/, built here from the sources) in a
// real Chromium: a page on loopback (a secure context) loads it as an ES module, and the stand-in
// backend and resource check what it sends with jose and verifyDpopProof.

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));
const TSC = fileURLToPath(new URL('../../../../node_modules/typescript/bin/tsc', import.meta.url));

let browser: Browser;
let app: DpopApp;
let page: Page;

describe.skipIf(!hasChromium())('@latchkey/client/browser in Chromium', () => {
  beforeAll(async () => {
    await run(process.execPath, [TSC, '-b', 'tsconfig.build.json'], { cwd: PACKAGE });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    app = await DpopApp.start();
    app.staticDir = `${PACKAGE}dist`;
    page = await browser.newPage();
    await page.goto(`${app.url}/`);
    // Keep the key pair the module makes, to show the page cannot export its private half.
    await page.evaluate(() => {
      const subtle = globalThis.crypto.subtle;
      const generateKey = subtle.generateKey.bind(subtle);
      subtle.generateKey = (async (...args: Parameters<SubtleCrypto['generateKey']>) => {
        const made = await generateKey(...args);
        (globalThis as { madeKeys?: unknown[] }).madeKeys = [...((globalThis as { madeKeys?: unknown[] }).madeKeys ?? []), made];
        return made;
      }) as SubtleCrypto['generateKey'];
    });
    // Loaded by the page as an ES module, as an app's bundle or <script type="module"> would.
    await page.addScriptTag({ type: 'module', content: "import * as browser from '/static/browser/index.js'; globalThis.latchkeyBrowser = browser;" });
    await page.waitForFunction(() => 'latchkeyBrowser' in globalThis);
  });
  afterEach(async () => {
    await page?.close();
    await app?.close();
  });

  it('gets a bound token through the backend and signs every request with a non-extractable key', async () => {
    const seen = await page.evaluate(async (tokenEndpoint) => {
      const { createBrowserTokenSource } = (globalThis as unknown as { latchkeyBrowser: typeof import('./index.ts') }).latchkeyBrowser;
      const source = createBrowserTokenSource({ backendUrl: '/browser-token', tokenEndpoint, scope: 'fonts:read' });
      const fonts = await source.fetch('/api/fonts?page=2#list');
      const media = await source.fetch('/api/media/m1', { method: 'delete' });
      const pair = ((globalThis as { madeKeys?: CryptoKeyPair[] }).madeKeys ?? [])[0]!;
      const exported = await crypto.subtle.exportKey('jwk', pair.privateKey).then(() => 'exported', (error: Error) => error.name);
      return {
        secure: isSecureContext,
        statuses: [fonts.status, media.status],
        keys: ((globalThis as { madeKeys?: unknown[] }).madeKeys ?? []).length,
        extractable: pair.privateKey.extractable,
        exported,
        thumbprint: await source.thumbprint(),
      };
    }, TOKEN_ENDPOINT);

    expect(seen).toEqual({ secure: true, statuses: [200, 200], keys: 1, extractable: false, exported: 'InvalidAccessError', thumbprint: app.backendProofs[0]?.jkt });
    expect(app.backendProofs.map(({ htm, htu }) => ({ htm, htu }))).toEqual([{ htm: 'POST', htu: TOKEN_ENDPOINT }]);
    expect(JSON.parse(String(app.backendRequests[0]?.body))).toEqual({ scope: 'fonts:read' });
    expect(app.apiProofs.map(({ htm, htu, jkt }) => ({ htm, htu, jkt }))).toEqual([
      { htm: 'GET', htu: `${app.url}/api/fonts`, jkt: seen.thumbprint },
      { htm: 'DELETE', htu: `${app.url}/api/media/m1`, jkt: seen.thumbprint },
    ]);
    expect(app.apiRequests.map((request) => request.headers.authorization)).toEqual(['DPoP btok_1', 'DPoP btok_1']);
  });

  it('gets a new token and repeats the request once after a 401 invalid_token', async () => {
    await page.evaluate(async (tokenEndpoint) => {
      const { createBrowserTokenSource } = (globalThis as unknown as { latchkeyBrowser: typeof import('./index.ts') }).latchkeyBrowser;
      (globalThis as { source?: unknown }).source = createBrowserTokenSource({ backendUrl: '/browser-token', tokenEndpoint });
      await (globalThis as unknown as { source: { getToken(): Promise<unknown> } }).source.getToken();
    }, TOKEN_ENDPOINT);
    app.tokens.get('btok_1')!.revoked = true;
    const answer = await page.evaluate(async () => {
      const response = await (globalThis as unknown as { source: { fetch(url: string, init?: RequestInit): Promise<Response> } }).source.fetch('/api/templates', { method: 'POST', body: 'doc' });
      return { status: response.status, body: (await response.json()) as unknown };
    });
    expect(answer).toEqual({ status: 200, body: { token: 'btok_2', method: 'POST', body: 'doc', accept: expect.anything() } });
    expect(app.backendRequests).toHaveLength(2);
  });
});
