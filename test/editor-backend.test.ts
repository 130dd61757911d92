// examples/editor-backend against a real Latchkey (issue 16, point 5): one all-permissions
// integration, allowed to mint browser tokens; the page gets only a DPoP-bound, read-only browser
// token through the backend's POST /browser-token, loads fonts and media with it in Chromium (the
// built @latchkey/client/browser, served as ES modules), and projects are created by the backend
// with its own token. Also run as the README says. The attacks on the page's token are in
// browser-tokens.e2e.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createBrowserTokenSource } from '@latchkey/client/browser';
import { basicAuthorization, findFreePort, startTestLatchkey, TEST_CONTEXT, type TestLatchkey } from './support/latchkey.ts';
import { hasChromium, launchChromium } from './support/browser.ts';
import { cliEnvironment, REPO_ROOT } from './support/cli.ts';
import { setBrowserSettings } from '../packages/server/src/environment-api/index.ts';
import { createIntegration } from '../packages/server/src/platform/integrations.ts';
import { BROWSER_SCOPES, startEditorBackend, type Credentials, type EditorBackend } from '../examples/editor-backend/server.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const FONT_CANDIDATES = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf'];
const SCOPE = BROWSER_SCOPES.join(' ');

describe('examples/editor-backend', () => {
  let lk: TestLatchkey;
  let dataDir: string;
  let backend: EditorBackend;
  let credentials: Credentials;
  let templateId: string;

  /** Integrations are made through the domain, as the CLI's `integrations create --preset all [--browser-tokens]` does. */
  async function allPermissions(name: string, browserTokens: boolean): Promise<Credentials> {
    const created = await createIntegration(lk.server.runtime.platform, { environmentId: 'demo', name, grants: { 'environment-api': ALL }, browserTokens }, TEST_CONTEXT);
    return { clientId: created.integration.clientId, clientSecret: created.clientSecret };
  }

  /** What the page does, from Node: @latchkey/client/browser runs here too, with its own WebCrypto key. */
  function pageSource(backendUrl: string, scope?: string) {
    return createBrowserTokenSource({ backendUrl: `${backendUrl}/browser-token`, tokenEndpoint: `${lk.url}/oauth/token`, ...(scope === undefined ? {} : { scope }) });
  }

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-editor-'));
    lk = await startTestLatchkey({ dialect: 'sqlite', env: { LATCHKEY_DATA_DIR: dataDir } });
    credentials = await allPermissions('editor backend', true);

    const backendPort = await findFreePort();
    await setBrowserSettings(lk.server.runtime.platform, 'demo', { allowedOrigins: [`http://localhost:${backendPort}`] }, TEST_CONTEXT);

    // Content the editor shows, uploaded as an operator would (the integration's own token, server side).
    const response = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(credentials.clientId, credentials.clientSecret) });
    const token = ((await response.json()) as { access_token: string }).access_token;
    const put = async (kind: string, body: Buffer | string, contentType: string) => {
      const result = await fetch(`${lk.url}/api/v1/environments/demo/${kind}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) });
      expect(result.status).toBe(201);
      return ((await result.json()) as { id: string }).id;
    };
    const font = FONT_CANDIDATES.find((candidate) => fs.existsSync(candidate));
    if (font === undefined) throw new Error(`no TrueType font found (looked for ${FONT_CANDIDATES.join(', ')})`);
    await put('fonts?name=Brand', fs.readFileSync(font), 'font/ttf');
    await put('media?name=dot.png', PNG, 'image/png');
    templateId = await put('templates', JSON.stringify({ name: 'Business card', content: { size: '85x55' } }), 'application/json');

    backend = await startEditorBackend({ latchkeyUrl: lk.url, environmentId: 'demo', credentials, port: backendPort });
  });
  afterAll(async () => {
    await backend?.close();
    await lk?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('hands the page a read-only browser token bound to the page key, exchanged from the one integration', async () => {
    const page = pageSource(backend.url);
    const { accessToken, scope } = await page.getToken();
    expect(scope).toBe(SCOPE);
    expect(decodeJwt(accessToken)).toMatchObject({
      client_id: credentials.clientId,
      sub: credentials.clientId,
      act: { sub: credentials.clientId },
      browser: true,
      scope: SCOPE,
      environment: 'demo',
      cnf: { jkt: await page.thumbprint() },
    });
    // The page's fetch reads the environment's media with it.
    const media = await page.fetch(`${lk.url}/api/v1/environments/demo/media`);
    expect(media.status).toBe(200);
  });

  it('answers POST /browser-token with no-store, and refuses a request without a proof or asking for more than fonts and media', async () => {
    const proofless = await fetch(`${backend.url}/browser-token`, { method: 'POST' });
    expect(proofless.status).toBe(400);
    expect(proofless.headers.get('cache-control')).toBe('no-store');
    expect(await proofless.json()).toEqual({ error: 'invalid_dpop_proof', error_description: 'a DPoP header with a proof for the token endpoint is required' });

    // A page that asks for templates gets nothing: the handler offers fonts and media only.
    await expect(pageSource(backend.url, 'templates:read').getToken()).rejects.toMatchObject({ status: 400, error: 'invalid_scope', errorDescription: 'scope not offered to the page: templates:read' });

    // A proof signed for another URL than Latchkey's token endpoint is Latchkey's to refuse; the page hears why.
    const wrongEndpoint = createBrowserTokenSource({ backendUrl: `${backend.url}/browser-token`, tokenEndpoint: `${backend.url}/oauth/token` });
    await expect(wrongEndpoint.getToken()).rejects.toMatchObject({ status: 400, error: 'invalid_dpop_proof' });

    const notJson = await fetch(`${backend.url}/browser-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"scope":' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('tells the operator how to allow browser tokens when the integration may not mint them', async () => {
    const port = await findFreePort();
    const notAllowed = await startEditorBackend({ latchkeyUrl: lk.url, environmentId: 'demo', credentials: await allPermissions('editor backend, browser tokens off', false), port });
    try {
      const refusal = await pageSource(notAllowed.url).getToken().catch((error: unknown) => error);
      expect(refusal).toMatchObject({ status: 502, error: 'unauthorized_client' });
      expect((refusal as { errorDescription: string }).errorDescription).toMatch(/--browser-tokens/);
    } finally {
      await notAllowed.close();
    }
  });

  it('serves the modules of @latchkey/client/browser to the page, and nothing else', async () => {
    const entry = await fetch(`${backend.url}/latchkey-client/browser/index.js`);
    expect(entry.status).toBe(200);
    expect(entry.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await entry.text()).toContain("export { createBrowserTokenSource } from './token-source.js';");
    // Its imports, one directory up, are served too; the Node entry and everything else are not.
    expect((await fetch(`${backend.url}/latchkey-client/refreshing-cache.js`)).status).toBe(200);
    for (const other of ['index.js', 'token-client.js', 'browser/index.js.map', '%2e%2e/package.json', '..%2fpackage.json', 'browser/../../package.json']) {
      expect((await fetch(`${backend.url}/latchkey-client/${other}`)).status, other).toBe(404);
    }
  });

  it('creates a project from a template with the backend token, which owns it', async () => {
    const response = await fetch(`${backend.url}/api/projects`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ templateId, name: 'Card for Ada' }) });
    expect(response.status).toBe(201);
    const project = (await response.json()) as { templateId: string; owner: { clientId: string; name: string }; content: unknown };
    expect(project).toMatchObject({ templateId, owner: { clientId: credentials.clientId, name: 'editor backend' }, content: { size: '85x55' } });
    const refused = await fetch(`${backend.url}/api/projects`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(refused.status).toBe(415);
  });

  it.skipIf(!hasChromium())('runs in Chromium: fonts and media load with the bound browser token, and a project is created through the backend', async () => {
    const browser: Browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const requests: { url: string; authorization: string | undefined; dpop: string | undefined }[] = [];
      page.on('request', (request) => requests.push({ url: request.url(), authorization: request.headers().authorization, dpop: request.headers().dpop }));
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(`${backend.url}/`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
      expect(errors).toEqual([]);
      expect(await page.locator('#fonts .sample').count()).toBe(1);
      expect(await page.evaluate(() => [...document.fonts].filter((face) => face.status === 'loaded' && face.family.startsWith('font-')).length)).toBe(1);
      expect(await page.evaluate(() => [...document.querySelectorAll<HTMLImageElement>('#media img')].map((image) => image.naturalWidth))).toEqual([1]);
      expect(await page.textContent('#log')).toContain(`browser token: ${SCOPE}, bound to key `);

      await page.fill('#name', 'From the browser');
      await page.click('#create button');
      await page.waitForFunction(() => document.getElementById('created')?.dataset.projectId);
      expect(await page.textContent('#created')).toMatch(/^Created From the browser \(prj_\w+\), owned by editor backend$/);

      // The page asked the backend once, with a proof; every request it sent to Latchkey (list and
      // download of fonts and media) carried that one bound browser token and a proof of its own.
      expect(requests.filter((request) => request.url === `${backend.url}/browser-token`).map((request) => typeof request.dpop)).toEqual(['string']);
      const sent = requests.filter((request) => request.url.startsWith(lk.url));
      expect(sent).toHaveLength(4);
      const tokens = new Set(sent.map((request) => request.authorization));
      expect(tokens.size).toBe(1);
      const [authorization] = [...tokens];
      expect(authorization).toMatch(/^DPoP ey/);
      expect(decodeJwt(authorization!.slice('DPoP '.length))).toMatchObject({ client_id: credentials.clientId, browser: true, scope: SCOPE, cnf: { jkt: expect.any(String) } });
      expect(new Set(sent.map((request) => request.dpop)).size).toBe(4);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('starts as the README says (npx tsx examples/editor-backend/server.ts)', async () => {
    const port = await findFreePort();
    const tsx = path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const child: ChildProcess = spawn(process.execPath, [tsx, 'examples/editor-backend/server.ts'], {
      cwd: REPO_ROOT,
      env: cliEnvironment({ LATCHKEY_ISSUER: lk.url, LATCHKEY_CLIENT_ID: credentials.clientId, LATCHKEY_CLIENT_SECRET: credentials.clientSecret, PORT: String(port) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let output = '';
        child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          output += chunk;
          if (output.includes('\n')) resolve(output);
        });
        child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
      });
      expect(line).toBe(`Editor backend at http://localhost:${port} (allow this origin in Latchkey: npx latchkey environments set-browser-origins <env> http://localhost:${port})\n`);
      const { scope } = await pageSource(`http://127.0.0.1:${port}`).getToken();
      expect(scope).toBe(SCOPE);
    } finally {
      child.kill();
    }
  }, 120_000);

  it('stops with one line naming a missing variable', async () => {
    const tsx = path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const child = spawn(process.execPath, [tsx, 'examples/editor-backend/server.ts'], { cwd: REPO_ROOT, env: cliEnvironment({ LATCHKEY_CLIENT_ID: credentials.clientId }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ code, stderr }).toEqual({ code: 1, stderr: 'editor-backend: LATCHKEY_CLIENT_SECRET is not set (see examples/editor-backend/README.md)\n' });
  }, 60_000);
});
