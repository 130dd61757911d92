import type { FetchLike } from './token-client.ts';

/** What {@link createAuthorizedFetch} needs from a token source; {@link TokenClient} has it. */
export interface TokenSource {
  getToken(): Promise<string>;
  invalidate(): void;
}

/**
 * A `fetch` that sends `Authorization: Bearer <token>` and, when the API answers 401, fetches a
 * fresh token once (after `invalidate()`) and repeats the request. A request whose body is a
 * stream cannot be repeated, so its 401 is returned as is.
 *
 * It sends the token to every URL it is given: use it only for the API the token is meant for.
 *
 * @example
 * import { TokenClient, createAuthorizedFetch } from '@latchkey/client';
 *
 * const api = createAuthorizedFetch(TokenClient.fromEnv());
 * const response = await api('https://latchkey.example.com/api/v1/environments/env_1/templates');
 */
export function createAuthorizedFetch(tokenClient: TokenSource, fetchImpl?: FetchLike): FetchLike {
  if (typeof tokenClient?.getToken !== 'function' || typeof tokenClient.invalidate !== 'function') {
    throw new TypeError('createAuthorizedFetch needs a TokenClient (or an object with getToken and invalidate)');
  }
  // A wrapper, so window.fetch is never called with a foreign `this` ("Illegal invocation").
  const send: FetchLike = fetchImpl ?? ((input, init) => globalThis.fetch(input, init));

  return async (input, init) => {
    // A Request's body can be read once: keep a copy for the retry before the first attempt uses it.
    const spare = input instanceof Request && input.body !== null && init?.body === undefined ? input.clone() : input;
    const replayable = !(init?.body instanceof ReadableStream);
    const baseHeaders = init?.headers ?? (input instanceof Request ? input.headers : undefined);

    const attempt = (target: string | URL | Request, token: string): Promise<Response> => {
      const headers = new Headers(baseHeaders);
      headers.set('authorization', `Bearer ${token}`);
      return send(target, { ...init, headers });
    };

    const response = await attempt(input, await tokenClient.getToken());
    if (response.status !== 401 || !replayable) return response;
    // Release the connection before asking again.
    await response.body?.cancel().catch(() => undefined);
    tokenClient.invalidate();
    return attempt(spare, await tokenClient.getToken());
  };
}
