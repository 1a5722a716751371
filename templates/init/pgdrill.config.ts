// pgdrill configuration (README "Configuration"). Precedence: command-line flag > environment >
// this file > defaults; `pnpm exec pgdrill config --print` shows the result with secrets masked.
// Secrets never go here: DATABASE_URL (or PGPASSWORD / ~/.pgpass), PGDRILL_ENCRYPTION_KEYS,
// S3_ACCESS_KEY / S3_SECRET_KEY and PGDRILL_REPORT_SIGNING_KEY come from the environment.
import { defineConfig } from 'pgdrill';

export default defineConfig({
  // A folder, or s3://bucket/prefix with S3_ENDPOINT / S3_REGION for S3-compatible storage.
  storage: { url: './pgdrill-backups' },

  // 7 daily backups and 84 monthly copies: seven years of month-end restore points.
  retention: { daily: 7, weekly: 0, monthly: 84 },

  backup: {
    // pg_dump patterns of tables not worth restoring.
    excludeTables: ['*._prisma_migrations'],
    // Your audit log's hash chain, verified after every restore; null when there is none. Example:
    // auditChain: { table: 'public.audit_logs', orderColumn: 'id', hashColumn: 'hash', prevHashColumn: 'prev_hash', payloadSql: "…" },
    auditChain: null,
  },

  drill: {
    // The newest backup must be younger than this (hours): a daily backup plus slack.
    freshnessHours: 26,
    // Application login roles that must authenticate after a restore, password from the named variable.
    loginRoles: [
      // { name: 'app_user', passwordEnv: 'APP_USER_PASSWORD' },
    ],
    // Canary accounts in your users table (see README); null when you have none.
    canaries: null,
    // Your own drill files and checks, beside this file.
    files: ['drills/**/*.drill.ts'],
    checks: ['checks/*.ts'],
  },

  report: {
    // Whose record this is: printed on every page of the PDF the auditors file.
    // Until these are set, every report says "not configured" and warns.
    // organisation: 'Your organisation',
    // system: 'The system this database serves',
    // dpoContact: 'dpo@example.org',
    // 'generic' (ISO/IEC 27001) or 'ndpa' (Nigeria Data Protection Act 2023) control mapping.
    regime: 'generic',
    timeZone: 'UTC',
    // Recovery objectives the drill measures itself against.
    rtoTargetMinutes: 60,
    rpoTargetHours: 24,
  },
});
