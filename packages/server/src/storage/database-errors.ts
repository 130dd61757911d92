// The database error predicates live in support/database-errors.ts: the one problem handler
// (support/problem.ts) needs them, and support imports no other folder. They stay importable from
// here for storage's consumers.
export * from '../support/database-errors.ts';
