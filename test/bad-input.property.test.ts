// Bad input and brute force at POST /oauth/token (issue 2, point 7; design §4; checklist 1-5, 10, 14, 15):
// thousands of generated requests over real HTTP never get a 5xx, and every answer is either a token
// or an RFC 6749 §5.2 error with `Cache-Control: no-store`. Then targeted cases, and the per-client /
// per-IP failure rate limits.
import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, createManualClock, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';

/** Runs per property per dialect: 2 properties × (1000 SQLite + 600 PostgreSQL) = 3200 generated requests. */
const RUNS: Record<(typeof DIALECTS)[number], number> = { sqlite: 1000, postgres: 600 };
const BODY_LIMIT = 16 * 1024;
/** RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E. */
const DESCRIPTION = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;
/** Which error codes each status may carry (design §4). */
const ERRORS_BY_STATUS: Record<number, string[]> = {
  400: ['invalid_request', 'unsupported_grant_type', 'invalid_scope', 'invalid_target'],
  401: ['invalid_client'],
  403: ['access_denied'],
  405: ['invalid_request'],
  413: ['invalid_request'],
  429: ['temporarily_unavailable'],
};
const ALLOWED_STATUSES = [200, ...Object.keys(ERRORS_BY_STATUS).map(Number)];
/** Generous limits, so generated requests exercise more than 429s. */
const FUZZ_ENV = { LATCHKEY_AUTH_FAILURES_PER_IP: '1000000', LATCHKEY_AUTH_FAILURES_PER_CLIENT: '1000000' };

/** A request exactly as it goes on the wire. */
interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Send the body with Transfer-Encoding: chunked instead of Content-Length. */
  chunked: boolean;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * Sends one request on a fresh connection, framing the body explicitly (Content-Length or chunked) so
 * every method carries its body the same way. Fails only if no response arrives.
 */
function send(base: URL, request: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined && !request.chunked) headers['content-length'] = String(request.body.length);
    if (request.body !== undefined && request.chunked) headers['transfer-encoding'] = 'chunked';
    const req = http.request({ host: base.hostname, port: base.port, method: request.method, path: request.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // The server may answer (e.g. 413) and close before the whole body is written; only a missing
    // response is a failure.
    req.on('error', reject);
    if (request.body === undefined) req.end();
    else if (request.chunked) {
      const half = Math.floor(request.body.length / 2);
      req.write(request.body.subarray(0, half));
      req.end(request.body.subarray(half));
    } else req.end(request.body);
  });
}

function describeRequest(request: RawRequest): string {
  const body = request.body === undefined ? '(none)' : `${request.body.length} bytes: ${JSON.stringify(request.body.subarray(0, 300).toString('latin1'))}`;
  return `${request.method} ${request.path.slice(0, 300)} ${JSON.stringify(request.headers)} chunked=${request.chunked} body ${body}`;
}

/**
 * The contract every answer must meet: a token (200) or an RFC 6749 §5.2 error with the right status,
 * code and headers. Returns a failure message, or null.
 */
