import { expect } from 'vitest';
import { AccessTokenError } from '../../src/errors.ts';

/** The AccessTokenError a promise rejects with (fails the test if it resolves or rejects with anything else). */
export async function rejection(promise: Promise<unknown>): Promise<AccessTokenError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(AccessTokenError);
  return error as AccessTokenError;
}
