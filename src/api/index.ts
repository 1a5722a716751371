// The admin HTTP API and page of `pgdrill serve` (Fastify): backup history, manual backups and
// drills, downloads, deletions, drill reports, an audit trail; tokens and page sessions with roles.
export { startApiServer, type ApiServerOptions, type RunningApi } from './server.ts';
export { createApiToken, hashPassword, type Role } from './tokens.ts';
export { AuditRecord, chainProblems, type StoredAuditRecord } from './audit.ts';