function contractViolation(request: RawRequest, response: RawResponse): string | null {
  const { status, headers, text } = response;
  if (status >= 500) return `5xx: ${status} ${text}`;
  if (!ALLOWED_STATUSES.includes(status)) return `unexpected status ${status}: ${text}`;
  if (headers['cache-control'] !== 'no-store') return `cache-control is ${headers['cache-control']}, not no-store (status ${status})`;
  if (!/^application\/json/.test(headers['content-type'] ?? '')) return `content-type ${headers['content-type']} (status ${status})`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `body is not JSON (status ${status}): ${text.slice(0, 200)}`;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return `body is not a JSON object: ${text.slice(0, 200)}`;
  const fields = body as Record<string, unknown>;

  if (status === 200) {
    if (request.method !== 'POST') return `a ${request.method} got a token`;
    if (Object.keys(fields).sort().join() !== 'access_token,expires_in,scope,token_type') return `200 with fields ${Object.keys(fields).join()}`;
    if (typeof fields.access_token !== 'string' || fields.access_token.split('.').length !== 3) return '200 without a JWT access_token';
    if (fields.token_type !== 'Bearer') return `token_type ${String(fields.token_type)}`;
    if (!Number.isInteger(fields.expires_in) || (fields.expires_in as number) <= 0) return `expires_in ${String(fields.expires_in)}`;
    if (headers.pragma !== 'no-cache') return '200 without Pragma: no-cache';
    return null;
  }

  if (Object.keys(fields).sort().join() !== 'error,error_description') return `error body fields ${Object.keys(fields).join()}: ${text.slice(0, 200)}`;
  if (typeof fields.error !== 'string' || !ERRORS_BY_STATUS[status]!.includes(fields.error)) return `status ${status} with error ${JSON.stringify(fields.error)}`;
  if (typeof fields.error_description !== 'string' || fields.error_description === '' || !DESCRIPTION.test(fields.error_description)) {
    return `error_description outside RFC 6749 §5.2's character set: ${JSON.stringify(fields.error_description)}`;
  }
  if (status === 401 && (request.headers.authorization ?? '').trim() !== '' && !/^Basic realm="[^"]*"/.test(headers['www-authenticate'] ?? '')) {
    return `401 to a Basic request without WWW-Authenticate: Basic realm (got ${headers['www-authenticate']})`;
  }
  if (status === 429 && !/^[1-9]\d*$/.test(headers['retry-after'] ?? '')) return `429 with Retry-After ${headers['retry-after']}`;
  if (status === 405 && headers.allow !== 'POST') return `405 with Allow ${headers.allow}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Generators

/** One "character" of hostile text: any code point, lone surrogates, NULs, separators, escapes. */
const oddChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)) },
  { weight: 3, arbitrary: fc.constantFrom('\u0000', '%', '+', '&', '=', ':', ';', '"', "'", '\\', ' ', '\t', '\r\n', '\u2028', '\ufeff', '\u00e9', '%00', '%zz', '%ff', '%C3%A9', '%E2%28%A1') },
);
const oddString = fc.string({ unit: oddChar, maxLength: 40 });
/** Long strings, from well under to well over the 16 KiB body limit. */
const hugeString = fc
  .tuple(fc.string({ unit: oddChar, minLength: 1, maxLength: 8 }), fc.integer({ min: 1000, max: BODY_LIMIT + 4000 }))
  .map(([chunk, length]) => chunk.repeat(Math.ceil(length / chunk.length)).slice(0, length));
/** Characters Node lets us put in a header value (it refuses CR, LF, NUL and code points above U+00FF). */
const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)) },
  { weight: 1, arbitrary: fc.constant('\t') },
);
const headerString = fc.string({ unit: headerChar, maxLength: 60 });
/** Non-string JSON values for parameters that must be strings. */
const nonString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.object({ maxDepth: 1, maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=UTF-8',
  'application/x-www-form-urlencoded;charset=ISO-8859-1',
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset="UTF-8"',
  'Application/JSON',
  'application/json; charset=utf-16',
  'application/json; charset',
  'application/json, application/x-www-form-urlencoded',
  'text/plain',
  'text/plain; charset=utf-8',
  'multipart/form-data; boundary=----latchkey',
  'application/xml',
  'application/octet-stream',
  'application/jwt',
  '*/*',
  'application/',
  ';',
  '',
];

/** Known values worth mixing into parameters: real credentials, audiences, scopes. */
interface Known {
  clientIds: string[];
  secrets: string[];
  audiences: string[];
}

function generators(known: Known) {
  const paramName = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('grant_type', 'client_id', 'client_secret', 'scope', 'audience', 'resource', 'client_assertion', 'client_assertion_type') },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'GRANT_TYPE', 'grant_type ', 'grant_type[]', 'client_id[0]') },
    { weight: 2, arbitrary: oddString },
  );
  const paramValue = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('client_credentials', 'authorization_code', 'password', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer', '') },
    { weight: 4, arbitrary: fc.constantFrom(...known.clientIds, ...known.secrets, ...known.audiences) },
    { weight: 2, arbitrary: fc.constantFrom('templates:read', 'templates:read templates:write', 'integrations:read', 'fonts:write  media:read', 'no-such:scope') },
    { weight: 6, arbitrary: oddString },
    { weight: 1, arbitrary: hugeString },
  );
  /** Names of parameters added to a request: mostly the optional ones, sometimes a repeat or junk. */
  const extraName = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('scope', 'audience', 'resource') },
    { weight: 1, arbitrary: paramName },
  );
  /** A credential pair: real, mixed up (id of one, secret of another), id-as-secret, or garbage. */
  const credentials = fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 0, max: known.clientIds.length - 1 }).map((i) => [known.clientIds[i]!, known.secrets[i]!] as const) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...known.clientIds), fc.constantFrom(...known.secrets)) },
    { weight: 1, arbitrary: fc.constantFrom(...known.clientIds).map((id) => [id, id] as const) },
    { weight: 3, arbitrary: fc.tuple(paramValue, paramValue) },
  );
  /** A parameter list, often close to a valid request, with extras, omissions and repeats. */
  const params = fc
    .record({
      credentials,
      grant: fc.oneof({ weight: 4, arbitrary: fc.constant('client_credentials') }, { weight: 1, arbitrary: paramValue }),
      keep: fc.oneof(
        { weight: 4, arbitrary: fc.constant(['grant_type', 'client_id', 'client_secret'] as const) },
        { weight: 1, arbitrary: fc.subarray(['grant_type', 'client_id', 'client_secret'] as const) },
      ),
      extra: fc.array(fc.tuple(extraName, paramValue), { maxLength: 3 }),
      repeat: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
      order: fc.nat(),
      // client_secret_basic: the credentials move into the header; the body keeps client_id (or not) and
      // now and then the secret too (authenticating twice).
      basic: fc.oneof(
        { weight: 2, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom('header only', 'header and body client_id', 'header and body secret') },
      ),
    })
    .map(({ credentials: [id, secret], grant, keep, extra, repeat, order, basic }) => {
      const inBody = keep.filter(
        (name) => basic === null || name === 'grant_type' || (name === 'client_id' && basic === 'header and body client_id') || (name === 'client_secret' && basic === 'header and body secret'),
      );
      const base: [string, string][] = inBody.map((name) => [name, name === 'grant_type' ? grant : name === 'client_id' ? id : secret]);
      const list: [string, string][] = [...base, ...extra];
      if (repeat !== null && list.length > 0) list.push(list[repeat % list.length]!);
      // Rotate, so repeated and known parameters are not always first.
      const shift = list.length === 0 ? 0 : order % list.length;
      // Capped so the header stays under Node's 16 KiB header limit (oversized headers: see the targeted cases).
      const authorization = basic === null ? null : basicAuthorization(id.slice(0, 300), secret.slice(0, 300));
      return { list: [...list.slice(shift), ...list.slice(0, shift)], authorization };
    });
  /** A form body from a parameter list: properly encoded, or joined raw (bad escapes and all). */
  const formBody = fc.tuple(params, fc.boolean()).map(([{ list, authorization }, raw]) => ({
    authorization,
    text: raw ? list.map(([name, value]) => `${name}=${value}`).join('&') : list.map(([name, value]) => new URLSearchParams([[name, value]]).toString()).join('&'),
  }));
  /** A JSON body from a parameter list: some values replaced by non-strings; duplicate keys kept in the text. */
  const jsonBody = fc
    .tuple(params, fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(), nonString), { minLength: 1, maxLength: 2 }) }))
    .map(([{ list, authorization }, replacements]) => {
      const entries: [string, unknown][] = list.map(([name, value]) => [name, value]);
      for (const [index, value] of replacements) if (entries.length > 0) entries[index % entries.length]![1] = value;
      return { authorization, text: `{${entries.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value) ?? 'null'}`).join(',')}}` };
    });
  /** Any body at all. */
  const body = fc.oneof(
    { weight: 6, arbitrary: formBody.map(({ text }) => Buffer.from(text, 'utf8')) },
    { weight: 6, arbitrary: jsonBody.map(({ text }) => Buffer.from(text, 'utf8')) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 3 }).map((text) => Buffer.from(text, 'utf8')) },
    { weight: 2, arbitrary: fc.object({ maxDepth: 2 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8')) },
    { weight: 2, arbitrary: oddString.map((text) => Buffer.from(text, 'utf8')) },
    { weight: 1, arbitrary: hugeString.map((text) => Buffer.from(text, 'utf8')) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: fc.integer({ min: BODY_LIMIT - 8, max: BODY_LIMIT * 3 }).map((length) => Buffer.alloc(length, 'grant_type=client_credentials&')) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  const contentType = fc.option(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...CONTENT_TYPES) }, { weight: 1, arbitrary: headerString }), { freq: 8 });
  const basicOf = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;
  const authorization = fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: credentials.map(([id, secret]) => basicAuthorization(id.slice(0, 300), secret.slice(0, 300))) },
    { weight: 1, arbitrary: fc.tuple(oddString, oddString).map(([id, secret]) => basicOf(id, secret)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }).map((bytes) => `Basic ${Buffer.from(bytes).toString('base64')}`) },
    { weight: 1, arbitrary: headerString.map((text) => `Basic ${text}`) },
    { weight: 1, arbitrary: fc.constantFrom('Basic', 'Basic ', 'basic  Og==', 'BASIC YTpi', 'Basic Og==', 'Basic YTo=', 'Basic OmI=', 'Basic ====', 'Bearer abc', 'Digest username="a"') },
    { weight: 1, arbitrary: headerString },
  );
  /** A query string: form-encoded parameters (maybe credentials) or raw bytes Node lets into a path. */
  const query = fc.option(
    fc.oneof(
      fc.array(fc.tuple(paramName, paramValue), { minLength: 1, maxLength: 4 }).map((list) => `?${new URLSearchParams(list.map(([n, v]) => [n, v.slice(0, 200)])).toString()}`),
      fc.string({ unit: fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }).filter((c) => c !== ' '), fc.constantFrom('%zz', '%', '%00', '[', ']', '#')), maxLength: 40 }).map((text) => `?${text}`),
    ),
    { freq: 4 },
  );
  const method = fc.oneof({ weight: 12, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE') });

  /** Property 1: anything on the wire. */
  const anyRequest = fc
    .record({ method, query, contentType, authorization, body, chunked: fc.boolean() })
    .map(({ method, query, contentType, authorization, body, chunked }): RawRequest => {
      const headers: Record<string, string> = {};
      if (contentType !== null) headers['content-type'] = contentType;
      if (authorization !== null) headers.authorization = authorization;
      return { method, path: `/oauth/token${query ?? ''}`, headers, body, chunked };
    });

  /** Property 2: well-framed POSTs with a form or JSON content type, so parameter handling is what gets fuzzed. */
  const parameterRequest = fc
    .record({
      json: fc.boolean(),
      charset: fc.constantFrom('', '; charset=utf-8', ';charset=UTF-8'),
      form: formBody,
      jsonBody,
      // Now and then a junk Authorization header over whatever the body says.
      junk: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: authorization }),
    })
    .map(({ json, charset, form, jsonBody, junk }): RawRequest => {
      const chosen = json ? jsonBody : form;
      const headers: Record<string, string> = { 'content-type': `${json ? 'application/json' : 'application/x-www-form-urlencoded'}${charset}` };
      const authorizationHeader = junk ?? chosen.authorization;
      if (authorizationHeader !== null) headers.authorization = authorizationHeader;
      return { method: 'POST', path: '/oauth/token', headers, body: Buffer.from(chosen.text, 'utf8'), chunked: false };
    });

  return { anyRequest, parameterRequest };
}

