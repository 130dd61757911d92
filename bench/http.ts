/** Small HTTP helpers shared by the scenarios: one-off requests and OAuth client authentication. */
import type { HttpRequest, LoadTarget } from './scenario.ts';

/** Sends one request of a target (like curl) and returns status and body text. */
export async function sendOnce(target: LoadTarget, request: HttpRequest): Promise<{ status: number; body: string }> {
  const res = await fetch(target.url, {
    method: target.method,
    headers: request.headers,
    ...(target.method === 'POST' ? { body: request.body } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.text() };
}

/** Sends one request and fails loudly unless it gets a 200; returns the body. */
export async function expectOk(name: string, target: LoadTarget, request: HttpRequest): Promise<string> {
  const { status, body } = await sendOnce(target, request);
  if (status !== 200) throw new Error(`${name}: ${target.method} ${target.url} answered ${status}, not 200: ${body.slice(0, 500)}`);
  return body;
}

/** The `access_token` of a token response body. */
export function accessTokenOf(body: string): string {
  const parsed = JSON.parse(body) as { access_token?: unknown };
  if (typeof parsed.access_token !== 'string') throw new Error(`no access_token in ${body.slice(0, 200)}`);
  return parsed.access_token;
}

/** application/x-www-form-urlencoded encoding of one value. */
export function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** `Authorization: Basic` value per RFC 6749 §2.3.1: id and secret form-encoded, then base64. */
export function basicAuth(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
}

/** Headers of a form-encoded token request with Basic client authentication. */
export function tokenRequest(clientId: string, clientSecret: string, body: string): HttpRequest {
  return {
    headers: { authorization: basicAuth(clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body,
  };
}
