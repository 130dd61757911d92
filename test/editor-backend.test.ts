// examples/editor-backend against a real Latchkey (issue 5, point 5): the page gets only a
// read-only token, loads fonts and media with it in Chromium, and projects are created from
// templates by the backend with its all-permissions integration. Also run as the README says.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { basicAuthorization, findFreePort, startTestLatchkey, TEST_CONTEXT, type TestLatchkey } from './support/latchkey.ts';
import { cliEnvironment, REPO_ROOT } from './support/cli.ts';
import { setBrowserSettings } from '../packages/server/src/environment-api/index.ts';
import { READ_ONLY_SCOPES, startEditorBackend, type EditorBackend } from '../examples/editor-backend/server.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const FONT_CANDIDATES = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf'];
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('examples/editor-backend', () => {
  let lk: TestLatchkey;
  let dataDir: string;
  let backend: EditorBackend;
  let backendPort: number;
  let backendCredentials: { clientId: string; clientSecret: string };
  let browserCredentials: { clientId: string; clientSecret: string };
  let templateId: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-editor-'));
    lk = await startTestLatchkey({ dialect: 'sqlite', env: { LATCHKEY_DATA_DIR: dataDir } });
    const all = await lk.createIntegration({ name: 'editor backend', grants: { 'environment-api': ALL } });
    // Granted everything by mistake: the backend still asks for, and hands out, read scopes only.
    const browser = await lk.createIntegration({ name: 'editor browser', grants: { 'environment-api': ALL } });
    backendCredentials = { clientId: all.integration.clientId, clientSecret: all.clientSecret };
    browserCredentials = { clientId: browser.integration.clientId, clientSecret: browser.clientSecret };

    backendPort = await findFreePort();
    await setBrowserSettings(lk.server.runtime.platform, 'demo', { allowedOrigins: [`http://localhost:${backendPort}`] }, TEST_CONTEXT);

    // Content the editor shows, uploaded as an operator would (all-permissions token, server side).
    const response = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(all.integration.clientId, all.clientSecret) });
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

    backend = await startEditorBackend({ latchkeyUrl: lk.url, environmentId: 'demo', backend: backendCredentials, browser: browserCredentials, port: backendPort });
  });
  afterAll(async () => {
    await backend?.close();
    await lk?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('hands the page a read-only token of the browser integration, never the backend one', async () => {
    const response = await fetch(`${backend.url}/editor-token`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as { access_token: string; scope: string; environmentApi: string };
    expect(body.scope).toBe(READ_ONLY_SCOPES.join(' '));
    expect(decodeJwt(body.access_token)).toMatchObject({ client_id: browserCredentials.clientId, scope: READ_ONLY_SCOPES.join(' ') });
    expect(body.environmentApi).toBe(`${lk.url}/api/v1/environments/demo`);
  });

  it('creates a project from a template with the all-permissions integration, which owns it', async () => {
    const response = await fetch(`${backend.url}/api/projects`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ templateId, name: 'Card for Ada' }) });
    expect(response.status).toBe(201);
    const project = (await response.json()) as { templateId: string; owner: { clientId: string; name: string }; content: unknown };
    expect(project).toMatchObject({ templateId, owner: { clientId: backendCredentials.clientId, name: 'editor backend' }, content: { size: '85x55' } });
    const refused = await fetch(`${backend.url}/api/projects`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(refused.status).toBe(415);
  });

  it('runs in Chromium: fonts and media load with the read-only token, and a project is created through the backend', async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const requests: { url: string; authorization: string | undefined }[] = [];
      page.on('request', (request) => requests.push({ url: request.url(), authorization: request.headers().authorization }));
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(`${backend.url}/`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
      expect(errors).toEqual([]);
      expect(await page.locator('#fonts .sample').count()).toBe(1);
      expect(await page.evaluate(() => [...document.fonts].filter((face) => face.status === 'loaded' && face.family.startsWith('font-')).length)).toBe(1);
      expect(await page.evaluate(() => [...document.querySelectorAll<HTMLImageElement>('#media img')].map((image) => image.naturalWidth))).toEqual([1]);

      await page.fill('#name', 'From the browser');
      await page.click('#create button');
      await page.waitForFunction(() => document.getElementById('created')?.dataset.projectId);
      expect(await page.textContent('#created')).toMatch(/^Created From the browser \(prj_\w+\), owned by editor backend$/);

      // Every bearer token the page sent to Latchkey was the read-only one.
      const sent = requests.filter((request) => request.url.startsWith(lk.url) && request.authorization !== undefined);
      expect(sent.length).toBeGreaterThanOrEqual(4);
      for (const request of sent) expect(decodeJwt(request.authorization!.replace(/^Bearer /, '')).scope).toBe(READ_ONLY_SCOPES.join(' '));
    } finally {
      await browser.close();
    }
  });

  it('starts as the README says (npx tsx examples/editor-backend/server.ts)', async () => {
    const port = await findFreePort();
    const tsx = path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const child: ChildProcess = spawn(process.execPath, [tsx, 'examples/editor-backend/server.ts'], {
      cwd: REPO_ROOT,
      env: cliEnvironment({
        LATCHKEY_ISSUER: lk.url,
        LATCHKEY_ENVIRONMENT: 'demo',
        EDITOR_BACKEND_CLIENT_ID: backendCredentials.clientId,
        EDITOR_BACKEND_CLIENT_SECRET: backendCredentials.clientSecret,
        EDITOR_BROWSER_CLIENT_ID: browserCredentials.clientId,
        EDITOR_BROWSER_CLIENT_SECRET: browserCredentials.clientSecret,
        PORT: String(port),
      }),
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
      const token = (await (await fetch(`http://127.0.0.1:${port}/editor-token`)).json()) as { scope: string };
      expect(token.scope).toBe(READ_ONLY_SCOPES.join(' '));
    } finally {
      child.kill();
    }
  }, 120_000);
});
