// Shared pieces of the generated-request suites (test/fuzz.property.test.ts) and the targeted bad
// input cases (test/bad-input.property.test.ts): sending a request exactly as given, the token
// endpoint's answer contract, generators of hostile text and token requests, and the leak checks.
import http from 'node:http';
import fc from 'fast-check';
import { basicAuthorization } from './latchkey.ts';

export const BODY_LIMIT = 16 * 1024;
/** RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E. */
export const DESCRIPTION = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;
/** Which error codes each status may carry (design §4). */
export const ERRORS_BY_STATUS: Record<number, string[]> = {
  // The last three come from the token exchange (RFC 8693, RFC 9449; docs/browser-tokens.md).
  400: ['invalid_request', 'unsupported_grant_type', 'invalid_scope', 'invalid_target', 'unauthorized_client', 'invalid_grant', 'invalid_dpop_proof'],
  401: ['invalid_client'],
  403: ['access_denied'],
  405: ['invalid_request'],
  413: ['invalid_request'],
  429: ['temporarily_unavailable'],
};
export const ALLOWED_STATUSES = [200, ...Object.keys(ERRORS_BY_STATUS).map(Number)];
/** Generous limits, so generated requests exercise more than 429s. */
export const FUZZ_ENV = { LATCHKEY_AUTH_FAILURES_PER_IP: '1000000', LATCHKEY_AUTH_FAILURES_PER_CLIENT: '1000000' };

/** A request exactly as it goes on the wire. */
export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Send the body with Transfer-Encoding: chunked instead of Content-Length. */
  chunked: boolean;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * Sends one request on a fresh connection, framing the body explicitly (Content-Length or chunked) so
 * every method carries its body the same way. Fails only if no response arrives.
 */
export function send(base: URL, request: RawRequest): Promise<RawResponse> {
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

export function describeRequest(request: RawRequest): string {
  const body = request.body === undefined ? '(none)' : `${request.body.length} bytes: ${JSON.stringify(request.body.subarray(0, 300).toString('latin1'))}`;
  return `${request.method} ${request.path.slice(0, 300)} ${JSON.stringify(request.headers)} chunked=${request.chunked} body ${body}`;
}

/**
 * The contract every answer must meet: a token (200) or an RFC 6749 §5.2 error with the right status,
 * code and headers. Returns a failure message, or null.
 */
export function tokenContractViolation(request: RawRequest, response: RawResponse): string | null {
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

/**
 * The contract of revocation (RFC 7009) and introspection (RFC 7662): never a 5xx, never cached;
 * revocation answers 200 with an empty body, introspection 200 with `{active}` (exactly
 * `{"active":false}` when inactive); errors are RFC 6749 §5.2 JSON, a 401 carries a challenge.
 */
export function revocationContractViolation(request: RawRequest, response: RawResponse): string | null {
  const { status, headers, text } = response;
  if (status >= 500) return `5xx: ${status} ${text}`;
  if (headers['cache-control'] !== 'no-store') return `cache-control is ${headers['cache-control']}, not no-store (status ${status})`;
  if (status === 200) {
    if (request.method !== 'POST') return `a ${request.method} got 200`;
    if (request.path.startsWith('/oauth/revoke')) return text === '' ? null : `revocation answered a body: ${text.slice(0, 200)}`;
    const body = JSON.parse(text) as Record<string, unknown>;
    if (body.active === false) return text === '{"active":false}' ? null : `an inactive answer says more: ${text.slice(0, 200)}`;
    return body.active === true && typeof body.client_id === 'string' ? null : `introspection answered ${text.slice(0, 200)}`;
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `error body is not JSON (status ${status}): ${text.slice(0, 200)}`;
  }
  if (Object.keys(body).sort().join() !== 'error,error_description') return `error body fields ${Object.keys(body).join()}: ${text.slice(0, 200)}`;
  if (typeof body.error_description !== 'string' || !DESCRIPTION.test(body.error_description)) return `error_description outside RFC 6749 §5.2's set: ${JSON.stringify(body.error_description)}`;
  if (status === 401 && !/^(Basic|Bearer) realm="[^"]*"/.test(headers['www-authenticate'] ?? '')) return `401 without a challenge (got ${headers['www-authenticate']})`;
  if (status === 405 && headers.allow !== 'POST') return `405 with Allow ${headers.allow}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Generators

/** One "character" of hostile text: any code point, lone surrogates, NULs, separators, escapes. */
export const oddChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)) },
  { weight: 3, arbitrary: fc.constantFrom('\u0000', '%', '+', '&', '=', ':', ';', '"', "'", '\\', ' ', '\t', '\r\n', '\u2028', '\ufeff', '\u00e9', '%00', '%zz', '%ff', '%C3%A9', '%E2%28%A1') },
);
export const oddString = fc.string({ unit: oddChar, maxLength: 40 });
/** Long strings, from well under to well over the 16 KiB body limit. */
export const hugeString = fc
  .tuple(fc.string({ unit: oddChar, minLength: 1, maxLength: 8 }), fc.integer({ min: 1000, max: BODY_LIMIT + 4000 }))
  .map(([chunk, length]) => chunk.repeat(Math.ceil(length / chunk.length)).slice(0, length));
/** Characters Node lets us put in a header value (it refuses CR, LF, NUL and code points above U+00FF). */
export const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)) },
  { weight: 1, arbitrary: fc.constant('\t') },
);
export const headerString = fc.string({ unit: headerChar, maxLength: 60 });
/** Non-string JSON values for parameters that must be strings. */
export const nonString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.object({ maxDepth: 1, maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 2 }),
);

export const CONTENT_TYPES = [
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
export interface Known {
  clientIds: string[];
  secrets: string[];
  audiences: string[];
}

export function tokenRequestGenerators(known: Known) {
  const paramName = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('grant_type', 'client_id', 'client_secret', 'scope', 'audience', 'resource', 'client_assertion', 'client_assertion_type') },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'GRANT_TYPE', 'grant_type ', 'grant_type[]', 'client_id[0]') },
    { weight: 2, arbitrary: oddString },
  );
  const paramValue = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        'client_credentials',
        'authorization_code',
        'password',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
        'urn:ietf:params:oauth:grant-type:token-exchange',
        'urn:ietf:params:oauth:token-type:access_token',
        '',
      ),
    },
    { weight: 4, arbitrary: fc.constantFrom(...known.clientIds, ...known.secrets, ...known.audiences) },
    { weight: 2, arbitrary: fc.constantFrom('templates:read', 'templates:read templates:write', 'integrations:read', 'fonts:write  media:read', 'no-such:scope') },
    { weight: 6, arbitrary: oddString },
    { weight: 1, arbitrary: hugeString },
  );
  /** Names of parameters added to a request: mostly the optional ones, sometimes a repeat or junk. */
  const extraName = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('scope', 'audience', 'resource', 'subject_token', 'subject_token_type', 'requested_token_type') },
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
export function secretsIn(request: RawRequest): string[] {
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
export function linesLeaking(logs: string[], secrets: Iterable<string>): string[] {
  const needles = new Set<string>();
  for (const secret of secrets) {
    needles.add(secret);
    needles.add(JSON.stringify(secret).slice(1, -1));
  }
  return logs.filter((line) => [...needles].some((needle) => line.includes(needle)));
}

