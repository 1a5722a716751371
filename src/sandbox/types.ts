/** Where a sandbox PostgreSQL listens; the password is random per sandbox and never logged. */
export interface SandboxConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export type SandboxKind = 'docker' | 'embedded';

export interface SandboxOptions {
  /** PostgreSQL major version wanted (from the backup manifest's server version). */
  major: number;
  /** docker: image template, `{major}` replaced, e.g. `postgres:{major}`. */
  image?: string;
  /** embedded: directory holding initdb, pg_ctl, postgres, pg_restore, psql; default: found on PATH or /usr/lib/postgresql/{major}/bin. */
  binDir?: string;
  /** Database created empty for the restore. */
  database?: string;
}

/** A fresh, isolated PostgreSQL that a drill or a test restores into and throws away. */
export interface Sandbox {
  readonly kind: SandboxKind;
  /** Image for docker, binary directory for embedded. */
  readonly description: string;
  /** `SHOW server_version` of the running server. */
  readonly serverVersion: string;
  readonly connection: SandboxConnection;
  /** postgres://user:password@host:port/db — for the in-process `pg` client only, never printed. */
  connectionUri(database?: string): string;
  /**
   * Runs this sandbox's own pg_restore (the container's inside docker, so versions match) on a
   * local archive file, with the given extra arguments (e.g. `--jobs=2`, `--no-owner`).
   */
  pgRestore(archivePath: string, args: readonly string[]): Promise<void>;
  /** Runs this sandbox's own psql on a local SQL file (plain-format dumps, globals). */
  psqlFile(sqlPath: string, database?: string): Promise<void>;
  /** Stops and removes everything the sandbox created; safe to call twice. */
  stop(): Promise<void>;
}
