// The web console end to end, in a real Chromium against a real server serving the built console
// (issue 4): sign in; create an integration in the page; copy its secret from the page; use it over
// HTTP for a token; switch it to Read-only in the page and see the next token's scopes shrink; rotate
// the secret; find every step in the audit view. Revoking tokens (issue 13) — all of them, with a
// rotation, or by removing scopes, disabling or deleting — is proven the way an application meets
// it: the Environment API refuses the earlier token on the very next request. Browser tokens (issue
// 16): the Permissions tab's switch and example, the General tab's warning after a real token request
// with an Origin, the environment's settings, each checked by axe for WCAG 2.1 AA. Along the way the page
// must run clean under the console's CSP, and every screen is screenshotted: into docs/console/ only
// when asked (LATCHKEY_SCREENSHOTS=1, `npm run screenshots`), otherwise into a temporary directory, so
// running the tests changes no tracked file.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { decodeJwt } from 'jose';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../packages/server/src/platform/admins.ts';
import { CONSOLE_CSP, consoleRoutes } from '../packages/server/src/http/routes/console.ts';
import { hasChromium, launchChromium, openPage, type WatchedPage } from './support/browser.ts';
import { startTestLatchkey, TEST_CONTEXT, type TestLatchkey } from './support/latchkey.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(repoRoot, 'packages/console/dist');
const docsShots = path.join(repoRoot, 'docs/console');
/** Regenerating the documentation's screenshots is a request, never a side effect of a test run. */
const refreshDocsShots = process.env.LATCHKEY_SCREENSHOTS === '1';
const shots = refreshDocsShots ? docsShots : fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-console-shots-'));

/** Name → modification time and size of every screenshot in docs/console/, to prove a plain run leaves them alone. */
function docsShotStamps(): Record<string, string> {
  if (!fs.existsSync(docsShots)) return {};
  return Object.fromEntries(fs.readdirSync(docsShots).filter((name) => name.endsWith('.png')).map((name) => {
    const stat = fs.statSync(path.join(docsShots, name));
    return [name, `${stat.mtimeMs} ${stat.size}`];
  }));
}

const ADMIN = { email: 'ops@example.com', password: 'correct-horse-battery-staple' };
const VIEWER = { email: 'viewer@example.com', password: 'viewer-horse-battery-staple' };
const READ_ONLY = 'templates:read projects:read media:read fonts:read';
const ALL = 'templates:read templates:write projects:read projects:write media:read media:write fonts:read fonts:write';

/** Builds the console when dist/ is missing (a checkout without `npm ci`'s prepare step). */
function ensureConsoleBuilt(): void {
  if (fs.existsSync(path.join(dist, 'index.html'))) return;
  execFileSync('npm', ['run', 'build', '-w', 'packages/console'], { cwd: repoRoot, stdio: 'ignore' });
}

/** Runs a program (no shell) with the secret in the environment, as the snippets expect. */
function run(file: string, args: string[], env: Record<string, string>, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost', ...env }, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

const hasPython = spawnSync('python3', ['-c', 'import requests'], { stdio: 'ignore' }).status === 0;
const hasCurl = spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;

// Each browser test takes 3–15 s alone; the whole suite runs in parallel processes, so allow for a busy machine.
const BROWSER_TEST_TIMEOUT = 90_000;

/** Polls until the assertion holds: sign-in hashes a password and pages load, so allow a few seconds. */
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000, interval: 50 });

/** A screenshot of the page: into docs/console/ (which docs/console.md links) when asked, else a temporary directory. */
async function shoot(page: Page, name: string, fullPage = false): Promise<void> {
  // A confirmation toast would cover the screen: let it go first.
  await page.locator('.toast.visible').waitFor({ state: 'detached', timeout: 5_000 });
  // Full-page shots start at the top, so the sticky header sits where it belongs.
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(100);
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage, animations: 'disabled' });
}

/** An element's screenshot (a section the docs show on its own), under the same rules as {@link shoot}. */
async function shootElement(page: Page, element: Locator, name: string): Promise<void> {
  await page.locator('.toast.visible').waitFor({ state: 'detached', timeout: 5_000 });
  // A clip of a full-page shot, from the top: a section taller than the window is not stitched
  // together under the sticky header.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(100);
  const box = (await element.boundingBox())!;
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true, clip: box, animations: 'disabled' });
}

// axe-core, run inside the page by the DevTools protocol (page.evaluate), so the console's CSP needs
// no exception for it and a CSP violation still means the console itself broke the policy.
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** The WCAG 2.1 A/AA violations axe finds on the page as it is now: rule, help text and the elements at fault. */
async function axeViolations(page: Page): Promise<{ id: string; help: string; nodes: string[] }[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    type AxeResult = { violations: { id: string; help: string; nodes: { target: string[] }[] }[] };
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<AxeResult> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return result.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  }, WCAG_21_AA);
}

/** Violations of the console's CSP (and any other page error) the browser reported. */
function cspAndPageErrors(watched: WatchedPage): string[] {
  // The first GET /api/v1/session of a signed-out browser is a 401 by design; Chromium logs it.
  return watched.errors.filter((text) => !/Failed to load resource: the server responded with a status of 401/.test(text));
}