/** Every client secret a request carried (body or Basic header), for the log check. */
function secretsIn(request: RawRequest): string[] {
  const found: string[] = [];
  const text = request.body?.toString('utf8') ?? '';
  const type = request.headers['content-type'] ?? '';
  if (/json/i.test(type)) {
    try {
      const value = JSON.parse(text) as Record<string, unknown>;
      if (value && typeof value === 'object' && typeof value.client_secret === 'string') found.push(value.client_secret);
    } catch {
      // not JSON: nothing to collect
    }
  } else if (/form/i.test(type)) {
    for (const [name, value] of new URLSearchParams(text)) if (name === 'client_secret') found.push(value);
  }
  const basic = /^basic +(\S*)/i.exec(request.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) {
      const raw = decoded.slice(colon + 1);
      found.push(raw);
      try {
        found.push(decodeURIComponent(raw.replace(/\+/g, ' ')));
      } catch {
        // not form-encoded: the raw form is enough
      }
    }
  }
  // Short or repetitive values could appear in any log line by chance; only distinctive ones count.
  return found.filter((secret) => secret.length >= 12 && new Set(secret).size >= 6);
}

/** Log lines that contain any of `secrets`, raw or as escaped inside a JSON log line. */
function linesLeaking(logs: string[], secrets: Iterable<string>): string[] {
  const needles = new Set<string>();
  for (const secret of secrets) {
    needles.add(secret);
    needles.add(JSON.stringify(secret).slice(1, -1));
  }
  return logs.filter((line) => [...needles].some((needle) => line.includes(needle)));
}

