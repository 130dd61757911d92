// The Environment API (issue 5, point 2) against a real server over both dialects: every route's
// scope, environment and error behaviour, documents and binary assets end to end, and the bytes on disk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, startTestLatchkey, TEST_CONTEXT, type TestLatchkey } from './support/latchkey.ts';
import { deleteEnvironment } from '../packages/server/src/platform/environments.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];
const READ_ONLY = ALL.filter((scope) => scope.endsWith(':read'));
const REALM = 'latchkey-environment-api';

/** A 1×1 transparent PNG. */
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const JPEG_START = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]);
const WOFF2 = Buffer.concat([Buffer.from('wOF2'), Buffer.alloc(60, 1)]);

interface Call {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function call(lk: TestLatchkey, method: string, urlPath: string, options: { token?: string; body?: unknown; raw?: Buffer; contentType?: string; headers?: Record<string, string> } = {}): Promise<Call> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (options.raw !== undefined) {
    body = new Uint8Array(options.raw);
    headers['content-type'] = options.contentType ?? 'application/octet-stream';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const response = await fetch(`${lk.url}${urlPath}`, { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

async function tokenOf(lk: TestLatchkey, grants: string[], environmentId = 'demo', name = 'test integration'): Promise<{ token: string; clientId: string }> {
  const { integration, clientSecret } = await lk.createIntegration({ environmentId, name, grants: { 'environment-api': grants } });
  const response = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(integration.clientId, clientSecret) });
  const body = (await response.json()) as { access_token: string };
  expect(response.status).toBe(200);
  return { token: body.access_token, clientId: integration.clientId };
}

function expectProblem(result: Call, status: number, code: string): void {
  expect(result.status, result.text).toBe(status);
  expect(result.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(result.json).toMatchObject({ status, code, type: `https://latchkey.dev/problems/${code}` });
  expect(typeof result.json.detail).toBe('string');
}

/** Every route with the scopes it needs; `:id` is filled with an id that does not exist. */
const ROUTES: { method: string; path: string; scopes: string[]; body?: unknown; raw?: Buffer; contentType?: string }[] = [
  { method: 'GET', path: 'templates', scopes: ['templates:read'] },
  { method: 'POST', path: 'templates', scopes: ['templates:write'], body: { name: 'T', content: {} } },
  { method: 'GET', path: 'templates/tpl_missing', scopes: ['templates:read'] },
  { method: 'PUT', path: 'templates/tpl_missing', scopes: ['templates:write'], body: { name: 'T', content: {} } },
  { method: 'DELETE', path: 'templates/tpl_missing', scopes: ['templates:write'] },
  { method: 'GET', path: 'projects', scopes: ['projects:read'] },
  { method: 'POST', path: 'projects', scopes: ['projects:write', 'templates:read'], body: { name: 'P', templateId: 'tpl_missing' } },
  { method: 'GET', path: 'projects/prj_missing', scopes: ['projects:read'] },
  { method: 'PUT', path: 'projects/prj_missing', scopes: ['projects:write'], body: { name: 'P', content: {} } },
  { method: 'DELETE', path: 'projects/prj_missing', scopes: ['projects:write'] },
  { method: 'GET', path: 'media', scopes: ['media:read'] },
  { method: 'POST', path: 'media', scopes: ['media:write'], raw: PNG, contentType: 'image/png' },
  { method: 'GET', path: 'media/med_missing', scopes: ['media:read'] },
  { method: 'DELETE', path: 'media/med_missing', scopes: ['media:write'] },
  { method: 'GET', path: 'fonts', scopes: ['fonts:read'] },
  { method: 'POST', path: 'fonts', scopes: ['fonts:write'], raw: WOFF2, contentType: 'font/woff2' },
  { method: 'GET', path: 'fonts/fnt_missing', scopes: ['fonts:read'] },
  { method: 'DELETE', path: 'fonts/fnt_missing', scopes: ['fonts:write'] },
];

describe.each(DIALECTS)('Environment API (%s)', (dialect) => {
  let lk: TestLatchkey;
  let dataDir: string;
  let all: { token: string; clientId: string };
  let readOnly: { token: string; clientId: string };
  let otherAll: { token: string; clientId: string };
  const single = new Map<string, string>();

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-env-api-'));
    lk = await startTestLatchkey({ dialect, env: { LATCHKEY_DATA_DIR: dataDir } });
    await lk.createEnvironment('other');
    all = await tokenOf(lk, ALL, 'demo', 'backend');
    readOnly = await tokenOf(lk, READ_ONLY, 'demo', 'browser');
    otherAll = await tokenOf(lk, ALL, 'other', 'other backend');
    for (const scope of ALL) single.set(scope, (await tokenOf(lk, [scope], 'demo', `only ${scope}`)).token);
  });
  afterAll(async () => {
    await lk?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const api = (rest: string, environmentId = 'demo') => `/api/v1/environments/${environmentId}/${rest}`;

  describe('authentication (RFC 6750, through @latchkey/resource)', () => {
    it('answers 401 with a bare Bearer challenge when no token is sent', async () => {
      const result = await call(lk, 'GET', api('templates'));
      expect(result.status).toBe(401);
      expect(result.headers.get('www-authenticate')).toBe(`Bearer realm="${REALM}"`);
    });

    it('answers 401 invalid_token for a garbage token', async () => {
      const result = await call(lk, 'GET', api('templates'), { token: 'not.a.jwt' });
      expect(result.status).toBe(401);
      expect(result.headers.get('www-authenticate')).toMatch(/^Bearer realm="latchkey-environment-api", error="invalid_token"/);
    });

    it('refuses a token in the query string', async () => {
      const result = await call(lk, 'GET', `${api('templates')}?access_token=${all.token}`);
      expect(result.status).toBe(400);
      expect(result.json.error).toBe('invalid_request');
    });

    it('refuses a Platform API token (wrong audience) with 401 invalid_token', async () => {
      const { integration, clientSecret } = await lk.createIntegration({ grants: { 'platform-api': ['integrations:read'] } });
      const response = await lk.postToken({ grant_type: 'client_credentials', audience: lk.config.platformApiAudience }, { authorization: basicAuthorization(integration.clientId, clientSecret) });
      const token = ((await response.json()) as { access_token: string }).access_token;
      const result = await call(lk, 'GET', api('templates'), { token });
      expect(result.status).toBe(401);
      expect(result.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(result.json.error_description).toContain('(aud)');
    });
  });

  describe('route matrix', () => {
    it('lets each route through exactly the tokens that carry its scopes', async () => {
      for (const route of ROUTES) {
        for (const [scope, token] of single) {
          const result = await call(lk, route.method, api(route.path), { token, body: route.body, raw: route.raw, contentType: route.contentType });
          const allowed = route.scopes.every((needed) => needed === scope);
          const label = `${route.method} ${route.path} with only ${scope}`;
          if (allowed) {
            expect([200, 201, 204, 400, 404], label).toContain(result.status);
          } else {
            expect(result.status, label).toBe(403);
            expect(result.headers.get('www-authenticate'), label).toBe(
              `Bearer realm="${REALM}", error="insufficient_scope", error_description="the access token lacks a scope this request needs: ${route.scopes.join(' ')}", scope="${route.scopes.join(' ')}"`,
            );
            expect(result.json).toEqual({
              error: 'insufficient_scope',
              error_description: `the access token lacks a scope this request needs: ${route.scopes.join(' ')}`,
              scope: route.scopes.join(' '),
            });
          }
        }
      }
    });

    it('lets the all-permissions token through every route, and the read-only token through reads only', async () => {
      for (const route of ROUTES) {
        const withAll = await call(lk, route.method, api(route.path), { token: all.token, body: route.body, raw: route.raw, contentType: route.contentType });
        expect(withAll.status, `${route.method} ${route.path}`).not.toBe(403);
        expect(withAll.status, `${route.method} ${route.path}`).not.toBe(401);
        const withRead = await call(lk, route.method, api(route.path), { token: readOnly.token, body: route.body, raw: route.raw, contentType: route.contentType });
        if (route.scopes.every((scope) => scope.endsWith(':read'))) expect(withRead.status).not.toBe(403);
        else expect(withRead.status, `${route.method} ${route.path}`).toBe(403);
      }
    });

    it("refuses another environment's token on every route with 403 wrong_environment, whatever its scopes", async () => {
      const fontsOnlyOther = (await tokenOf(lk, ['fonts:read'], 'other', 'other fonts')).token;
      for (const route of ROUTES) {
        for (const token of [otherAll.token, fontsOnlyOther]) {
          const result = await call(lk, route.method, api(route.path), { token, body: route.body, raw: route.raw, contentType: route.contentType });
          expectProblem(result, 403, 'wrong_environment');
          expect(result.json.detail).toContain('"other"');
          expect(result.headers.get('www-authenticate')).toBe(
            `Bearer realm="${REALM}", error="insufficient_scope", error_description="the access token belongs to another environment"`,
          );
        }
      }
      // Even for an environment that does not exist: no hint whether it does.
      expectProblem(await call(lk, 'GET', api('templates', 'no-such-env'), { token: all.token }), 403, 'wrong_environment');
    });

    it('refuses the tokens of a deleted environment at once: deleting it revoked them (401 invalid_token)', async () => {
      await lk.createEnvironment('doomed');
      const doomed = await tokenOf(lk, ALL, 'doomed', 'doomed');
      expect((await call(lk, 'GET', api('templates', 'doomed'), { token: doomed.token })).status).toBe(200);
      await deleteEnvironment(lk.server.runtime.platform, 'doomed', TEST_CONTEXT);
      const result = await call(lk, 'GET', api('templates', 'doomed'), { token: doomed.token });
      expect(result.status, result.text).toBe(401);
      expect(result.headers.get('www-authenticate')).toBe(`Bearer realm="${REALM}", error="invalid_token", error_description="the token has been revoked"`);
    });
  });

  describe('templates', () => {
    it('creates, reads, lists, replaces and deletes a template', async () => {
      const created = await call(lk, 'POST', api('templates'), { token: all.token, body: { name: '  Business card ', content: { pages: [{ width: 85, height: 55 }], title: 'Ünïcode ✓' } } });
      expect(created.status).toBe(201);
      const id = created.json.id as string;
      expect(id).toMatch(/^tpl_[0-9a-z]{26}$/);
      expect(created.headers.get('location')).toBe(`/api/v1/environments/demo/templates/${id}`);
      const size = Buffer.byteLength(JSON.stringify({ pages: [{ width: 85, height: 55 }], title: 'Ünïcode ✓' }));
      expect(created.json).toEqual({
        id,
        name: 'Business card',
        size,
        createdBy: all.clientId,
        updatedBy: all.clientId,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        updatedAt: created.json.createdAt,
        content: { pages: [{ width: 85, height: 55 }], title: 'Ünïcode ✓' },
      });

      const read = await call(lk, 'GET', api(`templates/${id}`), { token: readOnly.token });
      expect(read.status).toBe(200);
      expect(read.json).toEqual(created.json);

      const list = await call(lk, 'GET', api('templates'), { token: readOnly.token });
      expect(list.status).toBe(200);
      const listed = (list.json.templates as { id: string }[]).find((t) => t.id === id);
      expect(listed).toEqual({ ...created.json, content: undefined });
      expect(listed).not.toHaveProperty('content');

      const replaced = await call(lk, 'PUT', api(`templates/${id}`), { token: all.token, body: { name: 'Card v2', content: { pages: [] } } });
      expect(replaced.status).toBe(200);
      expect(replaced.json).toMatchObject({ id, name: 'Card v2', content: { pages: [] }, createdAt: created.json.createdAt });

      expect((await call(lk, 'DELETE', api(`templates/${id}`), { token: all.token })).status).toBe(204);
      expectProblem(await call(lk, 'GET', api(`templates/${id}`), { token: all.token }), 404, 'template_not_found');
      expectProblem(await call(lk, 'DELETE', api(`templates/${id}`), { token: all.token }), 404, 'template_not_found');
    });

    it('pages through a list with limit and cursor, oldest first', async () => {
      await lk.createEnvironment(`paging-${dialect}`);
      const paging = await tokenOf(lk, ALL, `paging-${dialect}`);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await call(lk, 'POST', api('templates', `paging-${dialect}`), { token: paging.token, body: { name: `T${i}`, content: { i } } })).json.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Call = await call(lk, 'GET', `${api('templates', `paging-${dialect}`)}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: paging.token });
        expect(page.status).toBe(200);
        seen.push(...(page.json.templates as { id: string }[]).map((t) => t.id));
        cursor = page.json.nextCursor;
      } while (cursor !== null);
      expect(seen).toEqual(ids);
    });

    it('refuses bad documents with a problem naming what is wrong', async () => {
      expectProblem(await call(lk, 'POST', api('templates'), { token: all.token, body: { name: 'T', content: {} }, contentType: 'text/plain' }), 415, 'unsupported_media_type');
      const missing = await call(lk, 'POST', api('templates'), { token: all.token, body: { content: {} } });
      expectProblem(missing, 400, 'validation_failed');
      expect(missing.json.errors).toEqual([{ field: 'name', message: expect.any(String) }]);
      expectProblem(await call(lk, 'POST', api('templates'), { token: all.token, body: { name: 'T', content: [1, 2] } }), 400, 'validation_failed');
      expectProblem(await call(lk, 'POST', api('templates'), { token: all.token, body: { name: '   ', content: {} } }), 400, 'validation_failed');
      expectProblem(await call(lk, 'POST', api('templates'), { token: all.token, body: { name: 'x'.repeat(201), content: {} } }), 400, 'validation_failed');
      const broken = await fetch(`${lk.url}${api('templates')}`, { method: 'POST', headers: { authorization: `Bearer ${all.token}`, 'content-type': 'application/json' }, body: '{"name":' });
      expect(broken.status).toBe(400);
      expect(broken.headers.get('content-type')).toMatch(/^application\/problem\+json/);

      const tooBig = await call(lk, 'POST', api('templates'), { token: all.token, body: { name: 'Big', content: { blob: 'x'.repeat(1024 * 1024) } } });
      expectProblem(tooBig, 413, 'body_too_large');
      expect(tooBig.json.detail).toBe('documents may be at most 1 MiB of JSON');
    });
  });

  describe('projects', () => {
    it('creates a project from a template, owned by the integration that created it', async () => {
      const template = await call(lk, 'POST', api('templates'), { token: all.token, body: { name: 'Flyer', content: { layout: 'A5', layers: [1, 2, 3] } } });
      const created = await call(lk, 'POST', api('projects'), { token: all.token, body: { name: 'Spring flyer', templateId: template.json.id } });
      expect(created.status).toBe(201);
      expect(created.json).toEqual({
        id: expect.stringMatching(/^prj_/),
        name: 'Spring flyer',
        size: Buffer.byteLength(JSON.stringify({ layout: 'A5', layers: [1, 2, 3] })),
        templateId: template.json.id,
        owner: { clientId: all.clientId, name: 'backend' },
        createdBy: all.clientId,
        updatedBy: all.clientId,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        content: { layout: 'A5', layers: [1, 2, 3] },
      });
      const id = created.json.id as string;

      const read = await call(lk, 'GET', api(`projects/${id}`), { token: readOnly.token });
      expect(read.json.owner).toEqual({ clientId: all.clientId, name: 'backend' });
      const list = await call(lk, 'GET', api('projects'), { token: readOnly.token });
      const listed = (list.json.projects as { id: string; owner: unknown; content?: unknown }[]).find((p) => p.id === id);
      expect(listed?.owner).toEqual({ clientId: all.clientId, name: 'backend' });
      expect(listed).not.toHaveProperty('content');

      // Filter by owner.
      const other = await tokenOf(lk, ['projects:write', 'templates:read', 'projects:read'], 'demo', 'second owner');
      await call(lk, 'POST', api('projects'), { token: other.token, body: { name: 'Theirs', templateId: template.json.id } });
      const mine = await call(lk, 'GET', `${api('projects')}?owner=${all.clientId}`, { token: readOnly.token });
      expect((mine.json.projects as { owner: { clientId: string } }[]).every((p) => p.owner.clientId === all.clientId)).toBe(true);
      const theirs = await call(lk, 'GET', `${api('projects')}?owner=${other.clientId}`, { token: readOnly.token });
      expect((theirs.json.projects as { name: string }[]).map((p) => p.name)).toEqual(['Theirs']);

      // The project keeps its content when the template changes or goes.
      await call(lk, 'DELETE', api(`templates/${template.json.id}`), { token: all.token });
      const after = await call(lk, 'GET', api(`projects/${id}`), { token: all.token });
      expect(after.json.content).toEqual({ layout: 'A5', layers: [1, 2, 3] });
      expect(after.json.templateId).toBe(template.json.id);

      const updated = await call(lk, 'PUT', api(`projects/${id}`), { token: other.token, body: { name: 'Renamed', content: { layout: 'A4' } } });
      expect(updated.json).toMatchObject({ name: 'Renamed', updatedBy: other.clientId, owner: { clientId: all.clientId } });
    });

    it('answers 400 template_not_found for a project from a missing template', async () => {
      const result = await call(lk, 'POST', api('projects'), { token: all.token, body: { name: 'P', templateId: 'tpl_nope' } });
      expectProblem(result, 400, 'template_not_found');
      expect(result.json.errors).toEqual([{ field: 'templateId', message: result.json.detail }]);
    });

    it("does not show another environment's templates or projects", async () => {
      const template = await call(lk, 'POST', api('templates', 'other'), { token: otherAll.token, body: { name: 'Theirs', content: {} } });
      expectProblem(await call(lk, 'GET', api(`templates/${template.json.id}`), { token: all.token }), 404, 'template_not_found');
      expectProblem(await call(lk, 'POST', api('projects'), { token: all.token, body: { name: 'P', templateId: template.json.id } }), 400, 'template_not_found');
    });
  });

  describe('media and fonts', () => {
    it('uploads an image, lists it, serves it with its type and ETag, answers 304, and deletes it from disk', async () => {
      const upload = await call(lk, 'POST', `${api('media')}?name=${encodeURIComponent('dot ✓.png')}`, { token: all.token, raw: PNG, contentType: 'image/png' });
      expect(upload.status).toBe(201);
      const sha256 = createHash('sha256').update(PNG).digest('hex');
      const id = upload.json.id as string;
      expect(upload.json).toEqual({
        id: expect.stringMatching(/^med_/),
        kind: 'media',
        name: 'dot ✓.png',
        contentType: 'image/png',
        size: PNG.length,
        sha256,
        etag: `"${sha256}"`,
        url: `${lk.config.issuer}/api/v1/environments/demo/media/${id}`,
        createdBy: all.clientId,
        createdAt: expect.any(String),
      });
      expect(upload.headers.get('etag')).toBe(`"${sha256}"`);
      expect(upload.headers.get('location')).toBe(`/api/v1/environments/demo/media/${id}`);
      // SQLite keeps the bytes under the data directory; PostgreSQL in the shared database.
      if (dialect === 'sqlite') expect(fs.readFileSync(path.join(dataDir, 'blobs', 'demo', 'media', id))).toEqual(PNG);
      else expect(Buffer.from((await lk.database.db.selectFrom('blobs').select('data').where('key', '=', `demo/media/${id}`).executeTakeFirstOrThrow()).data)).toEqual(PNG);

      const list = await call(lk, 'GET', api('media'), { token: readOnly.token });
      expect((list.json.media as { id: string }[]).find((m) => m.id === id)).toEqual(upload.json);

      const download = await fetch(`${lk.url}${api(`media/${id}`)}`, { headers: { authorization: `Bearer ${readOnly.token}` } });
      expect(download.status).toBe(200);
      expect(download.headers.get('content-type')).toBe('image/png');
      expect(download.headers.get('etag')).toBe(`"${sha256}"`);
      expect(download.headers.get('content-length')).toBe(String(PNG.length));
      expect(download.headers.get('x-content-type-options')).toBe('nosniff');
      expect(download.headers.get('cache-control')).toBe('private, no-cache');
      expect(Buffer.from(await download.arrayBuffer())).toEqual(PNG);

      for (const ifNoneMatch of [`"${sha256}"`, `W/"${sha256}"`, `"other", "${sha256}"`, '*']) {
        const cached = await fetch(`${lk.url}${api(`media/${id}`)}`, { headers: { authorization: `Bearer ${readOnly.token}`, 'if-none-match': ifNoneMatch } });
        expect(cached.status, ifNoneMatch).toBe(304);
        expect(cached.headers.get('etag')).toBe(`"${sha256}"`);
        expect(await cached.text()).toBe('');
      }
      const stale = await fetch(`${lk.url}${api(`media/${id}`)}`, { headers: { authorization: `Bearer ${readOnly.token}`, 'if-none-match': '"stale"' } });
      expect(stale.status).toBe(200);
      await stale.arrayBuffer();

      expect((await call(lk, 'DELETE', api(`media/${id}`), { token: all.token })).status).toBe(204);
      if (dialect === 'sqlite') expect(fs.existsSync(path.join(dataDir, 'blobs', 'demo', 'media', id))).toBe(false);
      else expect(await lk.database.db.selectFrom('blobs').select('key').where('key', '=', `demo/media/${id}`).executeTakeFirst()).toBeUndefined();
      expectProblem(await call(lk, 'GET', api(`media/${id}`), { token: all.token }), 404, 'media_not_found');
    });

    it('uploads and serves a font', async () => {
      const upload = await call(lk, 'POST', `${api('fonts')}?name=Brand.woff2`, { token: all.token, raw: WOFF2, contentType: 'font/woff2' });
      expect(upload.status).toBe(201);
      expect(upload.json).toMatchObject({ kind: 'fonts', contentType: 'font/woff2', name: 'Brand.woff2', id: expect.stringMatching(/^fnt_/) });
      const download = await fetch(upload.json.url.replace(lk.config.issuer, lk.url), { headers: { authorization: `Bearer ${readOnly.token}` } });
      expect(download.headers.get('content-type')).toBe('font/woff2');
      expect(Buffer.from(await download.arrayBuffer())).toEqual(WOFF2);
      // A font is not media.
      expectProblem(await call(lk, 'GET', api(`media/${upload.json.id}`), { token: all.token }), 404, 'media_not_found');
    });

    it('refuses uploads of the wrong type, of bytes that do not match the type, empty, or too large', async () => {
      const text = await call(lk, 'POST', api('media'), { token: all.token, raw: Buffer.from('hello'), contentType: 'text/plain' });
      expectProblem(text, 415, 'unsupported_media_type');
      expect(text.json.detail).toContain('image/png');
      expectProblem(await call(lk, 'POST', api('fonts'), { token: all.token, raw: PNG, contentType: 'image/png' }), 415, 'unsupported_media_type');
      expectProblem(await call(lk, 'POST', api('media'), { token: all.token, raw: WOFF2, contentType: 'font/woff2' }), 415, 'unsupported_media_type');
      const lying = await call(lk, 'POST', api('media'), { token: all.token, raw: JPEG_START, contentType: 'image/png' });
      expectProblem(lying, 415, 'content_type_mismatch');
      const script = await call(lk, 'POST', api('media'), { token: all.token, raw: Buffer.from('<script>alert(1)</script>'), contentType: 'image/svg+xml' });
      expectProblem(script, 415, 'content_type_mismatch');
      expectProblem(await call(lk, 'POST', api('media'), { token: all.token, raw: Buffer.alloc(0), contentType: 'image/png' }), 400, 'empty_upload');

      const bigImage = Buffer.concat([PNG, Buffer.alloc(10 * 1024 * 1024)]);
      const tooBig = await call(lk, 'POST', api('media'), { token: all.token, raw: bigImage, contentType: 'image/png' });
      expectProblem(tooBig, 413, 'body_too_large');
      expect(tooBig.json.detail).toBe('media file uploads may be at most 10 MiB');
      const bigFont = Buffer.concat([WOFF2, Buffer.alloc(5 * 1024 * 1024)]);
      const fontTooBig = await call(lk, 'POST', api('fonts'), { token: all.token, raw: bigFont, contentType: 'font/woff2' });
      expectProblem(fontTooBig, 413, 'body_too_large');
      expect(fontTooBig.json.detail).toBe('font uploads may be at most 5 MiB');
      // Refused before the body is read: the connection is closed after the answer, not left waiting.
      for (const token of [all.token, 'not-a-token']) {
        const early = await call(lk, 'POST', api('media'), { token, raw: Buffer.alloc(3 * 1024 * 1024), contentType: 'text/plain' });
        expect(early.status).toBe(token === all.token ? 415 : 401);
        expect(early.headers.get('connection')).toBe('close');
      }
      // A 10 MiB file is fine.
      const justFits = await call(lk, 'POST', api('media'), { token: all.token, raw: Buffer.concat([PNG, Buffer.alloc(10 * 1024 * 1024 - PNG.length)]), contentType: 'image/png' });
      expect(justFits.status).toBe(201);
    });

    it('serves an SVG with a sandboxing Content-Security-Policy', async () => {
      const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>');
      const upload = await call(lk, 'POST', api('media'), { token: all.token, raw: svg, contentType: 'image/svg+xml; charset=utf-8' });
      expect(upload.status).toBe(201);
      const download = await fetch(`${lk.url}${api(`media/${upload.json.id}`)}`, { headers: { authorization: `Bearer ${all.token}` } });
      expect(download.headers.get('content-type')).toBe('image/svg+xml');
      expect(download.headers.get('content-security-policy')).toContain('sandbox');
      await download.arrayBuffer();
    });

    it('removes the uploads of a deleted environment, and only those', async () => {
      // 'gone-1' sorts right after 'gone/' keys would, and 'gone' is its prefix: neither may be touched.
      for (const id of ['gone', 'gone-1']) await lk.createEnvironment(id);
      const uploads = new Map<string, string>();
      for (const id of ['gone', 'gone-1']) {
        const token = (await tokenOf(lk, ALL, id, `${id} backend`)).token;
        const upload = await call(lk, 'POST', api('media', id), { token, raw: PNG, contentType: 'image/png' });
        expect(upload.status).toBe(201);
        uploads.set(id, upload.json.id as string);
      }
      const stored = async (id: string): Promise<boolean> =>
        dialect === 'sqlite'
          ? fs.existsSync(path.join(dataDir, 'blobs', id, 'media', uploads.get(id)!))
          : (await lk.database.db.selectFrom('blobs').select('key').where('key', '=', `${id}/media/${uploads.get(id)}`).executeTakeFirst()) !== undefined;
      expect([await stored('gone'), await stored('gone-1')]).toEqual([true, true]);
      await deleteEnvironment(lk.server.runtime.platform, 'gone', TEST_CONTEXT);
      // The server sweeps when the change feed reports the deletion (polled every 100 ms in tests).
      for (let i = 0; i < 100 && (await stored('gone')); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect([await stored('gone'), await stored('gone-1')]).toEqual([false, true]);
      if (dialect === 'sqlite') expect(fs.existsSync(path.join(dataDir, 'blobs', 'gone'))).toBe(false);
    });
  });
});
