// The README's "Platform API" curl examples (issue 3, point 8), run as written: every ```sh block of
// that section, in order, in one bash process with `set -euo pipefail`, against a real server with
// only LATCHKEY_URL, LATCHKEY_ISSUER, ADMIN_EMAIL and ADMIN_PASSWORD set.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from './support/cli.ts';
import { startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';
import { createTestAdmin } from './support/platform-client.ts';
import { getIntegration } from '../packages/server/src/platform/integrations.ts';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const ADMIN_EMAIL = 'readme-admin@example.com';
const ADMIN_PASSWORD = 'a README password of some length';

/** The ```sh blocks of the README section with this heading, in order. */
function shellBlocksOf(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no '${heading}' section`);
  const rest = markdown.slice(start + heading.length + 2);
  const end = rest.search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** Runs a bash script with only `env` (and PATH, HOME); resolves with its exit code and output. */
function bash(script: string, cwd: string, env: Record<string, string>) {
  return runProcess('bash', ['-c', script], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, ...env } });
}

/** What each block must print, found by what the block does. */
const EXPECTED_OUTPUT: { when: RegExp; prints: RegExp[] }[] = [
  { when: /api\/v1\/session" \\\n\s+-H 'content-type/, prints: [/^$/] },
  { when: /"id": "acme"/, prints: [/"id":"acme","name":"ACME production"/] },
  { when: /echo "\$CLIENT_ID"/, prints: [/^lkc_[0-9A-Za-z]{22}$/] },
  { when: /graceSeconds/, prints: [/"generation":2,.*"status":"active"/, /"generation":1,.*"status":"expiring"/] },
  { when: /permissions\/preset/, prints: [/"changed":\{"added":\[\],"removed":\[[^\]]*"environment-api:templates:write"/, /"grants":\{"environment-api":\["templates:read","media:read"\]\}/] },
  { when: /\/audit\?/, prints: [/"action":"integration\.permissions\.set"/, /"actor":\{"type":"admin","id":"readme-admin@example\.com"\}/, /"nextCursor":\d+/] },
  { when: /integrations\?name=editor/, prints: [/^\{"integrations":\[\{[^\n]*"name":"Editor backend"/, /"nextCursor":null/] },
  { when: /oauth\/revoke/, prints: [/^401$/, /"tokensRevokedAt":"\d{4}-/] },
  { when: /-X DELETE "\$LATCHKEY_URL\/api\/v1\/session"/, prints: [/^$/] },
];

describe('README: Platform API examples', () => {
  let lk: TestLatchkey;
  let workDir: string;
  let blocks: string[];
  let outputs: string[];
  let run: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    blocks = shellBlocksOf(fs.readFileSync(README, 'utf8'), '## Platform API');
    lk = await startTestLatchkey({ dialect: 'sqlite' });
    await createTestAdmin(lk, ADMIN_EMAIL, { platformAdmin: true }, ADMIN_PASSWORD);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-readme-'));
    const script = ['set -euo pipefail', ...blocks.flatMap((block, i) => [`printf '\\n@@ block ${i} @@\\n'`, block])].join('\n');
    run = await bash(script, workDir, { LATCHKEY_URL: lk.url, LATCHKEY_ISSUER: lk.config.issuer, ADMIN_EMAIL, ADMIN_PASSWORD });
    outputs = run.stdout.split(/\n?@@ block \d+ @@\n/).slice(1);
  });
  afterAll(async () => {
    await lk?.close();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('has a sh block for each example the issue asks for', () => {
    expect(blocks.length).toBe(EXPECTED_OUTPUT.length);
    for (const expected of EXPECTED_OUTPUT) expect(blocks.filter((block) => expected.when.test(block)), String(expected.when)).toHaveLength(1);
  });

  it('runs every block in order with exit status 0', () => {
    expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
    expect(run.stderr).toBe('');
    expect(outputs).toHaveLength(blocks.length);
  });

  it('prints what the README says each block prints', () => {
    for (const expected of EXPECTED_OUTPUT) {
      const index = blocks.findIndex((block) => expected.when.test(block));
      const output = outputs[index]!.trim();
      for (const pattern of expected.prints) expect(output, `block ${index}:\n${blocks[index]}`).toMatch(new RegExp(pattern.source, 'm'));
    }
  });

  it('left the server in the state the examples describe', async () => {
    const created = await lk.database.db.selectFrom('integrations').select(['client_id', 'name']).where('environment_id', '=', 'acme').orderBy('name').execute();
    expect(created.map((row) => row.name)).toEqual(['Editor backend', 'Provisioning bot']);
    const editor = await getIntegration(lk.server.runtime.platform, created[0]!.client_id);
    expect(editor.grants).toEqual({ 'environment-api': ['templates:read', 'media:read'] });
    expect(editor.secrets.map((s) => s.status)).toEqual(['active', 'expiring']);
    expect(editor.tokensRevokedAt).not.toBeNull();
    // Signed out at the end.
    expect(await lk.database.db.selectFrom('admin_sessions').selectAll().execute()).toEqual([]);
    // The examples never print a secret.
    expect(run.stdout).not.toMatch(/lks_[0-9A-Za-z]{49}/);
  });
});

// Issue 15, point 8: what a newcomer meets first. The README points nowhere outside the repository,
// and the "Call an API" step of the first run gives a URL that a fresh Latchkey serves, with the
// answer the README shows.
describe('README: first run', () => {
  let lk: TestLatchkey;
  const markdown = fs.readFileSync(README, 'utf8');

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect: 'sqlite' });
  });
  afterAll(async () => lk?.close());

  it('sends a newcomer to no path outside the repository', () => {
    expect(markdown.match(/(^|[\s(`'"[])\.\.\/[^\s)`'"]*/gm) ?? []).toEqual([]);
  });

  it('keeps `npm ci && npm start` and `npm test` as its first two commands', () => {
    expect(shellBlocksOf(`\n${markdown}`, '# Latchkey')[0]!.split('\n').filter(Boolean).map((line) => line.replace(/\s+#.*$/, ''))).toEqual(['npm ci && npm start', 'npm test']);
  });

  it("calls the Environment API of the environment it created, at the URL its 'Call an API' step gives", async () => {
    const call = shellBlocksOf(markdown, '## First run, step by step').find((block) => /Authorization: Bearer \$TOKEN/.test(block));
    expect(call, 'a sh block calling an API with $TOKEN').toBeDefined();
    const printed = /^# (\{.*\})$/m.exec(call!)?.[1];
    expect(printed, 'the answer the README shows').toBeDefined();
    // The step before made an integration in `demo` with --preset all and got a token for it.
    const { integration, clientSecret } = await lk.createIntegration({ environmentId: 'demo', name: 'Editor backend' });
    const token = (await (await lk.postToken({ grant_type: 'client_credentials', client_id: integration.clientId, client_secret: clientSecret })).json()) as { access_token: string };
    const script = call!.replace(/^TOKEN=.*$/m, '').replaceAll('http://127.0.0.1:8080', lk.url);
    const run = await bash(`set -euo pipefail\n${script}`, os.tmpdir(), { TOKEN: token.access_token });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(printed!));
  });
});
