import type { FastifyInstance } from 'fastify';
import { isJsonNestedDeeperThan, MAX_JSON_DEPTH } from '../support/json-nesting.ts';
import { HttpProblem } from '../support/problem.ts';

/**
 * Replaces Fastify's `application/json` body parser with the same parser (same prototype-poisoning
 * rules) behind a nesting bound: a body nested more than MAX_JSON_DEPTH levels is refused with 400
 * `json_too_deep` before it is parsed. A few thousand levels parse, but then overflow the stack of
 * whatever recurses over the value (validation, serialisation, storage): that was a 500. Call
 * before any plugin registers, so every JSON route of the Platform and Environment APIs inherits it.
 */
export function boundJsonBodyDepth(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (isJsonNestedDeeperThan(body as string)) {
      done(new HttpProblem(400, 'json_too_deep', `the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep; Latchkey accepts at most ${MAX_JSON_DEPTH}`), undefined);
      return;
    }
    parse(request, body as string, done);
  });
}
