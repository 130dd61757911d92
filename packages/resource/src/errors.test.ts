import { describe, expect, it } from 'vitest';
import { AccessTokenError } from './errors.ts';
import type { AccessTokenErrorCode } from './errors.ts';

describe('AccessTokenError (RFC 6750 §3)', () => {
  it.each<[AccessTokenErrorCode, number, string | undefined]>([
    ['ERR_TOKEN_MISSING', 401, undefined],
    ['ERR_TOKEN_MALFORMED', 400, 'invalid_request'],
    ['ERR_TOKEN_IN_QUERY', 400, 'invalid_request'],
    ['ERR_TOKEN_INVALID', 401, 'invalid_token'],
    ['ERR_TOKEN_EXPIRED', 401, 'invalid_token'],
    ['ERR_TOKEN_REVOKED', 401, 'invalid_token'],
    ['ERR_INSUFFICIENT_SCOPE', 403, 'insufficient_scope'],
    ['ERR_JWKS_UNAVAILABLE', 503, 'temporarily_unavailable'],
    ['ERR_REVOCATION_UNAVAILABLE', 503, 'temporarily_unavailable'],
    ['ERR_DPOP_PROOF_INVALID', 401, 'invalid_dpop_proof'],
    ['ERR_TOKEN_DPOP_BOUND', 401, 'invalid_token'],
    ['ERR_TOKEN_NOT_DPOP_BOUND', 401, 'invalid_token'],
    ['ERR_DPOP_KEY_MISMATCH', 401, 'invalid_token'],
    ['ERR_WRITE_TOKEN_IN_BROWSER', 403, 'write_token_in_browser'],
  ])('%s is %i %s', (code, status, error) => {
    const thrown = new AccessTokenError(code, { realm: 'api' });
    expect(thrown.code).toBe(code);
    expect(thrown.statusCode).toBe(status);
    expect(thrown.error).toBe(error);
    expect(thrown.body.error).toBe(error);
    expect(thrown.message).toBe(thrown.errorDescription);
    expect(thrown.errorDescription).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]+$/);
  });

  it('challenges without an error code when no token was sent', () => {
    const error = new AccessTokenError('ERR_TOKEN_MISSING', { realm: 'api' });
    expect(error.wwwAuthenticate).toBe('Bearer realm="api"');
    expect(error.headers).toEqual({ 'www-authenticate': 'Bearer realm="api"' });
    expect(error.body).toEqual({ error_description: 'this API requires a bearer access token' });
  });

  it('writes error, description and scope into the challenge', () => {
    const error = new AccessTokenError('ERR_INSUFFICIENT_SCOPE', { realm: 'api', scope: 'a:write', description: 'needs a:write' });
    expect(error.wwwAuthenticate).toBe('Bearer realm="api", error="insufficient_scope", error_description="needs a:write", scope="a:write"');
    expect(Object.keys(error.body)).toEqual(['error', 'error_description', 'scope']);
  });

  it('sends no challenge for a key-loading or revocation-list failure', () => {
    for (const code of ['ERR_JWKS_UNAVAILABLE', 'ERR_REVOCATION_UNAVAILABLE'] as const) {
      const error = new AccessTokenError(code, { realm: 'api' });
      expect(error.wwwAuthenticate).toBeUndefined();
      expect(error.headers).toEqual({});
    }
  });

  it('says a revoked token has been revoked, in the challenge and the body', () => {
    const error = new AccessTokenError('ERR_TOKEN_REVOKED', { realm: 'api' });
    expect(error.wwwAuthenticate).toBe('Bearer realm="api", error="invalid_token", error_description="the token has been revoked"');
    expect(error.body).toEqual({ error: 'invalid_token', error_description: 'the token has been revoked' });
  });

  it('refuses text that would break the quoted-string', () => {
    expect(() => new AccessTokenError('ERR_TOKEN_INVALID', { description: 'a "quoted" word' })).toThrow(TypeError);
    expect(() => new AccessTokenError('ERR_TOKEN_INVALID', { realm: 'a\\b' })).toThrow(TypeError);
    expect(() => new AccessTokenError('ERR_NOPE' as AccessTokenErrorCode)).toThrow(TypeError);
  });

  it('challenges with the DPoP scheme and its algs (RFC 9449 §7.1)', () => {
    const error = new AccessTokenError('ERR_DPOP_PROOF_INVALID', { realm: 'api', scheme: 'DPoP', algs: ['ES256', 'EdDSA'], description: 'the DPoP proof is too old (iat)' });
    expect(error.wwwAuthenticate).toBe('DPoP realm="api", algs="ES256 EdDSA", error="invalid_dpop_proof", error_description="the DPoP proof is too old (iat)"');
    const expired = new AccessTokenError('ERR_TOKEN_EXPIRED', { realm: 'api' }).asDpop(['ES256']);
    expect(expired.wwwAuthenticate).toBe('DPoP realm="api", algs="ES256", error="invalid_token", error_description="the access token has expired"');
    expect(() => new AccessTokenError('ERR_TOKEN_INVALID', { scheme: 'DPoP', algs: ['ES256", x="'] })).toThrow(TypeError);
  });

  it('sends no challenge for the browser rule (not an authentication failure)', () => {
    const error = new AccessTokenError('ERR_WRITE_TOKEN_IN_BROWSER', { realm: 'api' });
    expect(error.wwwAuthenticate).toBeUndefined();
    expect(error.headers).toEqual({});
  });
});
