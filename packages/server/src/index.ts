// The public surface of @latchkey/server for code that embeds or scripts it (benchmarks, tests,
// operators' own tooling). The deployable itself is the `latchkey` CLI.

export { loadConfig, ConfigError, type Config } from './config/load-config.ts';
export { openDatabase, type Database } from './storage/database.ts';
export { systemClock, createManualClock, type Clock } from './support/clock.ts';
export { createLogger } from './support/logger.ts';
export { createRuntime, createPlatformDeps, type Runtime, type RuntimeDeps } from './runtime.ts';
export { startServer, type RunningServer } from './server.ts';
export { buildApp, type BuildAppOptions } from './app.ts';
export { processRole, type ProcessRole } from './boot.ts';
export { createEnvironment, listEnvironments } from './platform/environments.ts';
export { createIntegration, getIntegration, listIntegrations, setPermissions, rotateSecret, type Grants, type Integration } from './platform/integrations.ts';
export { SYSTEM_CONTEXT, type ActionContext } from './platform/audit.ts';
