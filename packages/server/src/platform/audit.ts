// The audit vocabulary as the domain and its callers name it. The table and its queries live in
// storage/audit-log.ts (storage is the lowest layer that writes entries, keys included); a domain
// write records its entry through the change log (storage/change-log.ts), in its own transaction.
export { SYSTEM_CONTEXT, queryAudit, appendAudit as recordAudit } from '../storage/audit-log.ts';
export type { Actor, ActionContext, AuditEntry, AuditEntryInput, AuditQuery } from '../storage/audit-log.ts';
