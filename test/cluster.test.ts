import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnvironment, LATCHKEY_BIN, REPO_ROOT, runCli } from './support/cli.ts';
import { findFreePort, TEST_MASTER_KEY } from './support/latchkey.ts';

// Issue 6, point 3: `serve --workers N` shares one port between worker processes, answers /metrics
// for the whole cluster (not for whichever worker a scrape lands on), and drains on SIGTERM. On
// SQLite the cluster is the file's one serving process (storage/serving-lease.ts).

describe('latchkey serve --workers 2', () => {
  it('counts every worker in /metrics and exits cleanly on SIGTERM', { timeout: 90_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-cluster-'));
    const port = await findFreePort();
    const env = { LATCHKEY_DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`, LATCHKEY_MASTER_KEY: TEST_MASTER_KEY, PORT: String(port), LATCHKEY_LOG_LEVEL: 'warn' };
    expect((await runCli(['environments', 'create', 'c'], env)).code).toBe(0);
    const created = JSON.parse((await runCli(['integrations', 'create', '--env', 'c', '--name', 'c', '--preset', 'read-only', '--json'], env)).stdout) as { integration: { clientId: string }; clientSecret: string };
    const server = spawn(process.execPath, [LATCHKEY_BIN, 'serve', '--workers', '2'], { cwd: REPO_ROOT, env: cliEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const requests = 30;
      const tokens = new Set<string>();
      for (let i = 0; i < requests; i++) {
        // A new connection each time, so the kernel spreads them over both workers.
        const res = await fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', connection: 'close' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: created.integration.clientId, client_secret: created.clientSecret }) });
        expect(res.status).toBe(200);
        tokens.add(((await res.json()) as { access_token: string }).access_token);
      }
      // Workers share the SQLite file, so each stores a token before answering: one token for all.
      expect(tokens.size).toBe(1);
      // The primary holds the file's serving lease: another server on it stops with a message.
      const second = await runCli(['serve'], { ...env, PORT: String(await findFreePort()) }, { timeoutMs: 30_000 });
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/another Latchkey server \(pid \d+ on .+\) is serving this SQLite database; stop it first/);
      for (let scrape = 0; scrape < 3; scrape++) {
        const text = await (await fetch(`${base}/metrics`, { headers: { connection: 'close' } })).text();
        const counted = [...text.matchAll(/^latchkey_token_requests_total\{outcome="(?:cached|minted)"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
        expect(counted).toBe(requests);
      }
    } finally {
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
