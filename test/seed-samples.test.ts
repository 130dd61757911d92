// The seed's code samples are real clients (design.md, issue 2): with only the URL and the
// credentials changed, the cURL, Python `requests`, Node `fetch` and Go samples each get a token
// from Latchkey. The samples live verbatim in test/fixtures/seed/ and are run by the real tools
// (curl, python3, node, go) in child processes. The Node sample sends client_id as the secret (the
// seed's own bug): Latchkey must answer invalid_client saying exactly that, and the corrected sample
// must succeed.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const fixtures = path.join(repoRoot, 'test/fixtures/seed');
const seedPath = path.resolve(repoRoot, '../shared/seed/managing-integrations-and-authentication.md');

const SEED_URL = 'https://integration-login.chiligrafx.com/oauth/token';
const SAMPLES = { curl: 'curl.sh', python: 'get_token.py', node: 'token.mjs', go: 'main.go' } as const;
const ALL_ENVIRONMENT_SCOPES = 'templates:read templates:write projects:read projects:write media:read media:write fonts:read fonts:write';

const hasGo = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;

function readSample(name: keyof typeof SAMPLES): string {
  return fs.readFileSync(path.join(fixtures, SAMPLES[name]), 'utf8');
}

/** The sample with the URL and the credential placeholders filled in; nothing else changes. */
function fillIn(sample: string, values: { url: string; clientId: string; clientSecret: string }): string {
  expect(sample).toContain(SEED_URL);
  return sample
    .replaceAll(SEED_URL, values.url)
    .replaceAll('<CLIENT_ID>', values.clientId)
    .replaceAll('<YOUR CLIENT ID>', values.clientId)
    .replaceAll('<CLIENT_SECRET>', values.clientSecret)
    .replaceAll('<YOUR CLIENT SECRET>', values.clientSecret);
}

/** The words of a shell command as sh would pass them: `\`-newline joins lines, '…' quotes. */
function shellWords(command: string): string[] {
  const words: string[] = [];
  for (const match of command.replace(/\\\n/g, ' ').matchAll(/'([^']*)'|(\S+)/g)) words.push(match[1] ?? match[2]!);
  return words;
}

interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with no shell; never rejects, so tests can assert on failures too. */
function run(file: string, args: string[], options: { cwd?: string; env?: Record<string, string>; timeout?: number } = {}): Promise<ChildResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        // Loopback must never go through a proxy the machine may have configured.
        env: { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost', ...options.env },
        timeout: options.timeout ?? 20_000,
        maxBuffer: 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** The Markdown code blocks of the seed (inside `=== "tab"` sections, so indented by four spaces). */
function seedCodeBlocks(markdown: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of markdown.matchAll(/^ {4}``` ?(\S+)\n([\s\S]*?)^ {4}```$/gm)) {
    const body = match[2]!
      .split('\n')
      .map((line) => (line.startsWith('    ') ? line.slice(4) : line))
      .join('\n');
    blocks.set(match[1]!, body);
  }
  return blocks;
}

describe('the seed samples in test/fixtures/seed', () => {
  it.skipIf(!fs.existsSync(seedPath))('are the code blocks of the seed, byte for byte', () => {
    const blocks = seedCodeBlocks(fs.readFileSync(seedPath, 'utf8'));
    expect(readSample('curl')).toBe(blocks.get('SH'));
    expect(readSample('python')).toBe(blocks.get('python'));
    expect(readSample('node')).toBe(blocks.get('javascript'));
    expect(readSample('go')).toBe(blocks.get('go'));
  });
});

