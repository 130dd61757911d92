// Its own module, free of imports, so that the domain's errors (and the CLI that loads them) do not
// pull in the HTTP problem writer.

/**
 * An error a client may see as an RFC 9457 problem: its status, stable code, message and, for
 * validation, the field at fault. The domain's PlatformError and the HTTP layer's HttpProblem extend
 * it, so the one handler (support/problem.ts) writes both without importing the layers that define them.
 */
export abstract class ProblemError extends Error {
  abstract readonly statusCode: number;
  abstract readonly code: string;
  // `declare`: no field is emitted, so subclasses keep exactly the own properties they had.
  /** The input field at fault, for validation errors. */
  declare readonly field?: string;
  /** Extra response headers (e.g. `allow`, `retry-after`). */
  declare readonly headers?: Record<string, string>;
}
