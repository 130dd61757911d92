/**
 * @latchkey/wire: the Platform API's request and response schemas (TypeBox), their static types and
 * the stable problem codes — one definition for the server, the console and the CLI.
 */
export * from './platform-api.ts';
export * from './problem.ts';