// ---------------------------------------------------------------------------------------------

describe.each(DIALECTS)('POST /oauth/token under generated bad input (%s)', (dialect) => {
  let lk: TestLatchkey;
  let base: URL;
  let known: Known;
  let full: { clientId: string; secret: string };
  const sentSecrets = new Set<string>();
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect, env: FUZZ_ENV });
    base = new URL(lk.url);
    const all = await lk.createIntegration({ name: 'fuzz: all scopes' });
    const platform = await lk.createIntegration({
      name: 'fuzz: environment read + platform',
      grants: { 'environment-api': ['templates:read'], 'platform-api': ['integrations:read'] },
    });
    const none = await lk.createIntegration({ name: 'fuzz: no grants', grants: {} });
    const clients = [all, platform, none];
    known = {
      clientIds: clients.map((c) => c.integration.clientId),
      secrets: clients.map((c) => c.clientSecret),
      audiences: [lk.config.environmentApiAudience, lk.config.platformApiAudience, `${lk.config.platformApiAudience}/`, 'https://chiligrafx.com', 'https://example.com/api'],
    };
    full = { clientId: all.integration.clientId, secret: all.clientSecret };
    for (const secret of known.secrets) sentSecrets.add(secret);
  });
  afterAll(async () => lk?.close());

  async function check(request: RawRequest): Promise<void> {
    for (const secret of secretsIn(request)) sentSecrets.add(secret);
    let response: RawResponse;
    try {
      response = await send(base, request);
    } catch (error) {
      throw new Error(`no response (${String(error)}) to ${describeRequest(request)}`);
    }
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    const violation = contractViolation(request, response);
    if (violation) throw new Error(`${violation}\n  request: ${describeRequest(request)}\n  response: ${response.status} ${JSON.stringify(response.headers)} ${response.text.slice(0, 400)}`);
  }

  it(`any method, query, content type, Authorization and body: no 5xx, always a token or an RFC 6749 §5.2 error (${RUNS[dialect]} runs)`, { timeout: 120_000 }, async () => {
    const { anyRequest } = generators(known);
    await fc.assert(fc.asyncProperty(anyRequest, check), { numRuns: RUNS[dialect] });
  });

  it(`form and JSON parameters: repeats, non-strings, odd Unicode, real and mixed-up credentials (${RUNS[dialect]} runs)`, { timeout: 120_000 }, async () => {
    const { parameterRequest } = generators(known);
    await fc.assert(fc.asyncProperty(parameterRequest, check), { numRuns: RUNS[dialect] });
  });

  it('the generated requests reached every outcome, and no log line holds a secret or an error', () => {
    // More than one kind of answer: the parsers, client authentication and the grant were all reached.
    for (const status of [200, 400, 401, 405, 413]) expect(statuses.get(status) ?? 0, `status ${status} in ${JSON.stringify([...statuses])}`).toBeGreaterThan(0);
    expect(statuses.get(429) ?? 0).toBe(0);
    expect(sentSecrets.size).toBeGreaterThan(known.secrets.length);
    expect(linesLeaking(lk.logs, sentSecrets)).toEqual([]);
    // Nothing a client sent made the server log an error (pino level 50+).
    expect(lk.logs.filter((line) => /"level":(5|6)\d/.test(line))).toEqual([]);
  });

  describe('targeted cases', () => {
    const post = (body: string | Buffer, contentType: string | undefined, path = '/oauth/token', headers: Record<string, string> = {}) =>
      send(base, { method: 'POST', path, headers: { ...(contentType === undefined ? {} : { 'content-type': contentType }), ...headers }, body: Buffer.from(body), chunked: false });
    const form = (params: [string, string][]) => new URLSearchParams(params).toString();
    const valid = (): [string, string][] => [
      ['grant_type', 'client_credentials'],
      ['client_id', full.clientId],
      ['client_secret', full.secret],
    ];
    const expectError = (response: RawResponse, status: number, error: string, request?: RawRequest) => {
      expect(response.status, response.text).toBe(status);
      expect(JSON.parse(response.text)).toMatchObject({ error });
      if (request) expect(contractViolation(request, response)).toBeNull();
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.text).not.toContain('access_token');
    };

    it('a body up to 16 KiB is read; one byte more gets 413 with a JSON error, for form and JSON bodies', async () => {
      const padded = (size: number) => {
        const prefix = `${form(valid())}&padding=`;
        return prefix + 'x'.repeat(size - prefix.length);
      };
      const atLimit = await post(padded(BODY_LIMIT), 'application/x-www-form-urlencoded');
      expect(atLimit.status, atLimit.text).toBe(200);
      const over = await post(padded(BODY_LIMIT + 1), 'application/x-www-form-urlencoded');
      expectError(over, 413, 'invalid_request');
      const json = await post(JSON.stringify({ grant_type: 'client_credentials', padding: 'x'.repeat(BODY_LIMIT) }), 'application/json; charset=utf-8');
      expectError(json, 413, 'invalid_request');
      const chunked = await send(base, { method: 'POST', path: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(padded(BODY_LIMIT * 4)), chunked: true });
      expectError(chunked, 413, 'invalid_request');
      expect(JSON.parse(over.text).error_description).toMatch(DESCRIPTION);
    });

    it('a duplicated grant_type (or any parameter) is 400 invalid_request, even with valid credentials', async () => {
      expectError(await post(form([...valid(), ['grant_type', 'client_credentials']]), 'application/x-www-form-urlencoded'), 400, 'invalid_request');
      expectError(await post(form([...valid(), ['client_secret', full.secret]]), 'application/x-www-form-urlencoded'), 400, 'invalid_request');
      expectError(await post(form([...valid(), ['scope', 'templates:read'], ['scope', 'templates:read']]), 'application/x-www-form-urlencoded'), 400, 'invalid_request');
    });

    // Regression (was a bug, fixed): JSON.parse keeps the last of repeated keys, so a JSON body with a repeated
    // parameter is accepted (here: a wrong secret, then the right one → 200). Design §4 and checklist 4
    // say a repeated parameter is 400 invalid_request whatever the body type. Drop `.fails` once fixed.
    it('a parameter repeated in a JSON body is 400 invalid_request', async () => {
      const id = JSON.stringify(full.clientId);
      const secret = JSON.stringify(full.secret);
      for (const text of [
        `{"grant_type":"client_credentials","client_id":${id},"client_secret":"wrong","client_secret":${secret}}`,
        `{"grant_type":"password","grant_type":"client_credentials","client_id":${id},"client_secret":${secret}}`,
        `{"grant_type":"client_credentials","client_id":${id},"client_secret":${secret},"scope":"templates:write","scope":"templates:read"}`,
      ]) {
        expectError(await post(text, 'application/json'), 400, 'invalid_request');
      }
    });

    it('non-string JSON values are 400 invalid_request; invalid JSON is 400 invalid_request', async () => {
      for (const clientId of [42, true, [full.clientId], { id: full.clientId }]) {
        const body = JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: full.secret });
        expectError(await post(body, 'application/json'), 400, 'invalid_request');
      }
      for (const text of ['{', '{"grant_type":', "{'grant_type':'client_credentials'}", '', 'grant_type=client_credentials', '\u0000', '{"a":"\ud800"']) {
        expectError(await post(text, 'application/json'), 400, 'invalid_request');
      }
      for (const text of ['[]', '"client_credentials"', '42', 'null']) expectError(await post(text, 'application/json'), 400, 'invalid_request');
      // Lone surrogates and NULs (JSON escapes survive JSON.parse as they are; raw bytes that are not UTF-8 in a form body).
      const lone = await post('{"grant_type":"client_credentials","client_id":"\\ud800","client_secret":"\\udfff\\u0000x"}', 'application/json');
      expectError(lone, 401, 'invalid_client');
      const loneScope = await post(`{"grant_type":"client_credentials","client_id":${JSON.stringify(full.clientId)},"client_secret":${JSON.stringify(full.secret)},"scope":"\\ud800 \\u0000"}`, 'application/json');
      expectError(loneScope, 400, 'invalid_scope');
      expect(JSON.parse(loneScope.text).error_description).toMatch(DESCRIPTION);
      const rawBytes = Buffer.concat([Buffer.from(`${form(valid())}&scope=`), Buffer.from([0xed, 0xa0, 0x80, 0xff, 0x00])]);
      expectError(await post(rawBytes, 'application/x-www-form-urlencoded'), 400, 'invalid_scope');
      // null counts as absent, like an empty string.
      const withNull = await post(JSON.stringify({ grant_type: 'client_credentials', client_id: full.clientId, client_secret: full.secret, scope: null }), 'application/json');
      expect(withNull.status, withNull.text).toBe(200);
    });

    it('unknown JSON parameters are ignored whatever their value; one nested past 64 levels is 400 invalid_request', async () => {
      const base = Object.fromEntries(valid());
      for (const extra of [5, true, [1, 2], { nested: { deeper: [] } }, 1.5]) {
        const response = await post(JSON.stringify({ ...base, extra }), 'application/json');
        expect(response.status, response.text).toBe(200);
      }
      const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
      expect((await post(`${JSON.stringify(base).slice(0, -1)},"extra":${deep(63)}}`, 'application/json')).status).toBe(200);
      const tooDeep = await post(`${JSON.stringify(base).slice(0, -1)},"extra":${deep(5000)}}`, 'application/json');
      expectError(tooDeep, 400, 'invalid_request');
      expect(JSON.parse(tooDeep.text).error_description).toMatch(/nested more than 64 levels/);
    });

    it('text/plain, multipart and no content type are 400 invalid_request, even with a valid body', async () => {
      for (const type of ['text/plain', 'text/plain; charset=utf-8', 'multipart/form-data; boundary=x', 'application/xml', undefined]) {
        expectError(await post(form(valid()), type), 400, 'invalid_request');
      }
      // Charset parameters on the supported types are fine.
      expect((await post(form(valid()), 'application/x-www-form-urlencoded; charset=UTF-8')).status).toBe(200);
      expect((await post(JSON.stringify(Object.fromEntries(valid())), 'application/json;charset="utf-8"')).status).toBe(200);
    });

    it('GET (and other methods) on /oauth/token is 405 and never issues a token', async () => {
      const query = `?${form(valid())}`;
      for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
        const request: RawRequest = { method, path: `/oauth/token${query}`, headers: {}, body: undefined, chunked: false };
        const response = await send(base, request);
        expectError(response, 405, 'invalid_request', request);
        expect(response.headers.allow).toBe('POST');
      }
      const withBody: RawRequest = { method: 'GET', path: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form(valid())), chunked: false };
      expectError(await send(base, withBody), 405, 'invalid_request', withBody);
    });

    it('client_secret or client_id in the query string is 400 invalid_request, even with valid body credentials', async () => {
      for (const query of [`?client_secret=${encodeURIComponent(full.secret)}`, `?client_id=${full.clientId}`, '?client_secret=', `?client_id=${full.clientId}&client_secret=${encodeURIComponent(full.secret)}`]) {
        expectError(await post(form(valid()), 'application/x-www-form-urlencoded', `/oauth/token${query}`), 400, 'invalid_request');
      }
      // Other query parameters are ignored.
      expect((await post(form(valid()), 'application/x-www-form-urlencoded', '/oauth/token?foo=bar')).status).toBe(200);
    });

    it('badly encoded Basic headers are 400 invalid_request; Basic plus a body secret is 400', async () => {
      for (const authorization of ['Basic !!!', 'Basic Og==', `Basic ${Buffer.from('no-colon').toString('base64')}`, `Basic ${Buffer.from('a%zz:b').toString('base64')}`, 'Bearer abc']) {
        expectError(await post(form([['grant_type', 'client_credentials']]), 'application/x-www-form-urlencoded', '/oauth/token', { authorization }), 400, 'invalid_request');
      }
      const both = await post(form([['grant_type', 'client_credentials'], ['client_secret', full.secret]]), 'application/x-www-form-urlencoded', '/oauth/token', {
        authorization: basicAuthorization(full.clientId, full.secret),
      });
      expectError(both, 400, 'invalid_request');
    });

    it('headers over 16 KiB are refused by the HTTP layer with 431, never a 5xx or a token', async () => {
      const response = await post(form(valid()), 'application/x-www-form-urlencoded', '/oauth/token', { authorization: `Basic ${'A'.repeat(20_000)}` });
      expect(response.status).toBe(431);
      expect(response.text).not.toContain('access_token');
    });

    it('client_secret equal to client_id gets 401 invalid_client saying so (the seed samples make that mistake)', async () => {
      const response = await post(form([['grant_type', 'client_credentials'], ['client_id', full.clientId], ['client_secret', full.clientId]]), 'application/x-www-form-urlencoded');
      expectError(response, 401, 'invalid_client');
      expect(JSON.parse(response.text).error_description).toMatch(/client_secret is the same as client_id/);
    });
  });
});

