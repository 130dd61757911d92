import { PlatformError } from '../platform/errors.ts';
import { HttpProblem } from '../support/problem.ts';
import { formatBytes } from './asset-kinds.ts';

// The Environment API's problems, each with a stable `code`. They are PlatformError / HttpProblem so
// the shared problemErrorHandler (support/problem.ts) writes them as RFC 9457 documents.

/** 404 `<thing>_not_found` for a template, project, media file or font of an environment. */
export class ItemNotFound extends PlatformError {
  constructor(what: 'template' | 'project' | 'media' | 'font', id: string, environmentId: string) {
    super(`${what}_not_found`, 404, `${what === 'media' ? 'media file' : what} '${id.slice(0, 64)}' does not exist in environment ${environmentId}`);
  }
}

/** 404 `environment_not_found`: the token is for this environment, but it no longer exists. */
export class EnvironmentGone extends PlatformError {
  constructor(environmentId: string) {
    super('environment_not_found', 404, `environment '${environmentId}' does not exist`);
  }
}

/** 413 `body_too_large`, naming the limit. */
export class TooLarge extends PlatformError {
  constructor(what: string, limit: number) {
    super('body_too_large', 413, `${what} may be at most ${formatBytes(limit)}`);
  }
}

/** 415 `unsupported_media_type`, naming what is accepted. */
export class UnsupportedMediaType extends HttpProblem {
  constructor(received: string, accepted: readonly string[], what: string) {
    super(415, 'unsupported_media_type', `${what} must be sent as ${accepted.join(', ')}; got ${received === '' ? 'no Content-Type' : JSON.stringify(received.slice(0, 100))}`);
  }
}
