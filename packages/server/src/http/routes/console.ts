import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.ts';

/** Serves the built web console (packages/console/dist) at `/`. Stub: filled in by issue 4. */
export async function consoleRoutes(_app: FastifyInstance, _options: { runtime: Runtime }): Promise<void> {}