describe('failed client authentication is rate-limited (429 + Retry-After)', () => {
  const wrongSecret = 'lks_' + 'x'.repeat(49);

  async function tokenRequest(lk: TestLatchkey, clientId: string, secret: string) {
    const res = await lk.postToken({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, string> };
  }

  function expectLimited(response: Awaited<ReturnType<typeof tokenRequest>>, who: RegExp) {
    expect(response.status, JSON.stringify(response.body)).toBe(429);
    const retryAfter = response.headers.get('retry-after') ?? '';
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(response.body).sort()).toEqual(['error', 'error_description']);
    expect(response.body.error).toBe('temporarily_unavailable');
    expect(response.body.error_description).toMatch(DESCRIPTION);
    expect(response.body.error_description).toMatch(who);
  }

  const ATTACKER = '203.0.113.66';
  const CLIENT_HOST = '198.51.100.7';
  /** A token request as if from `address` (the server trusts X-Forwarded-For from loopback here). */
  async function tokenFrom(lk: TestLatchkey, address: string, clientId: string, secret: string) {
    const res = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(clientId, secret), 'x-forwarded-for': address });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, string> };
  }

  it('per client ID and address: an attacker elsewhere cannot lock out a client that presents its right secret', async () => {
    const clock = createManualClock(Date.now());
    const lk = await startTestLatchkey({
      dialect: 'sqlite',
      clock,
      env: { LATCHKEY_TRUSTED_PROXIES: '127.0.0.1', LATCHKEY_AUTH_FAILURES_PER_CLIENT: '3', LATCHKEY_AUTH_FAILURES_PER_IP: '1000', LATCHKEY_AUTH_FAILURE_WINDOW: '60' },
    });
    try {
      const a = await lk.createIntegration({ name: 'client A' });
      const b = await lk.createIntegration({ name: 'client B' });
      // Client IDs are public: the attacker sends wrong secrets for A.
      for (let i = 0; i < 3; i++) {
        const response = await tokenFrom(lk, ATTACKER, a.integration.clientId, wrongSecret);
        expect(response.status).toBe(401);
        expect(response.body.error).toBe('invalid_client');
      }
      expectLimited(await tokenFrom(lk, ATTACKER, a.integration.clientId, wrongSecret), /client_id from this address/);
      // A, from its own address, gets its token; its own wrong secrets are counted apart from the attacker's.
      expect((await tokenFrom(lk, CLIENT_HOST, a.integration.clientId, a.clientSecret)).status).toBe(200);
      expect((await tokenFrom(lk, CLIENT_HOST, a.integration.clientId, wrongSecret)).status).toBe(401);
      expect((await tokenFrom(lk, CLIENT_HOST, a.integration.clientId, a.clientSecret)).status).toBe(200);
      // Even from the attacker's address, the right secret of a client the server holds in memory
      // still gets its token (a NAT or proxy shared with the attacker does not lock A out) …
      expect((await tokenFrom(lk, ATTACKER, a.integration.clientId, a.clientSecret)).status).toBe(200);
      // … while wrong secrets stay throttled, and other clients from that address are unaffected.
      expectLimited(await tokenFrom(lk, ATTACKER, a.integration.clientId, `${a.clientSecret.slice(0, -1)}x`), /client_id/);
      expect((await tokenFrom(lk, ATTACKER, b.integration.clientId, b.clientSecret)).status).toBe(200);

      // Unknown client IDs are limited exactly like known ones (nothing tells them apart).
      const unknown = 'lkc_0000000000000000000000';
      for (let i = 0; i < 3; i++) expect((await tokenFrom(lk, ATTACKER, unknown, wrongSecret)).status).toBe(401);
      expectLimited(await tokenFrom(lk, ATTACKER, unknown, wrongSecret), /client_id/);

      // When the window has passed, the attacker's count is gone too.
      clock.advance(61_000);
      expect((await tokenFrom(lk, ATTACKER, a.integration.clientId, wrongSecret)).status).toBe(401);
      expect(linesLeaking(lk.logs, [a.clientSecret, b.clientSecret, wrongSecret])).toEqual([]);
    } finally {
      await lk.close();
    }
  });

  it('per address: after enough failures from one address its wrong secrets get 429; a client not yet in memory waits too', async () => {
    const lk = await startTestLatchkey({ dialect: 'sqlite', env: { LATCHKEY_AUTH_FAILURES_PER_CLIENT: '1000', LATCHKEY_AUTH_FAILURES_PER_IP: '5' } });
    try {
      const b = await lk.createIntegration({ name: 'client B' });
      const c = await lk.createIntegration({ name: 'client C' });
      expect((await tokenRequest(lk, b.integration.clientId, b.clientSecret)).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await tokenRequest(lk, `lkc_${String(i).padStart(22, '0')}`, wrongSecret)).status).toBe(401);
      expectLimited(await tokenRequest(lk, `lkc_${'9'.repeat(22)}`, wrongSecret), /address/);
      expectLimited(await tokenRequest(lk, b.integration.clientId, wrongSecret), /address/);
      // B, already working, keeps getting its token; C has never been seen, and a throttled request
      // reads nothing from the database, so C waits for the window like everyone else there.
      expect((await tokenRequest(lk, b.integration.clientId, b.clientSecret)).status).toBe(200);
      expectLimited(await tokenRequest(lk, c.integration.clientId, c.clientSecret), /address/);
    } finally {
      await lk.close();
    }
  });
});
