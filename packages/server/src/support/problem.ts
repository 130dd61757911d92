import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AccessTokenError } from '@latchkey/resource';
import { isDatabaseUnavailable, isUnstorableText } from './database-errors.ts';
import { ProblemError } from './problem-error.ts';

/** An RFC 9457 problem raised by the HTTP layer (auth, CSRF, …); domain errors use PlatformError. */
export class HttpProblem extends ProblemError {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    override readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The wire schema of a problem document, shared by the Platform and Environment APIs' OpenAPI. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable machine-readable error code' }),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { description: 'RFC 9457 problem details (application/problem+json)' },
);

/** RFC 9457 problem details body, with Latchkey's stable `code` and, for validation, the fields at fault. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { field: string; message: string }[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A problem document with Latchkey's type URI and the status's title. */
export function problem(status: number, code: string, detail: string, errors?: ProblemBody['errors']): ProblemBody {
  return { type: `https://latchkey.dev/problems/${code}`, title: TITLES[status] ?? 'Error', status, detail, code, ...(errors ? { errors } : {}) };
}

/** Sends a problem with the application/problem+json media type. */
export function sendProblem(reply: FastifyReply, body: ProblemBody, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(body.status).headers({ 'cache-control': 'no-store', ...headers }).type('application/problem+json; charset=utf-8').send(JSON.stringify(body));
}

// Fastify/ajv validation errors name the field as '/name' or by missingProperty.
function validationErrors(error: FastifyError): ProblemBody['errors'] {
  return (error.validation ?? []).map((v) => {
    const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
    const path = (v.instancePath || '').replace(/^\//, '').replace(/\//g, '.');
    const field = [error.validationContext === 'body' ? '' : error.validationContext, path, missing].filter(Boolean).join('.') || (error.validationContext ?? 'request');
    return { field, message: v.message ?? 'is invalid' };
  });
}

/** The one error handler of the Platform and Environment APIs: every failure becomes a problem document. */
export function problemErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof ProblemError) {
    return sendProblem(reply, problem(error.statusCode, error.code, error.message, error.field ? [{ field: error.field, message: error.message }] : undefined), error.headers);
  }
  if (error instanceof AccessTokenError) {
    return sendProblem(reply, problem(error.statusCode, error.error ?? 'unauthorized', error.message), error.headers);
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const errors = validationErrors(fastifyError);
    return sendProblem(reply, problem(400, 'validation_failed', `invalid request: ${errors?.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors));
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const code = status === 413 ? 'body_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request';
    return sendProblem(reply, problem(status, code, fastifyError.message));
  }
  if (isUnstorableText(error)) {
    return sendProblem(reply, problem(400, 'invalid_text', 'the request contains a NUL character (U+0000), which Latchkey does not accept in text'));
  }
  if (isDatabaseUnavailable(error)) {
    request.log.warn({ err: error }, 'database unavailable');
    return sendProblem(reply, problem(503, 'database_unavailable', 'the database is unavailable right now; retry shortly'), { 'retry-after': '1' });
  }
  request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, problem(500, 'internal_error', 'the server could not handle the request; it has been logged'));
}

/**
 * A 400 problem for a request whose path the router cannot decode (a malformed percent-escape such
 * as `%zz`). Fastify refuses those before any route or error handler runs (FST_ERR_BAD_URL), with a
 * body of its own and no Cache-Control; this answers them like every other bad request.
 */
export function sendBadUrl(_error: Error, _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, problem(400, 'bad_url', 'the request path is not correctly percent-encoded'));
}

/**
 * Refuses an API request whose path or query holds an encoded NUL character (`%00`): it is never part
 * of an id, a name or a filter, and PostgreSQL cannot compare text holding one (SQLite can), so both
 * databases answer it alike, before any route — or the not-found handler — runs.
 */
export async function refuseNulInUrl(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (!request.url.startsWith('/api/') || !request.url.includes('%00')) return undefined;
  return sendProblem(reply, problem(400, 'bad_url', 'the request URL contains an encoded NUL character (%00)'));
}

/** A 404 problem for routes that do not exist under an API prefix. */
export function sendRouteNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, problem(404, 'route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
}
