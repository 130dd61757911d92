import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnvironment, LATCHKEY_BIN, REPO_ROOT } from './support/cli.ts';
import { findFreePort, TEST_MASTER_KEY } from './support/latchkey.ts';

// The other suites run the TypeScript sources in-process; `latchkey serve` runs the esbuild bundle
// (packages/server/scripts/bundle.mjs). Bundling can break what a library finds at run time — its
// own files through __dirname, a CommonJS module it import()s — and only shows when that code runs.
// So this walks the bundled server through each such part as a user would: the console, a first
// sign-in (session cookie: @fastify/cookie), the API docs (swagger, swagger-ui's static files),
// validation (Ajv, compiled on first use) and a token.

describe('latchkey serve (the bundled server)', () => {
  it('serves the console, signs in, serves the API docs, validates bodies and issues a token', { timeout: 90_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-bundle-'));
    const port = await findFreePort();
    const password = 'bundled server passphrase';
    const env = {
      LATCHKEY_DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`,
      LATCHKEY_DATA_DIR: dir,
      LATCHKEY_MASTER_KEY: TEST_MASTER_KEY,
      LATCHKEY_ADMIN_EMAIL: 'bundle@example.com',
      LATCHKEY_ADMIN_PASSWORD: password,
      PORT: String(port),
      LATCHKEY_LOG_LEVEL: 'warn',
    };
    const server = spawn(process.execPath, [LATCHKEY_BIN, 'serve'], { cwd: REPO_ROOT, env: cliEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    server.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;
    try {
      // As a user does: the banner says where it runs and that the first admin exists.
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !stdout.includes('First run: created the platform admin')) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stdout, stderr).toContain(`Latchkey is running at http://`);
      expect((await fetch(`${base}/readyz`)).status, stderr).toBe(200);

      const consolePage = await fetch(`${base}/`);
      expect(consolePage.status).toBe(200);
      expect(await consolePage.text()).toContain('<div id="root">');

      const signIn = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bundle@example.com', password }) });
      expect(signIn.status, await signIn.clone().text()).toBe(200);
      expect(signIn.headers.getSetCookie().some((cookie) => cookie.startsWith('latchkey_session='))).toBe(true);

      const invalid = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 1 }) });
      expect(invalid.status).toBe(400);
      expect(((await invalid.json()) as { code: string }).code).toBe('validation_failed');

      const openapi = await fetch(`${base}/docs/json`);
      expect(openapi.status).toBe(200);
      expect(((await openapi.json()) as { openapi: string }).openapi).toMatch(/^3\./);
      for (const asset of ['/docs', '/docs/static/logo.svg', '/docs/yaml']) expect((await fetch(`${base}${asset}`)).status, asset).toBe(200);

      const refused = await fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_id=lkc_0000000000000000000000&client_secret=nope' });
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: string }).error).toBe('invalid_client');
    } finally {
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
