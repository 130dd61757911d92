// Wire types of the Platform API come from @latchkey/wire, the one definition the server validates
// with and documents in OpenAPI. Type-only: no schema code reaches the bundle.
export type {
  Admin,
  ApiCatalogue,
  ApiId,
  AuditEntry,
  AuditPage,
  Environment,
  Grants,
  Integration,
  IntegrationPage,
  IntegrationWithSecret,
  PermissionsResult,
  Problem as ProblemBody,
  ProblemCode,
  Secret,
  ServerMetadata,
  SessionInfo,
  Usage,
} from '@latchkey/wire';
