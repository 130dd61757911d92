import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from '../../../config/load-config.ts';
import type { Clock } from '../../../support/clock.ts';
import type { IntegrationDeps } from '../../../platform/integrations.ts';
import { changeOwnPassword, verifyAdminLogin } from '../../../platform/admins.ts';
import { createSession, deleteOtherSessions, deleteSession } from '../../../platform/sessions.ts';
import { FailureRateLimiter } from '../../../oauth/failure-rate-limiter.ts';
import { recordAudit } from '../../../platform/audit.ts';
import { HttpProblem } from '../../../support/problem.ts';
import { requirePrincipal, SESSION_COOKIE } from '../../platform-auth.ts';
import { PasswordChangeSchema, SessionSchema } from '@latchkey/wire';
import { errorResponses, problemResponse, toAdminDto } from './schemas.ts';

const SessionDto = SessionSchema;

/** What the session routes use: the session policy, the clock, and the domain (admins, sessions, audit). */
export interface SessionRouteDeps {
  config: Pick<Config, 'session' | 'issuer'>;
  clock: Clock;
  platform: IntegrationDeps;
}

/** Console sign-in, session and sign-out. */
export async function sessionRoutes(app: FastifyInstance, deps: SessionRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const policy = deps.config.session;
  const secure = deps.config.issuer.startsWith('https:');
  // Sign-in attempts: per address and per email (from every address: passwords can be guessed);
  // success is never counted.
  const limiter = new FailureRateLimiter({ windowSeconds: 900, failuresPerClient: 10, failuresPerIp: 30, accounts: true }, deps.clock);

  api.post(
    '/api/v1/session',
    {
      schema: {
        tags: ['Session'],
        summary: 'Sign in to the console',
        security: [],
        body: Type.Object({ email: Type.String({ maxLength: 320 }), password: Type.String({ maxLength: 200 }) }),
        response: { 200: SessionDto, 429: problemResponse('Too many failed sign-ins; Retry-After says when to try again'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const email = request.body.email.trim().toLowerCase();
      const limited = limiter.check(request.ip, email);
      if (limited) throw new HttpProblem(429, 'too_many_attempts', `too many failed sign-ins ${limited.what}; try again in ${limited.retryAfter} seconds`, { 'retry-after': String(limited.retryAfter) });
      const admin = await verifyAdminLogin(deps.platform, email, request.body.password);
      if (!admin) {
        limiter.recordFailure(request.ip, email);
        // The target is what was typed as the email, only if it looks like one: people do type their
        // password into the email field, and the audit log must never hold a password.
        const target = /^[^\s@]{1,64}@[^\s@]{1,255}$/.test(email) ? email : '(not an email address)';
        await recordAudit(deps.platform.database.db, { actor: { type: 'system', id: 'console' }, ip: request.ip }, { at: deps.clock.now(), environmentId: null, action: 'admin.sign_in', targetType: 'admin', targetId: target, outcome: 'failure' });
        // One answer for an unknown email and a wrong password: no user enumeration. RFC 9110
        // §15.5.2 wants a challenge on every 401: the Platform API's other way in.
        throw new HttpProblem(401, 'invalid_credentials', 'email or password is wrong', { 'www-authenticate': 'Bearer realm="latchkey-platform-api"' });
      }
      const { cookieValue, session } = await createSession(deps.platform.database, deps.clock, policy, admin.id);
      await recordAudit(deps.platform.database.db, { actor: { type: 'admin', id: admin.id, email: admin.email }, ip: request.ip }, { at: deps.clock.now(), environmentId: null, action: 'admin.sign_in', targetType: 'admin', targetId: admin.email });
      reply.setCookie(SESSION_COOKIE, cookieValue, { httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: policy.absoluteSeconds });
      return {
        admin: toAdminDto(admin),
        csrfToken: session.csrfToken,
        expiresAt: new Date(session.expiresAt).toISOString(),
        idleExpiresAt: new Date(session.idleExpiresAt).toISOString(),
        passwordChangeRequired: admin.passwordChangeRequired,
      };
    },
  );

  api.get('/api/v1/session', { schema: { tags: ['Session'], summary: 'The signed-in admin and the CSRF token', response: { 200: SessionDto, ...errorResponses } } }, async (request) => {
    const principal = requirePrincipal(request);
    if (principal.kind !== 'admin') throw new HttpProblem(400, 'not_a_session', 'this request authenticated with a bearer token, not a console session');
    return {
      admin: toAdminDto(principal.admin),
      csrfToken: principal.session.csrfToken,
      expiresAt: new Date(principal.session.expiresAt).toISOString(),
      idleExpiresAt: new Date(principal.session.idleExpiresAt).toISOString(),
      passwordChangeRequired: principal.admin.passwordChangeRequired,
    };
  });

  api.put(
    '/api/v1/session/password',
    {
      schema: {
        tags: ['Session'],
        summary: 'Set a new password for the signed-in admin (required after signing in with a temporary one); ends their other sessions',
        body: PasswordChangeSchema,
        response: { 200: SessionDto, ...errorResponses },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      if (principal.kind !== 'admin') throw new HttpProblem(400, 'not_a_session', 'this request authenticated with a bearer token, not a console session');
      const context = { actor: { type: 'admin', id: principal.admin.id, email: principal.admin.email }, ip: request.ip } as const;
      const admin = await changeOwnPassword(deps.platform, principal.admin.id, request.body.currentPassword, request.body.newPassword, context);
      await deleteOtherSessions(deps.platform.database, admin.id, principal.cookieValue);
      return {
        admin: toAdminDto(admin),
        csrfToken: principal.session.csrfToken,
        expiresAt: new Date(principal.session.expiresAt).toISOString(),
        idleExpiresAt: new Date(principal.session.idleExpiresAt).toISOString(),
        passwordChangeRequired: admin.passwordChangeRequired,
      };
    },
  );

  api.delete('/api/v1/session', { schema: { tags: ['Session'], summary: 'Sign out', response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    const principal = requirePrincipal(request);
    if (principal.kind === 'admin') {
      await deleteSession(deps.platform.database, principal.cookieValue);
      await recordAudit(deps.platform.database.db, { actor: { type: 'admin', id: principal.admin.id, email: principal.admin.email }, ip: request.ip }, { at: deps.clock.now(), environmentId: null, action: 'admin.sign_out', targetType: 'admin', targetId: principal.admin.email });
    }
    reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure, path: '/' });
    return reply.code(204).send(null);
  });
}
