/** The only variables a child process inherits from pgdrill's own environment. */
const INHERITED = /^(PATH|HOME|LANG|LC_[A-Z]+|TZ|TMPDIR|USER)$/;

/**
 * The whole environment of every child pgdrill starts (pg_dump, pg_dumpall, pg_restore, psql,
 * initdb, pg_ctl and through it postgres, which runs as another OS user whose
 * /proc/<pid>/environ that user can read): PATH, HOME, locale, TZ, TMPDIR and USER, plus the
 * explicit `extra` (connection, PGPASSWORD, ...). Never DATABASE_URL, encryption keys, S3
 * secrets, or a stray PG* variable that could point a tool at another server.
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && INHERITED.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}
