// The browser guard (issue 5, point 3): CORS for GET of media and fonts from the origins an
// environment allows, and the seed's rule made behaviour — a browser request (it has an Origin)
// whose token can write is refused, whatever the CORS settings, unless the environment relaxes it.
// First over HTTP on both dialects, then in a real Chromium.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, findFreePort, startTestLatchkey, TEST_CONTEXT, type TestLatchkey } from './support/latchkey.ts';
import { normalizeOrigin, setBrowserSettings, getBrowserSettings } from '../packages/server/src/environment-api/index.ts';
import { PlatformError } from '../packages/server/src/platform/errors.ts';
import { TEST_MASTER_KEY } from './support/latchkey.ts';
import { describeRun, runCli } from './support/cli.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];
const READ_ONLY = ALL.filter((scope) => scope.endsWith(':read'));
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const RULE = 'tokens with write permissions must never reach the front-end; use a read-only integration for the browser';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const FONT_CANDIDATES = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf'];

async function tokenOf(lk: TestLatchkey, grants: string[], environmentId = 'demo'): Promise<string> {
  const { integration, clientSecret } = await lk.createIntegration({ environmentId, grants: { 'environment-api': grants } });
  const response = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(integration.clientId, clientSecret) });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function upload(lk: TestLatchkey, token: string, kind: 'media' | 'fonts', bytes: Buffer, contentType: string): Promise<string> {
  const response = await fetch(`${lk.url}/api/v1/environments/demo/${kind}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body: new Uint8Array(bytes) });
  const body = (await response.json()) as { id: string };
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body.id;
}

describe('allowed origins', () => {
  it('are normalised to what browsers send and refuse paths, wildcards and other schemes', () => {
    expect(normalizeOrigin('https://Editor.Example.com:443')).toBe('https://editor.example.com');
    expect(normalizeOrigin('http://127.0.0.1:5173/')).toBe('http://127.0.0.1:5173');
    for (const bad of ['https://example.com/editor', '*', 'https://*.example.com', 'ftp://example.com', 'example.com', 'https://user@example.com']) {
      expect(() => normalizeOrigin(bad), bad).toThrow(PlatformError);
    }
  });
});

describe.each(DIALECTS)('browser guard over HTTP (%s)', (dialect) => {
  let lk: TestLatchkey;
  let dataDir: string;
  let readToken: string;
  let allToken: string;
  let imageId: string;
  const allowed = 'https://editor.example.com';

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-guard-'));
    lk = await startTestLatchkey({ dialect, env: { LATCHKEY_DATA_DIR: dataDir } });
    readToken = await tokenOf(lk, READ_ONLY);
    allToken = await tokenOf(lk, ALL);
    // Before the first API request, so no server cache predates it (changes arrive through the change feed).
    await setBrowserSettings(lk.server.runtime.platform, 'demo', { allowedOrigins: [allowed] }, TEST_CONTEXT);
    imageId = await upload(lk, allToken, 'media', PNG, 'image/png');
  });
  afterAll(async () => {
    await lk?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const url = (rest: string) => `${lk.url}/api/v1/environments/demo/${rest}`;
  const get = (rest: string, token: string, origin?: string, method = 'GET') =>
    fetch(url(rest), { method, headers: { authorization: `Bearer ${token}`, ...(origin === undefined ? {} : { origin }) } });

  it('stores the settings, read-only in the browser by default', async () => {
    expect(await getBrowserSettings(lk.server.runtime.platform, 'demo')).toEqual({ allowedOrigins: [allowed], allowWriteTokensInBrowser: false });
    expect(await getBrowserSettings(lk.server.runtime.platform, 'other-env').catch((error: PlatformError) => error.code)).toBe('environment_not_found');
  });

  it('answers GET of media and fonts from an allowed origin with CORS headers', async () => {
    for (const rest of ['media', `media/${imageId}`, 'fonts']) {
      const response = await get(rest, readToken, allowed);
      expect(response.status, rest).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(allowed);
      expect(response.headers.get('access-control-expose-headers')).toBe('ETag, Content-Length, Content-Type, WWW-Authenticate');
      expect(response.headers.get('vary')).toContain('Origin');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      await response.arrayBuffer();
    }
  });

  it('sends no CORS headers to other origins, nor on templates and projects', async () => {
    const stranger = await get('media', readToken, 'https://evil.example');
    expect(stranger.status).toBe(200);
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
    expect(stranger.headers.get('vary')).toContain('Origin');
    const templates = await get('templates', readToken, allowed);
    expect(templates.status).toBe(200);
    expect(templates.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets the page read a 401 (CORS headers before authentication)', async () => {
    const response = await fetch(url('media'), { headers: { origin: allowed } });
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe(allowed);
  });

  it('answers preflights for allowed origins, and refuses others', async () => {
    const preflight = (origin: string, rest = `media/${imageId}`, environmentId = 'demo') =>
      fetch(`${lk.url}/api/v1/environments/${environmentId}/${rest}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
    const ok = await preflight(allowed);
    expect(ok.status).toBe(204);
    expect(Object.fromEntries([...ok.headers].filter(([name]) => name.startsWith('access-control-')))).toEqual({
      'access-control-allow-origin': allowed,
      'access-control-allow-methods': 'GET, HEAD',
      'access-control-allow-headers': 'Authorization, DPoP, If-None-Match',
      'access-control-max-age': '600',
    });
    const fonts = await preflight(allowed, 'fonts');
    expect(fonts.status).toBe(204);
    const refused = await preflight('https://evil.example');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('origin_not_allowed');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    // An environment that does not exist allows no origin: the same answer as a refused origin, so
    // a preflight (which carries no credentials) cannot tell which environments exist.
    await lk.createEnvironment('no-browser-origins');
    const missing = await preflight(allowed, 'media', 'no-such-env');
    const existing = await preflight(allowed, 'media', 'no-browser-origins');
    expect(missing.status).toBe(403);
    expect(existing.status).toBe(403);
    expect(await missing.text()).toBe(await existing.text());
    expect([...missing.headers].filter(([name]) => name !== 'date')).toEqual([...existing.headers].filter(([name]) => name !== 'date'));
  });

  it('refuses a write token from a browser on every route and method, whatever the origin', async () => {
    for (const origin of [allowed, 'https://evil.example', 'null']) {
      for (const [method, rest] of [['GET', 'media'], ['GET', `media/${imageId}`], ['GET', 'fonts'], ['GET', 'templates'], ['POST', 'projects'], ['DELETE', `media/${imageId}`]] as const) {
        const response = await get(rest, allToken, origin, method);
        expect(response.status, `${method} ${rest} from ${origin}`).toBe(403);
        const body = (await response.json()) as { code: string; detail: string };
        expect(body.code).toBe('write_token_in_browser');
        expect(body.detail).toContain(RULE);
        expect(body.detail).toContain('media:write');
      }
    }
    // The refusal is readable by an allowed page, so the developer sees why.
    const readable = await get('media', allToken, allowed);
    expect(readable.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(readable.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('refuses a token with a single write scope too, and accepts the same token from a backend (no Origin)', async () => {
    const mediaWriter = await tokenOf(lk, ['media:read', 'media:write']);
    expect((await get('media', mediaWriter, allowed)).status).toBe(403);
    expect((await get('media', mediaWriter)).status).toBe(200);
    expect((await get('media', allToken)).status).toBe(200);
  });

  it('can be relaxed per environment, and the change reaches the running server', async () => {
    await setBrowserSettings(lk.server.runtime.platform, 'demo', { allowWriteTokensInBrowser: true }, TEST_CONTEXT);
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await get('media', allToken, allowed)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(200);
    // Origins were kept; setting the rule back restores the refusal.
    expect((await getBrowserSettings(lk.server.runtime.platform, 'demo')).allowedOrigins).toEqual([allowed]);
    await setBrowserSettings(lk.server.runtime.platform, 'demo', { allowWriteTokensInBrowser: false }, TEST_CONTEXT);
    for (let i = 0; i < 50 && status !== 403; i++) {
      status = (await get('media', allToken, allowed)).status;
      if (status !== 403) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(403);
  });

  it('is set by `latchkey environments set-browser-origins`, and the running server follows', async () => {
    const cliEnv = { LATCHKEY_DATABASE_URL: lk.testDatabase.url, LATCHKEY_MASTER_KEY: TEST_MASTER_KEY, LATCHKEY_DATA_DIR: dataDir };
    const [set, bad] = await Promise.all([
      runCli(['environments', 'set-browser-origins', 'demo', 'https://cli.example', 'https://Other.example:443', '--json'], cliEnv),
      runCli(['environments', 'set-browser-origins', 'demo', 'https://cli.example/editor'], cliEnv),
    ]);
    expect(set.code, describeRun(set)).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ environmentId: 'demo', allowedOrigins: ['https://cli.example', 'https://other.example'], allowWriteTokensInBrowser: false });
    expect(bad.code, describeRun(bad)).toBe(2);
    expect(bad.stderr).toBe("latchkey: error: origin 'https://cli.example/editor' must be scheme://host[:port] only, without a path, query or credentials\n");
    let allowedOrigin: string | null = null;
    const deadline = Date.now() + 2000;
    while (allowedOrigin === null && Date.now() < deadline) {
      allowedOrigin = (await get('media', readToken, 'https://cli.example')).headers.get('access-control-allow-origin');
      if (allowedOrigin === null) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(allowedOrigin).toBe('https://cli.example');
    expect((await get('media', readToken, allowed)).headers.get('access-control-allow-origin')).toBeNull();
    const cleared = await runCli(['environments', 'set-browser-origins', 'demo'], cliEnv);
    expect(cleared.code, describeRun(cleared)).toBe(0);
    expect(cleared.stdout).toContain('no origin may load media and fonts from a browser');
  }, 120_000);
});

/** The page an editor would be: it loads a font and an image from the Environment API with the token it was given. */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>editor</title></head>
<body>
<p id="sample">The quick brown fox</p>
<script>
  async function loadAssets(apiBase, token, fontId, imageId) {
    const result = {};
    const headers = { authorization: 'Bearer ' + token };
    try {
      const fontResponse = await fetch(apiBase + '/fonts/' + fontId, { headers });
      result.fontStatus = fontResponse.status;
      if (fontResponse.ok) {
        const face = new FontFace('BrandFont', await fontResponse.arrayBuffer());
        await face.load();
        document.fonts.add(face);
        document.getElementById('sample').style.fontFamily = 'BrandFont';
        result.fontLoaded = document.fonts.check('16px BrandFont');
      } else {
        result.fontProblem = await fontResponse.json();
      }
    } catch (error) {
      result.fontError = String(error);
    }
    try {
      const imageResponse = await fetch(apiBase + '/media/' + imageId, { headers });
      result.imageStatus = imageResponse.status;
      result.imageEtag = imageResponse.headers.get('etag');
      if (imageResponse.ok) {
        const image = new Image();
        image.src = URL.createObjectURL(await imageResponse.blob());
        await image.decode();
        document.body.appendChild(image);
        result.imageWidth = image.naturalWidth;
      } else {
        result.imageProblem = await imageResponse.json();
      }
    } catch (error) {
      result.imageError = String(error);
    }
    return result;
  }
</script>
</body></html>`;

describe('browser guard in Chromium', () => {
  let lk: TestLatchkey;
  let dataDir: string;
  let browser: Browser;
  let pageServer: http.Server;
  let pagePort: number;
  let readToken: string;
  let allToken: string;
  let fontId: string;
  let imageId: string;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it (apt-get install -y chromium) to run the browser tests`);
    const font = FONT_CANDIDATES.find((candidate) => fs.existsSync(candidate));
    if (font === undefined) throw new Error(`no TrueType font found (looked for ${FONT_CANDIDATES.join(', ')}); install fonts-dejavu-core`);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-chromium-'));
    lk = await startTestLatchkey({ dialect: 'sqlite', env: { LATCHKEY_DATA_DIR: dataDir } });
    readToken = await tokenOf(lk, READ_ONLY);
    allToken = await tokenOf(lk, ALL);

    // The page is served from a second loopback origin: another port is another origin.
    pagePort = await findFreePort();
    pageServer = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE));
    await new Promise<void>((resolve) => pageServer.listen(pagePort, '127.0.0.1', resolve));
    await setBrowserSettings(lk.server.runtime.platform, 'demo', { allowedOrigins: [`http://127.0.0.1:${pagePort}`] }, TEST_CONTEXT);
    fontId = await upload(lk, allToken, 'fonts', fs.readFileSync(font), 'font/ttf');
    imageId = await upload(lk, allToken, 'media', PNG, 'image/png');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => pageServer?.close(resolve));
    await lk?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function loadInPage(pageOrigin: string, token: string): Promise<Record<string, unknown>> {
    const page = await browser.newPage();
    try {
      await page.goto(`${pageOrigin}/editor`);
      return await page.evaluate(
        ([apiBase, pageToken, font, image]) => (window as unknown as { loadAssets: (...args: string[]) => Promise<Record<string, unknown>> }).loadAssets(apiBase!, pageToken!, font!, image!),
        [`${lk.url}/api/v1/environments/demo`, token, fontId, imageId],
      );
    } finally {
      await page.close();
    }
  }

  it('loads a font (FontFace) and an image with a read-only token', async () => {
    const result = await loadInPage(`http://127.0.0.1:${pagePort}`, readToken);
    expect(result).toMatchObject({ fontStatus: 200, fontLoaded: true, imageStatus: 200, imageWidth: 1 });
    expect(result.imageEtag).toMatch(/^"[0-9a-f]{64}"$/);
  });

  it('refuses the same page with an all-permissions token, and the page can read why', async () => {
    const result = await loadInPage(`http://127.0.0.1:${pagePort}`, allToken);
    expect(result.fontStatus).toBe(403);
    expect(result.fontLoaded).toBeUndefined();
    expect(result.imageStatus).toBe(403);
    expect(result.imageWidth).toBeUndefined();
    expect(result.fontProblem).toMatchObject({ code: 'write_token_in_browser', status: 403 });
    expect((result.imageProblem as { detail: string }).detail).toContain(RULE);
  });

  it('blocks a page on an origin the environment does not allow (CORS)', async () => {
    // localhost and 127.0.0.1 are different origins; only the latter is allowed.
    const result = await loadInPage(`http://localhost:${pagePort}`, readToken);
    expect(result.fontError).toMatch(/TypeError/);
    expect(result.imageError).toMatch(/TypeError/);
    expect(result.fontLoaded).toBeUndefined();
  });
});
