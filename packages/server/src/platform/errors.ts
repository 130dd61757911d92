import { ProblemError } from '../support/problem-error.ts';

/**
 * A domain error with a stable `code` (used as the RFC 9457 problem `code` by the HTTP layer and as
 * the message prefix by the CLI) and the HTTP status it maps to.
 */
export class PlatformError extends ProblemError {
  override name = 'PlatformError';
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    /** The input field at fault, for validation errors. */
    override readonly field?: string,
  ) {
    super(message);
  }
}

/** Something named does not exist. */
export class NotFoundError extends PlatformError {
  constructor(what: 'environment' | 'integration' | 'secret' | 'signing_key' | 'admin', id: string) {
    super(`${what}_not_found`, 404, `${what.replace('_', ' ')} '${id}' does not exist`);
  }
}

/** Input that breaks a rule; `field` names it. */
export class ValidationError extends PlatformError {
  constructor(field: string, message: string) {
    super('validation_failed', 400, message, field);
  }
}

/** A create that would collide with something that exists. */
export class ConflictError extends PlatformError {
  constructor(code: string, message: string) {
    super(code, 409, message);
  }
}
