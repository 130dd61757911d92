import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.ts';

/** The Environment API (design §7), protected only through @latchkey/resource. */
export async function environmentApiRoutes(_app: FastifyInstance, _options: { runtime: Runtime }): Promise<void> {}