describe.each(DIALECTS)('seed samples against Latchkey (%s)', (dialect) => {
  let lk: TestLatchkey;
  let clientId: string;
  let clientSecret: string;
  let tokenUrl: string;
  /** The token Latchkey caches for this integration and the Environment API; every sample must get it. */
  let cachedToken: string;
  let workDir: string;

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect });
    const created = await lk.createIntegration({ name: 'seed samples' });
    clientId = created.integration.clientId;
    clientSecret = created.clientSecret;
    tokenUrl = `${lk.url}/oauth/token`;
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-seed-'));
    const res = await lk.postToken({ grant_type: 'client_credentials', audience: 'https://chiligrafx.com', client_id: clientId, client_secret: clientSecret });
    expect(res.status).toBe(200);
    cachedToken = ((await res.json()) as { access_token: string }).access_token;
  });
  afterAll(async () => {
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    await lk?.close();
  });

  /** Writes a filled-in sample into the work directory and returns its path. */
  function writeSample(name: keyof typeof SAMPLES, change: (source: string) => string = (s) => s, fileName: string = SAMPLES[name]): string {
    const file = path.join(workDir, fileName);
    fs.writeFileSync(file, change(fillIn(readSample(name), { url: tokenUrl, clientId, clientSecret })));
    return file;
  }

  /** Checks a token the way the seed promises it: the Environment API's, for this integration. */
  function expectEnvironmentApiToken(token: string): void {
    expect(token).toBe(cachedToken);
    expect(decodeJwt(token)).toMatchObject({
      iss: lk.url,
      sub: clientId,
      aud: lk.config.environmentApiAudience,
      environment: 'demo',
      scope: ALL_ENVIRONMENT_SCOPES,
    });
  }

  it('cURL (form body, audience https://chiligrafx.com): 200 with access_token, token_type, expires_in and scope', async () => {
    const [program, ...args] = shellWords(fillIn(readSample('curl'), { url: tokenUrl, clientId, clientSecret }));
    expect(program).toBe('curl');
    expect(args).toEqual([
      '--location',
      '--request',
      'POST',
      tokenUrl,
      '--header',
      'content-type: application/x-www-form-urlencoded',
      '--data-urlencode',
      'audience=https://chiligrafx.com',
      '--data-urlencode',
      'grant_type=client_credentials',
      '--data-urlencode',
      `client_id=${clientId}`,
      '--data-urlencode',
      `client_secret=${clientSecret}`,
    ]);
    // Output options only: they change what curl prints, not what it sends.
    const result = await run('curl', [...args, '--silent', '--show-error', '--dump-header', '-']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [head, body] = result.stdout.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head).toMatch(/^cache-control: no-store\r?$/im);
    expect(head).toMatch(/^pragma: no-cache\r?$/im);
    expect(head).toMatch(/^content-type: application\/json/im);
    const json = JSON.parse(body) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['access_token', 'token_type', 'expires_in', 'scope']);
    expect(json.token_type).toBe('Bearer');
    expect(Number.isInteger(json.expires_in)).toBe(true);
    expect(json.expires_in).toBeGreaterThan(lk.config.tokenTtlSeconds - 60);
    expect(json.expires_in).toBeLessThanOrEqual(lk.config.tokenTtlSeconds);
    expect(json.scope).toBe(ALL_ENVIRONMENT_SCOPES);
    expectEnvironmentApiToken(json.access_token as string);
  });

  it('cURL pasted into a shell as written gets the same cached token', async () => {
    const result = await run('sh', [writeSample('curl')]);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { access_token: string; token_type: string };
    expect(json.token_type).toBe('Bearer');
    expectEnvironmentApiToken(json.access_token);
  });

  it('Python requests (JSON body) prints a token', async () => {
    const result = await run('python3', [writeSample('python')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expectEnvironmentApiToken(result.stdout.trim());
  });

  it('Python requests with a wrong secret raises with the invalid_client body', async () => {
    const file = writeSample('python', (source) => source.replace(`client_secret = '${clientSecret}'`, `client_secret = '${clientSecret.slice(0, -2)}zz'`), 'wrong_secret.py');
    const result = await run('python3', [file]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    // Two characters changed by hand break the secret's checksum: the description says so.
    expect(result.stderr).toMatch(/Exception: \{"error":"invalid_client","error_description":"client_secret looks truncated or mistyped[^"]*"\}/);
  });

  it("Node fetch as published (client_id sent as client_secret) gets 401 invalid_client saying the secret is the client ID", async () => {
    const source = readSample('node');
    expect(source).toContain("'client_secret': client_id");
    const result = await run(process.execPath, ['--import', pathToFileURL(path.join(fixtures, 'record-fetch.mjs')).href, writeSample('node')]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('latchkey-test-fetch {"status":401,"contentType":"application/json; charset=utf-8"}');
    expect(result.stdout).toContain("error: 'invalid_client'");
    expect(result.stdout).toContain(
      "error_description: 'client_secret is the same as client_id: the request sent the Client ID where the Client Secret belongs'",
    );
    expect(result.stdout).not.toContain('access_token');
  });

  it('Node fetch, corrected to send client_secret, gets the token', async () => {
    const file = writeSample('node', (source) => source.replace("'client_secret': client_id", "'client_secret': client_secret"), 'token-corrected.mjs');
    const result = await run(process.execPath, ['--import', pathToFileURL(path.join(fixtures, 'record-fetch.mjs')).href, file]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('latchkey-test-fetch {"status":200,');
    expect(result.stdout).toMatch(/token_type: 'Bearer'/);
    expect(result.stdout).toMatch(/expires_in: \d+/);
    expect(result.stdout).toContain(`scope: '${ALL_ENVIRONMENT_SCOPES}'`);
    const token = /access_token: '([^']+)'/.exec(result.stdout)?.[1];
    expectEnvironmentApiToken(token!);
  });

  it.skipIf(!hasGo)(
    'Go net/http (JSON body) prints the token',
    async () => {
      const dir = fs.mkdtempSync(path.join(workDir, 'go-'));
      fs.copyFileSync(writeSample('go'), path.join(dir, 'main.go'));
      const result = await run('go', ['run', 'main.go'], {
        cwd: dir,
        // A cache shared between runs keeps the second compile fast; GOTOOLCHAIN=local never downloads.
        env: { GOCACHE: process.env.GOCACHE ?? path.join(os.tmpdir(), 'latchkey-test-go-cache'), GOTOOLCHAIN: 'local', GOFLAGS: '' },
        timeout: 120_000,
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const token = /^Token: (\S+)\n$/.exec(result.stdout)?.[1];
      expectEnvironmentApiToken(token!);
    },
    150_000,
  );
});