async function signIn(page: Page, scope: Page | Locator = page, who = ADMIN): Promise<void> {
  await scope.getByLabel('Email').fill(who.email);
  await scope.getByLabel('Password').fill(who.password);
  await scope.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * POST /oauth/token as a client would. A change made in the console is in effect once its request has
 * answered, so each assertion is about the very next request, with no help from inside the server.
 */
async function postToken(lk: TestLatchkey, clientId: string, clientSecret: string): Promise<{ status: number; body: { access_token?: string; scope?: string; error?: string } }> {
  const response = await lk.postToken({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
  return { status: response.status, body: (await response.json()) as { access_token?: string; scope?: string } };
}

/** GET the demo environment's templates with a bearer token, as an application calling the Environment API would. */
async function readTemplates(lk: TestLatchkey, accessToken: string): Promise<{ status: number; challenge: string | null; error?: string; description?: string }> {
  const response = await fetch(`${lk.url}/api/v1/environments/demo/templates`, { headers: { authorization: `Bearer ${accessToken}` } });
  const body = (await response.json()) as { error?: string; error_description?: string };
  return { status: response.status, challenge: response.headers.get('www-authenticate'), error: body.error, description: body.error_description };
}

/** The Environment API refuses `accessToken` as revoked: 401 invalid_token (RFC 6750 §3.1), in the header and the body. */
async function expectRefused(lk: TestLatchkey, accessToken: string): Promise<void> {
  const answer = await readTemplates(lk, accessToken);
  expect(answer).toMatchObject({ status: 401, error: 'invalid_token', description: 'the token has been revoked' });
  expect(answer.challenge).toMatch(/error="invalid_token"/);
}

describe.skipIf(!hasChromium())('web console in Chromium', () => {
  let lk: TestLatchkey;
  let browser: Browser;
  const docsShotsBefore = docsShotStamps();

  beforeAll(async () => {
    ensureConsoleBuilt();
    fs.mkdirSync(shots, { recursive: true });
    lk = await startTestLatchkey({ dialect: 'sqlite' });
    await createAdmin(lk.server.runtime.platform, { email: ADMIN.email, password: ADMIN.password, platformAdmin: true }, TEST_CONTEXT);
    await createAdmin(lk.server.runtime.platform, { email: VIEWER.email, password: VIEWER.password, platformAdmin: false, environments: { demo: 'viewer' } }, TEST_CONTEXT);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await lk?.close();
    if (!refreshDocsShots) fs.rmSync(shots, { recursive: true, force: true });
  });

  it('is served with a strict CSP, immutable hashed assets, no-cache HTML and an SPA fallback that leaves the APIs alone', async () => {
    const index = await fetch(`${lk.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toBe("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect(index.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await index.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/<style|style="/); // no inline style

    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${lk.url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    const etag = asset.headers.get('etag')!;
    expect((await fetch(`${lk.url}${script}`, { headers: { 'if-none-match': etag } })).status).toBe(304);

    // Deep links load the app; API paths, missing assets and non-HTML requests never do.
    const deep = await fetch(`${lk.url}/environments/demo/integrations/lkc_x/permissions`, { headers: { accept: 'text/html' } });
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    const api = await fetch(`${lk.url}/api/v1/nothing-here`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`${lk.url}/assets/gone-1234.js`, { headers: { accept: 'text/html' } })).status).toBe(404);
    expect((await fetch(`${lk.url}/environments`, { headers: { accept: 'application/json' } })).status).toBe(404);
    // No way out of dist/: encoded dot segments and backslashes are refused before the file system.
    for (const probe of ['/%2e%2e/package.json', '/assets/%2e%2e%2f%2e%2e%2fpackage.json', '/assets/..%5c..%5cpackage.json', '/%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json']) {
      const response = await fetch(`${lk.url}${probe}`);
      expect(response.status, probe).toBe(404);
      expect(await response.text()).not.toContain('"workspaces"');
    }
    // The APIs keep their own answers.
    expect((await fetch(`${lk.url}/.well-known/oauth-authorization-server`)).status).toBe(200);
  });

  it('without a build, / says how to make one', async () => {
    const app = Fastify();
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-no-console-'));
    await app.register(consoleRoutes, { distDir: empty });
    const response = await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } });
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(response.body).toContain('npm run build -w packages/console');
    await app.close();
    fs.rmSync(empty, { recursive: true, force: true });
  });

  it('signs in, creates an integration, shows its secret once, gets tokens with it, goes Read-only, rotates, and finds it all in the audit log', async () => {
    const watched = await openPage(browser, lk.url);
    const { page } = watched;

    // Sign-in.
    await page.goto('/');
    await eventually(() => page.getByRole('heading', { name: 'Sign in to the console' }).isVisible()).toBe(true);
    await shoot(page, 'sign-in');
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That email and password do not match an admin account.').waitFor();
    await signIn(page);

    // Environments, and the pencil icon into one.
    await page.getByRole('heading', { name: 'Environments', exact: true }).waitFor();
    await page.getByRole('link', { name: 'Edit environment demo' }).waitFor();
    await shoot(page, 'environments');
    await page.getByRole('link', { name: 'Edit environment demo' }).click();
    await page.getByRole('heading', { name: 'Integrations', exact: true }).waitFor();
    await page.getByText('No integrations yet').waitFor();

    // "Create Integration" (name, description), all by keyboard: Tab to the button, Enter, type, Enter.
    for (let i = 0; i < 30 && !(await page.evaluate(() => document.activeElement?.textContent?.trim() === 'Create Integration')); i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Create Integration' });
    await dialog.waitFor();
    await eventually(() => page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('name');
    await page.keyboard.type('Render backend');
    await dialog.getByLabel('Description').fill('Creates projects from templates on our server');
    await dialog.getByLabel('Start with permissions').selectOption('all');
    await shoot(page, 'create-integration');
    await dialog.getByLabel('Name', { exact: true }).press('Enter');

    // The secret, once, with the warning; copy it from the page (and through the real clipboard).
    const once = page.getByTestId('secret-once');
    await once.waitFor();
    await eventually(() => once.textContent()).toContain('keys to your digital kingdom');
    const clientSecret = await page.getByTestId('client-secret').inputValue();
    const clientId = await page.getByTestId('client-id').inputValue();
    expect(clientSecret).toMatch(/^lks_/);
    expect(clientId).toMatch(/^lkc_/);
    await once.getByRole('button', { name: 'Copy the Client Secret' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(clientSecret);
    await shoot(page, 'secret-once');

    // The secret works over HTTP; the token carries every scope.
    const first = await postToken(lk, clientId, clientSecret);
    expect(first.status).toBe(200);
    expect(first.body.scope).toBe(ALL);
    expect(decodeJwt(first.body.access_token!).client_id).toBe(clientId);

    // The General tab's snippets are filled in with the real token URL, this Client ID and the audience, and they run.
    const metadata = (await (await fetch(`${lk.url}/.well-known/oauth-authorization-server`)).json()) as { token_endpoint: string };
    await eventually(() => page.getByTestId('token-url').textContent()).toBe(metadata.token_endpoint);
    expect(await page.getByTestId('audience').textContent()).toBe(lk.config.environmentApiAudience);
    const snippetRuns: Promise<void>[] = [];
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-snippets-'));
    const env = { LATCHKEY_CLIENT_SECRET: clientSecret };
    for (const [language, label] of [['curl', 'cURL'], ['python', 'Python'], ['node', 'Node 18+'], ['go', 'Go']] as const) {
      await page.getByRole('tab', { name: label }).click();
      const text = (await page.getByTestId(`snippet-${language}`).textContent())!;
      expect(text).toContain(clientId);
      expect(text).toContain(metadata.token_endpoint);
      expect(text).toContain(lk.config.environmentApiAudience);
      expect(text).not.toContain(clientSecret);
      const file = path.join(tmp, { curl: 'token.sh', python: 'get_token.py', node: 'token.mjs', go: 'main.go' }[language]);
      fs.writeFileSync(file, text);
      const check = async (result: Promise<{ code: number; stdout: string; stderr: string }>) => {
        const { code, stdout, stderr } = await result;
        expect(code, `${language}: ${stderr}`).toBe(0);
        expect(stdout).toContain(first.body.access_token!); // the cached token: same integration, same scopes
      };
      if (language === 'curl' && hasCurl) snippetRuns.push(check(run('bash', [file], env)));
      if (language === 'python' && hasPython) snippetRuns.push(check(run('python3', [file], env)));
      if (language === 'node') snippetRuns.push(check(run(process.execPath, [file], env)));
      // Go is compiled and run by test/seed-samples.test.ts; here its syntax is checked with gofmt, which is instant.
      if (language === 'go' && spawnSync('gofmt', ['-h'], { stdio: 'ignore' }).error === undefined) {
        const formatted = spawnSync('gofmt', ['-l', '-e', file], { encoding: 'utf8' });
        expect(formatted.status, formatted.stderr).toBe(0);
        expect(formatted.stdout, 'snippet is gofmt-formatted').toBe('');
      }
    }
    await Promise.all(snippetRuns);
    fs.rmSync(tmp, { recursive: true, force: true });
    await page.getByRole('tab', { name: 'cURL' }).click();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await eventually(() => page.getByRole('region', { name: 'Tokens issued per day' }).textContent()).toMatch(/[1-9]\d* tokens? handed out/);

    // Dismiss the secret: it is gone from the page for good.
    await page.getByLabel('I have stored the secret safely').check();
    await page.getByRole('button', { name: 'Done — hide the secret' }).click();
    await eventually(() => page.getByTestId('secret-once').count()).toBe(0);
    expect(await page.content()).not.toContain(clientSecret);
    await shoot(page, 'general', true);

    // Permissions: All permissions warns about write scopes; Read-only + save says what changed.
    await page.getByRole('link', { name: 'Permissions' }).click();
    await page.getByRole('heading', { name: 'Permissions', exact: true }).waitFor();
    await page.getByText('Tokens with write permissions must never be sent to a browser / front-end').waitFor();
    expect(await page.getByTestId('permissions-revokes').count()).toBe(0);
    await page.getByRole('button', { name: 'Read-only' }).click();
    await eventually(() => page.getByText('Tokens with write permissions must never be sent to a browser').count()).toBe(0);
    // Before saving, the page says what removing scopes does to the tokens already out there.
    expect(await page.getByTestId('permissions-revokes').textContent()).toContain('Saving removes scopes, so every token issued to this integration so far is revoked');
    await page.getByRole('button', { name: 'Save permissions' }).click();
    const result = page.getByTestId('permissions-result');
    await result.waitFor();
    const saved = (await result.textContent())!;
    expect(saved).toContain('Removed: templates:write (Environment API), projects:write (Environment API), media:write (Environment API), fonts:write (Environment API)');
    expect(saved).toContain('The next token request gets the new scopes; every token issued before this change was revoked');
    await shoot(page, 'permissions', true);

    // Removing scopes revoked the earlier token; the next token has only the read scopes.
    await expectRefused(lk, first.body.access_token!);
    const second = await postToken(lk, clientId, clientSecret);
    expect(second.status).toBe(200);
    expect(second.body.scope).toBe(READ_ONLY);
    expect(second.body.access_token).not.toBe(first.body.access_token);
    expect((await readTemplates(lk, second.body.access_token!)).status).toBe(200);

    // Rotate with a grace period: the new secret is shown once; old and new both work during the grace.
    await page.getByRole('link', { name: 'General' }).click();
    // The General tab shows the revocation the save made.
    await eventually(() => page.getByTestId('tokens-revoked').textContent()).toMatch(/^Tokens issued before .+ are revoked\.$/);
    await page.getByRole('button', { name: 'Rotate secret…' }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate the Client Secret' });
    await rotate.getByLabel('Keep the current secret working for 1 hour').check();
    await eventually(() => rotate.textContent()).toContain('keeps working for 1 hour');
    expect(await rotate.getByLabel('Also revoke every token issued so far').isChecked()).toBe(false);
    expect(await rotate.textContent()).toContain('Tokens already issued stay valid until they expire.');
    await shoot(page, 'rotate-secret');
    await rotate.getByRole('button', { name: 'Rotate secret' }).click();
    await eventually(() => page.getByTestId('secret-once').textContent()).toContain('Your new Client Secret');
    const rotated = await page.getByTestId('client-secret').inputValue();
    expect(rotated).not.toBe(clientSecret);
    // Rotating without revoking leaves the earlier token valid.
    expect((await readTemplates(lk, second.body.access_token!)).status).toBe(200);
    expect((await postToken(lk, clientId, rotated)).body.scope).toBe(READ_ONLY);
    expect((await postToken(lk, clientId, clientSecret)).status).toBe(200);
    await eventually(() => page.getByTestId('secrets').textContent()).toContain('In grace period');

    // The list shows it with its status, permissions and last use.
    const environmentTabs = page.getByRole('navigation', { name: 'Environment demo' });
    await environmentTabs.getByRole('link', { name: 'Integrations' }).click();
    const row = page.getByRole('row', { name: /Render backend/ });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/Active.*Read-only.*just now/);
    await shoot(page, 'integrations');

    // Every step is in the audit view, and the filters narrow it.
    await environmentTabs.getByRole('link', { name: 'Audit log' }).click();
    const audit = page.getByTestId('audit');
    await audit.waitFor();
    for (const action of ['integration.create', 'integration.permissions.set', 'integration.secret.rotate']) {
      expect(await audit.locator(`tr[data-action="${action}"][data-actor="${ADMIN.email}"][data-target="${clientId}"]`).count(), action).toBe(1);
    }
    // Token issuance is recorded with the integration as the actor and the API as the target.
    expect(await audit.locator(`tr[data-action="token.issue"][data-actor="${clientId}"]`).count()).toBeGreaterThanOrEqual(3);
    await shoot(page, 'audit', true);
    await page.getByLabel('Action').selectOption('integration.secret.rotate');
    await page.getByLabel('Actor').fill(ADMIN.email);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await eventually(() => audit.locator('tbody tr').count()).toBe(1);
    expect(await audit.locator('tbody tr').getAttribute('data-action')).toBe('integration.secret.rotate');
    expect(page.url()).toContain('action=integration.secret.rotate');
    await page.getByLabel('Actor').fill('nobody@example.com');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No entries match these filters').waitFor();

    // Disable asks first and names the consequence.
    await page.goto(`/environments/demo/integrations/${clientId}`);
    await page.getByRole('button', { name: 'Disable…' }).click();
    const disable = page.getByRole('dialog', { name: 'Disable Render backend?' });
    await eventually(() => disable.textContent()).toContain('Every token issued to it so far is revoked');
    expect(await disable.textContent()).toContain('Enabling it again does not bring those tokens back.');
    await disable.getByRole('button', { name: 'Disable integration' }).click();
    await page.getByRole('button', { name: 'Enable…' }).waitFor();
    expect((await postToken(lk, clientId, rotated)).status).toBe(401);
    await expectRefused(lk, second.body.access_token!);
    await page.getByRole('button', { name: 'Enable…' }).click();
    await page.getByRole('dialog', { name: 'Enable Render backend?' }).getByRole('button', { name: 'Enable integration' }).click();
    await page.getByRole('button', { name: 'Disable…' }).waitFor();
    const afterEnable = await postToken(lk, clientId, rotated);
    expect(afterEnable.status).toBe(200);
    expect(afterEnable.body.access_token).not.toBe(second.body.access_token);
    await expectRefused(lk, second.body.access_token!);
    expect((await readTemplates(lk, afterEnable.body.access_token!)).status).toBe(200);

    expect(cspAndPageErrors(watched)).toEqual([]);
    await watched.context.close();
  }, BROWSER_TEST_TIMEOUT);

  it('revokes every token of an integration from the General tab, alone or with a rotation: the Environment API refuses the earlier ones at once', async () => {
    const { integration, clientSecret } = await lk.createIntegration({ name: 'Leaky backend' });
    const { clientId } = integration;
    const leaked = await postToken(lk, clientId, clientSecret);
    expect(leaked.status).toBe(200);
    expect((await readTemplates(lk, leaked.body.access_token!)).status).toBe(200);

    const watched = await openPage(browser, lk.url);
    const { page } = watched;
    await page.goto(`/environments/demo/integrations/${clientId}`);
    await signIn(page);
    await page.getByRole('heading', { name: 'Credentials' }).waitFor();
    const revokedLine = page.getByTestId('tokens-revoked');
    expect(await revokedLine.textContent()).toBe('Each token works until it expires, unless it is revoked.');

    // The confirmation names the consequence, with Cancel focused first.
    await page.getByRole('button', { name: 'Revoke all tokens…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke all tokens of Leaky backend?' });
    await eventually(() => confirm.textContent()).toContain('Every token issued to Leaky backend so far stops working on every API that checks revocation');
    const consequence = (await confirm.textContent())!;
    expect(consequence).toContain("Latchkey's own APIs refuse it at once, and APIs that use @latchkey/resource within a second");
    expect(consequence).toContain('Applications simply request a new token');
    expect(consequence).toContain('Use this when a token may have leaked');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await shoot(page, 'revoke-tokens');
    await confirm.getByRole('button', { name: 'Revoke all tokens' }).click();
    // The toast shows once the revoke request has answered: the very next request is the proof.
    await page.locator('.toast.visible', { hasText: 'Revoked every token issued to Leaky backend so far' }).waitFor();
    await expectRefused(lk, leaked.body.access_token!);
    const fresh = await postToken(lk, clientId, clientSecret);
    expect(fresh.status).toBe(200);
    expect(fresh.body.access_token).not.toBe(leaked.body.access_token);
    expect((await readTemplates(lk, fresh.body.access_token!)).status).toBe(200);

    // The page shows the cut-off the API answered with.
    const afterRevoke = (await (await page.request.get(`/api/v1/environments/demo/integrations/${clientId}`)).json()) as { tokensRevokedAt: string };
    expect(await revokedLine.textContent()).toMatch(/^Tokens issued before .+ are revoked\.$/);
    expect(await revokedLine.locator('time').getAttribute('datetime')).toBe(afterRevoke.tokensRevokedAt);

    // A rotation can revoke them too; the dialog says so once the box is ticked.
    await page.getByRole('button', { name: 'Rotate secret…' }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate the Client Secret' });
    const revokeBox = rotate.getByLabel('Also revoke every token issued so far');
    await revokeBox.waitFor();
    expect(await rotate.getByText('Choose this if the secret or a token may have leaked.').count()).toBe(1);
    await revokeBox.check();
    await eventually(() => rotate.textContent()).toContain("Every token issued so far is revoked: Latchkey's own APIs refuse it at once");
    expect(await rotate.textContent()).not.toContain('Tokens already issued stay valid');
    await rotate.getByRole('button', { name: 'Rotate secret' }).click();
    await eventually(() => page.getByTestId('secret-once').textContent()).toContain('Your new Client Secret');
    await expectRefused(lk, fresh.body.access_token!);
    const newSecret = await page.getByTestId('client-secret').inputValue();
    const afterRotation = await postToken(lk, clientId, newSecret);
    expect(afterRotation.status).toBe(200);
    expect((await readTemplates(lk, afterRotation.body.access_token!)).status).toBe(200);
    // As the hint warns, the old secret still gets new tokens during its grace period.
    expect((await postToken(lk, clientId, clientSecret)).status).toBe(200);
    await eventually(async () => Date.parse((await revokedLine.locator('time').getAttribute('datetime'))!)).toBeGreaterThan(Date.parse(afterRevoke.tokensRevokedAt));
    // A revocation is chosen per incident: the box starts unticked next time.
    await page.getByRole('button', { name: 'Rotate secret…' }).click();
    expect(await rotate.getByLabel('Also revoke every token issued so far').isChecked()).toBe(false);
    await rotate.getByRole('button', { name: 'Cancel' }).click();

    // The audit log names the revocation.
    await page.goto('/environments/demo/audit');
    const audit = page.getByTestId('audit');
    await audit.waitFor();
    await page.getByLabel('Action').selectOption({ label: 'All tokens revoked' });
    await page.getByLabel('Actor').fill(ADMIN.email);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await eventually(() => audit.locator(`tbody tr[data-target="${clientId}"]`).count()).toBe(1);
    expect(await audit.locator('tbody tr').getAttribute('data-action')).toBe('integration.tokens.revoke');

    // Deleting the integration revokes the tokens it still has.
    await page.goto(`/environments/demo/integrations/${clientId}`);
    await page.getByRole('button', { name: 'Delete…' }).click();
    const remove = page.getByRole('dialog', { name: 'Delete Leaky backend?' });
    await eventually(() => remove.textContent()).toContain('Every token issued to it is revoked');
    await remove.getByRole('button', { name: 'Delete integration' }).click();
    await page.locator('.toast.visible', { hasText: 'Deleted Leaky backend' }).waitFor();
    await expectRefused(lk, afterRotation.body.access_token!);

    expect(cspAndPageErrors(watched)).toEqual([]);
    await watched.context.close();
  }, BROWSER_TEST_TIMEOUT);

  it('brings an ended session back to sign-in and keeps what was being typed', async () => {
    const watched = await openPage(browser, lk.url);
    const { page } = watched;
    await page.goto('/environments/demo');
    await signIn(page);
    await page.getByRole('heading', { name: 'Integrations', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Create Integration' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Create Integration' });
    await dialog.getByLabel('Name', { exact: true }).fill('Editor in the browser');
    await dialog.getByLabel('Description').fill('Read-only, for media and fonts');

    // The session ends on the server (as after the idle timeout).
    const session = (await (await page.request.get('/api/v1/session')).json()) as { csrfToken: string };
    expect((await page.request.delete('/api/v1/session', { headers: { 'x-csrf-token': session.csrfToken } })).status()).toBe(204);

    // Submitting finds the session gone: sign-in opens over the dialog, which keeps its text.
    await dialog.getByRole('button', { name: 'Create Integration' }).click();
    const again = page.getByRole('dialog', { name: 'Your session has ended' });
    await again.waitFor();
    await shoot(page, 'session-ended');
    await signIn(page, again);
    await again.waitFor({ state: 'hidden' });
    expect(await dialog.getByLabel('Name', { exact: true }).inputValue()).toBe('Editor in the browser');
    await dialog.getByRole('button', { name: 'Create Integration' }).click();
    await page.getByTestId('secret-once').waitFor();

    // A reload after the session ended: the sign-in page, then the same screen with the draft back.
    await page.getByLabel('Description').fill('Read-only, for the media and font connectors');
    await watched.context.clearCookies();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to the console' }).waitFor();
    await signIn(page);
    await eventually(async () => page.getByLabel('Description').inputValue()).toBe('Read-only, for the media and font connectors');
    expect(await page.getByTestId('secret-once').count()).toBe(0); // the secret is never kept anywhere

    // Sign-out drops drafts and the session.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You have signed out.').waitFor();
    expect(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('latchkey.draft.')))).toEqual([]);
    expect((await page.request.get('/api/v1/session')).status()).toBe(401);

    expect(cspAndPageErrors(watched)).toEqual([]);
    await watched.context.close();
  }, BROWSER_TEST_TIMEOUT);

  it('lets a platform admin create, rename and delete an environment', async () => {
    const watched = await openPage(browser, lk.url);
    const { page } = watched;
    await page.goto('/environments');
    await signIn(page);
    await page.getByRole('button', { name: 'Create environment' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create environment' });
    await dialog.getByLabel('Environment ID').fill('Staging!');
    await dialog.getByLabel('Name', { exact: true }).click();
    await dialog.getByText('Use lower-case letters, digits and inner hyphens').waitFor();
    await dialog.getByLabel('Environment ID').fill('staging');
    await dialog.getByLabel('Name', { exact: true }).fill('Staging');
    await dialog.getByRole('button', { name: 'Create environment' }).click();
    await page.getByRole('heading', { name: 'Staging' }).waitFor();
    await page.getByText('No integrations yet').waitFor();

    await page.getByRole('navigation', { name: 'Environment Staging' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Staging (EU)');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: 'Staging (EU)' }).waitFor();
    await shoot(page, 'environment-settings');

    await page.getByRole('button', { name: 'Delete environment…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete environment Staging (EU)?' });
    await eventually(() => confirm.textContent()).toContain('Every token issued in it is revoked');
    expect(await confirm.getByRole('button', { name: 'Delete environment' }).isDisabled()).toBe(true);
    await confirm.getByLabel('Type staging to confirm').fill('staging');
    await confirm.getByRole('button', { name: 'Delete environment' }).click();
    await page.getByRole('heading', { name: 'Environments', exact: true }).waitFor();
    await eventually(() => page.getByRole('link', { name: 'Edit environment Staging (EU)' }).count()).toBe(0);
    expect((await fetch(`${lk.url}/api/v1/environments/staging`)).status).toBe(401);
    expect(cspAndPageErrors(watched)).toEqual([]);
    await watched.context.close();
  }, BROWSER_TEST_TIMEOUT);

  it('shows a viewer everything read-only', async () => {
    const watched = await openPage(browser, lk.url);
    const { page } = watched;
    await page.goto('/environments');
    await signIn(page, page, VIEWER);
    await page.getByRole('link', { name: 'Edit environment demo' }).click();
    await page.getByText('Viewer: read only').waitFor();
    await page.getByRole('link', { name: 'Render backend' }).click();
    await page.getByRole('heading', { name: 'Credentials' }).waitFor();
    for (const name of ['Create Integration', 'Rotate secret…', 'Revoke all tokens…', 'Disable…', 'Delete…', 'Save']) expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    // Disabling it revoked its earlier tokens: a viewer sees that too.
    expect(await page.getByTestId('tokens-revoked').textContent()).toMatch(/^Tokens issued before .+ are revoked\.$/);
    await page.getByRole('link', { name: 'Permissions' }).click();
    await page.getByText('You can view these permissions; an admin of this environment can change them.').waitFor();
    expect(await page.getByRole('checkbox', { name: /templates:read/ }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Read-only' }).count()).toBe(0);
    expect(cspAndPageErrors(watched)).toEqual([]);
    await watched.context.close();
  }, BROWSER_TEST_TIMEOUT);

  it('makes the first sign-in with a temporary password choose a new one before anything else', async () => {
    // The first-run admin's generated password is temporary (platform/bootstrap-admin.ts creates it this way).
    const { generatedPassword } = await createAdmin(lk.server.runtime.platform, { email: 'first@example.com', platformAdmin: true, temporaryPassword: true }, TEST_CONTEXT);
    const temporary = generatedPassword!;
    const watched = await openPage(browser, lk.url);
    const { page } = watched;
    await page.goto('/environments/demo');
    await signIn(page, page, { email: 'first@example.com', password: temporary });
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    // Nothing else is reachable: not the page asked for, not the API behind it.
    expect(await page.getByRole('heading', { name: 'Integrations', exact: true }).count()).toBe(0);
    const refused = await page.request.get('/api/v1/environments');
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('password_change_required');
    await page.reload();
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();

    // A wrong temporary password and two different new ones are caught, each next to its field.
    await page.getByLabel('Temporary password').fill('not the temporary password');
    await page.getByLabel('New password', { exact: true }).fill('my own console password');
    await page.getByLabel('Repeat new password').fill('my own console password');
    await page.getByRole('button', { name: 'Set password and continue' }).click();
    await page.getByText('the current password is wrong').waitFor();
    await page.getByLabel('Temporary password').fill(temporary);
    await page.getByLabel('Repeat new password').fill('my own console passwort');
    await page.getByRole('button', { name: 'Set password and continue' }).click();
    await page.getByText('The two new passwords differ.').waitFor();
    await page.getByLabel('Repeat new password').fill('my own console password');
    await shoot(page, 'choose-password');
    await page.getByRole('button', { name: 'Set password and continue' }).click();

    // Then the console opens where the admin was going, and the API answers.
    await page.getByRole('heading', { name: 'Integrations', exact: true }).waitFor();
    expect((await page.request.get('/api/v1/environments')).status()).toBe(200);
    // The temporary password is gone; the new one signs in straight to the console.
    const old = await page.request.post('/api/v1/session', { data: { email: 'first@example.com', password: temporary } });
    expect(old.status()).toBe(401);
    const fresh = await openPage(browser, lk.url);
    await fresh.page.goto('/');
    await signIn(fresh.page, fresh.page, { email: 'first@example.com', password: 'my own console password' });
    await fresh.page.getByRole('heading', { name: 'Environments' }).waitFor();
    expect(await fresh.page.getByRole('heading', { name: 'Choose your password' }).count()).toBe(0);
    // The refused calls and the wrong password are logged by Chromium as failed loads (403, 400, 401); nothing else is.
    expect([...watched.errors, ...fresh.errors].filter((text) => !/Failed to load resource: the server responded with a status of 40[013]/.test(text))).toEqual([]);
    await fresh.context.close();
    await watched.context.close();
  }, BROWSER_TEST_TIMEOUT);

  it('is usable 390 px wide: no sideways scrolling, tables become cards', async () => {
    const watched = await openPage(browser, lk.url, { width: 390, height: 844 });
    const { page } = watched;
    await page.goto('/environments/demo');
    await signIn(page);
    await page.getByRole('link', { name: 'Render backend' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shoot(page, 'mobile-integrations');
    await page.getByRole('link', { name: 'Render backend' }).click();
    await page.getByRole('heading', { name: 'Credentials' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shoot(page, 'mobile-general');
    await page.getByRole('link', { name: 'Permissions' }).click();
    await page.getByRole('heading', { name: 'Permissions', exact: true }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(cspAndPageErrors(watched)).toEqual([]);
    await watched.context.close();
  }, BROWSER_TEST_TIMEOUT);

  it('lets an admin allow browser tokens on the Permissions tab, saved with the permissions, with a runnable backend example for this Client ID and issuer', async () => {
    const { integration, clientSecret } = await lk.createIntegration({ name: 'Editor backend' });
    const { clientId } = integration;
    const metadata = (await (await fetch(`${lk.url}/.well-known/oauth-authorization-server`)).json()) as { issuer: string; token_endpoint: string };
    const watched = await openPage(browser, lk.url, { width: 1280, height: 800 });
    const { page } = watched;
    await page.goto(`/environments/demo/integrations/${clientId}/permissions`);
    await signIn(page);
    const section = page.getByTestId('browser-tokens');
    await section.getByRole('heading', { name: 'Browser tokens' }).waitFor();
    const allow = page.getByRole('checkbox', { name: 'May mint browser tokens' });
    expect(await allow.isChecked()).toBe(false);
    // The environment's lifetime arrives with its own request: wait for it as a reader would.
    await section.getByText('15 minutes in this environment').waitFor();
    const explanation = (await section.textContent())!;
    for (const words of ['Read-only', 'read scopes only', 'Short-lived', '15 minutes in this environment', 'at most an hour', "Bound to the page's key (DPoP)", 'refused with unauthorized_client']) expect(explanation).toContain(words);

    // The example is filled with this Client ID, the real token endpoint and issuer, and never a secret.
    const backend = page.getByTestId('browser-token-backend');
    await backend.waitFor();
    const backendText = (await backend.textContent())!;
    expect(backendText).toContain(`clientId: "${clientId}"`);
    expect(backendText).toContain(`tokenUrl: "${metadata.token_endpoint}"`);
    expect(backendText).toContain(`audience: "${lk.config.environmentApiAudience}"`);
    expect(backendText).toContain("import { TokenClient, browserTokenHandler } from '@latchkey/client';");
    expect(backendText).toContain('process.env.LATCHKEY_CLIENT_SECRET');
    expect(backendText).not.toContain(clientSecret);
    const pageText = (await page.getByTestId('browser-token-page').textContent())!;
    expect(pageText).toContain("import { createBrowserTokenSource } from '@latchkey/client/browser';");
    expect(pageText).toContain(`tokenEndpoint: "${metadata.token_endpoint}"`);
    expect(pageText).toContain(`latchkey.fetch("${metadata.issuer}/api/v1/environments/demo/fonts")`);
    // Both halves are valid ES modules as copied (node --check parses without running or resolving imports).
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-browser-token-example-'));
    for (const [file, text] of [['server.mjs', backendText], ['page.mjs', pageText]] as const) {
      fs.writeFileSync(path.join(tmp, file), text);
      const parsed = spawnSync(process.execPath, ['--check', path.join(tmp, file)], { encoding: 'utf8' });
      expect(parsed.status, `${file}: ${parsed.stderr}`).toBe(0);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
    await section.getByRole('button', { name: 'Copy the backend example' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(backendText);
    expect(await axeViolations(page)).toEqual([]);

    // Turning it on is a change to save, sent with the permissions; the scopes stay as they were.
    await allow.check();
    await section.getByText('Takes effect when you save the permissions.').waitFor();
    await page.getByRole('button', { name: 'Save permissions' }).click();
    const result = page.getByTestId('permissions-result');
    await eventually(() => result.textContent()).toContain('Browser tokens: allowed.');
    expect(await result.textContent()).not.toMatch(/Added:|Removed:/);
    const stored = (await (await page.request.get(`/api/v1/environments/demo/integrations/${clientId}`)).json()) as { browserTokens: boolean; grants: unknown };
    expect(stored).toMatchObject({ browserTokens: true, grants: integration.grants });
    await shootElement(page, section, 'permissions-browser-tokens');

    // A reload reads it back from the server.
    await page.reload();
    await section.getByRole('heading', { name: 'Browser tokens' }).waitFor();
    await eventually(() => allow.isChecked()).toBe(true);
    expect(await section.getByText('On: this integration may exchange its tokens for browser tokens.').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Save permissions' }).isDisabled()).toBe(true);

    // 390 px: nothing scrolls sideways, and the tab stays accessible.
    const narrow = await openPage(browser, lk.url, { width: 390, height: 844 });
    await narrow.page.goto(`/environments/demo/integrations/${clientId}/permissions`);
    await signIn(narrow.page);
    await narrow.page.getByTestId('browser-token-backend').waitFor();
    expect(await narrow.page.getByRole('checkbox', { name: 'May mint browser tokens' }).isChecked()).toBe(true);
    expect(await narrow.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await axeViolations(narrow.page)).toEqual([]);

    // A viewer sees the setting but cannot change it.
    const viewer = await openPage(browser, lk.url);
    await viewer.page.goto(`/environments/demo/integrations/${clientId}/permissions`);
    await signIn(viewer.page, viewer.page, VIEWER);
    await viewer.page.getByTestId('browser-token-backend').waitFor();
    expect(await viewer.page.getByRole('checkbox', { name: 'May mint browser tokens' }).isChecked()).toBe(true);
    expect(await viewer.page.getByRole('checkbox', { name: 'May mint browser tokens' }).isDisabled()).toBe(true);

    for (const w of [watched, narrow, viewer]) expect(cspAndPageErrors(w)).toEqual([]);
    for (const w of [watched, narrow, viewer]) await w.context.close();
  }, BROWSER_TEST_TIMEOUT);

  it('warns on the General tab when an integration\'s credentials were used from a browser, and not for its neighbour', async () => {
    const used = await lk.createIntegration({ name: 'Secret in a page' });
    const neighbour = await lk.createIntegration({ name: 'Quiet backend' });
    // The mistake itself, as a browser makes it: client_credentials with the page's Origin.
    const fromPage = await lk.postToken({ grant_type: 'client_credentials', client_id: used.integration.clientId, client_secret: used.clientSecret }, { origin: 'https://editor.example.com' });
    expect(fromPage.status).toBe(400);
    expect(((await fromPage.json()) as { error: string }).error).toBe('unauthorized_client');
    // The neighbour asks from its backend (no Origin): nothing to warn about.
    expect((await postToken(lk, neighbour.integration.clientId, neighbour.clientSecret)).status).toBe(200);

    const watched = await openPage(browser, lk.url, { width: 1280, height: 800 });
    const { page } = watched;
    await page.goto(`/environments/demo/integrations/${used.integration.clientId}`);
    await signIn(page);
    const warning = page.getByTestId('browser-use-warning');
    const alert = warning.getByRole('alert');
    await eventually(() => alert.textContent()).toContain('These credentials were used from a browser');
    expect(await page.getByTestId('browser-use-origin').textContent()).toBe('https://editor.example.com');
    expect(await page.getByTestId('browser-use-count').textContent()).toBe('1');
    const advice = (await warning.textContent())!;
    for (const words of ['Rotate the secret', 'Also revoke every token issued so far', 'Keep the new secret on your backend', 'Give the page a browser token']) expect(advice).toContain(words);
    expect(await page.getByTestId('browser-use').textContent()).toContain('Yes: last from https://editor.example.com');
    expect(await axeViolations(page)).toEqual([]);
    await shootElement(page, warning, 'browser-use-warning');

    // Another request from a page: the very next load counts it.
    await lk.postToken({ grant_type: 'client_credentials', client_id: used.integration.clientId, client_secret: used.clientSecret }, { origin: 'https://other.example.com' });
    await page.reload();
    await eventually(() => page.getByTestId('browser-use-count').textContent()).toBe('2');
    expect(await page.getByTestId('browser-use-origin').textContent()).toBe('https://other.example.com');

    // The link leads to where browser tokens are allowed.
    await warning.getByRole('link', { name: 'Permissions tab' }).click();
    await page.getByRole('checkbox', { name: 'May mint browser tokens' }).waitFor();

    // The neighbour in the same environment shows no warning.
    await page.goto(`/environments/demo/integrations/${neighbour.integration.clientId}`);
    await page.getByRole('heading', { name: 'Credentials' }).waitFor();
    expect(await page.getByTestId('browser-use').textContent()).toBe('Never: no token request with its Client ID came from a web page.');
    expect(await page.getByTestId('browser-use-warning').count()).toBe(0);
    expect(await page.getByRole('alert').count()).toBe(0);
    // Its token snippets say they are for a server, and what a page gets instead.
    expect(await page.getByTestId('snippets-backend-only').textContent()).toContain('refused with unauthorized_client unless the environment allows it');

    // 390 px: the warning fits.
    const narrow = await openPage(browser, lk.url, { width: 390, height: 844 });
    await narrow.page.goto(`/environments/demo/integrations/${used.integration.clientId}`);
    await signIn(narrow.page);
    await narrow.page.getByTestId('browser-use-warning').waitFor();
    expect(await narrow.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await axeViolations(narrow.page)).toEqual([]);

    // The refused token requests are logged by Chromium only if the page made them; it made none.
    for (const w of [watched, narrow]) expect(cspAndPageErrors(w)).toEqual([]);
    for (const w of [watched, narrow]) await w.context.close();
  }, BROWSER_TEST_TIMEOUT);

  it('sets the browser-token lifetime and client credentials from a browser in the environment settings, warning before the latter', async () => {
    await lk.createEnvironment('browser-lab');
    const { integration, clientSecret } = await lk.createIntegration({ environmentId: 'browser-lab', name: 'Lab backend' });
    const fromPage = () => lk.postToken({ grant_type: 'client_credentials', client_id: integration.clientId, client_secret: clientSecret }, { origin: 'https://lab.example.com' });
    expect((await fromPage()).status).toBe(400);

    const watched = await openPage(browser, lk.url, { width: 1280, height: 800 });
    const { page } = watched;
    await page.goto('/environments/browser-lab/settings');
    await signIn(page);
    const section = page.getByTestId('environment-browser-tokens');
    const lifetime = section.getByLabel('Browser token lifetime (seconds)');
    const allow = section.getByRole('checkbox', { name: 'Allow client credentials from a browser' });
    await eventually(() => lifetime.inputValue()).toBe('900');
    expect(await allow.isChecked()).toBe(false);
    expect(await section.getByText('A Client Secret in a page is readable by anyone who loads it').count()).toBe(0);
    const save = section.getByRole('button', { name: 'Save browser-token settings' });

    // Out of range is caught at the field, and nothing is sent.
    for (const bad of ['59', '3601', '90.5', '']) {
      await lifetime.fill(bad);
      await section.getByText('Enter a whole number of seconds from 60 to 3600.').waitFor();
      expect(await save.isDisabled(), bad).toBe(true);
      expect(await lifetime.getAttribute('aria-invalid'), bad).toBe('true');
    }

    // Five minutes, and client credentials allowed: the warning shows as soon as the box is ticked.
    await lifetime.fill('300');
    await allow.check();
    await section.getByText('A Client Secret in a page is readable by anyone who loads it').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await shootElement(page, section, 'environment-browser-tokens');
    await save.click();
    await page.locator('.toast.visible', { hasText: 'Saved the browser-token settings' }).waitFor();
    expect(await (await page.request.get('/api/v1/environments/browser-lab/browser-tokens')).json()).toEqual({ browserTokenLifetimeSeconds: 300, allowClientCredentialsFromBrowser: true });
    // In effect at the token endpoint from the very next request.
    expect((await fromPage()).status).toBe(200);

    // A reload reads both back; turning the switch off again refuses the next request from a page.
    await page.reload();
    await eventually(() => lifetime.inputValue()).toBe('300');
    expect(await allow.isChecked()).toBe(true);
    await allow.uncheck();
    await save.click();
    await page.locator('.toast.visible', { hasText: 'Saved the browser-token settings' }).waitFor();
    expect((await fromPage()).status).toBe(400);
    expect(await (await page.request.get('/api/v1/environments/browser-lab/browser-tokens')).json()).toEqual({ browserTokenLifetimeSeconds: 300, allowClientCredentialsFromBrowser: false });

    // The integration's Permissions tab tells the environment's lifetime.
    await page.goto(`/environments/browser-lab/integrations/${integration.clientId}/permissions`);
    await page.getByTestId('browser-tokens').getByText('5 minutes in this environment').waitFor();

    expect(cspAndPageErrors(watched)).toEqual([]);
    await watched.context.close();
  }, BROWSER_TEST_TIMEOUT);

  it('took every screenshot, and wrote into docs/console/ only when asked', () => {
    const taken = fs.readdirSync(shots).filter((name) => name.endsWith('.png'));
    expect(taken.length).toBeGreaterThanOrEqual(8);
    if (refreshDocsShots) expect(Object.keys(docsShotStamps())).toEqual(expect.arrayContaining(taken));
    else expect(docsShotStamps()).toEqual(docsShotsBefore);
  });
});
