import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors/index.ts';
import { childEnv } from './env.ts';

/** A parsed postgres:// URL. The password is kept only to hand to libpq via the environment. */
export interface ConnectionInfo {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  /** Query parameters libpq understands (sslmode, ...). */
  params: Record<string, string>;
}

const LIBPQ_PARAM_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  application_name: 'PGAPPNAME',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  options: 'PGOPTIONS',
};

export function parseDatabaseUrl(url: string | undefined, what = 'DATABASE_URL'): ConnectionInfo {
  if (!url) throw new ConfigError(`${what} is not set`, { hint: `Set ${what}=postgres://user@host:5432/db (password via PGPASSWORD or ~/.pgpass)` });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${what} is not a valid URL`, { hint: 'Expected postgres://user:password@host:5432/database' });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(`${what} has protocol ${parsed.protocol}`, { hint: 'Expected postgres:// or postgresql://' });
  }
  const params: Record<string, string> = {};
  parsed.searchParams.forEach((value, key) => (params[key] = value));
  // libpq also accepts the password as a query parameter; keep it out of `params` (and out of logs).
  const queryPassword = params.password;
  delete params.password;
  const host = params.host ?? decodeURIComponent(parsed.hostname || 'localhost');
  return {
    host,
    port: Number(parsed.port || params.port || 5432),
    user: decodeURIComponent(parsed.username || process.env.PGUSER || 'postgres'),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '') || 'postgres'),
    password: parsed.password ? decodeURIComponent(parsed.password) : (queryPassword ?? process.env.PGPASSWORD),
    params,
  };
}

/**
 * The whole environment of pg_dump / pg_restore / psql: childEnv (PATH, locale, ...) plus the
 * connection as libpq variables. The password never goes on the command line, and no encryption
 * key, S3 secret or stray PG* variable reaches the tool.
 */
export function libpqEnv(info: ConnectionInfo): Record<string, string> {
  const env: Record<string, string> = {
    PGHOST: info.host,
    PGPORT: String(info.port),
    PGUSER: info.user,
    PGDATABASE: info.database,
  };
  if (info.password !== undefined) env.PGPASSWORD = info.password;
  for (const [param, value] of Object.entries(info.params)) {
    const name = LIBPQ_PARAM_ENV[param];
    if (name) env[name] = value;
  }
  return childEnv(env);
}

/** TLS for node-postgres with libpq's meaning of sslmode (node-postgres cannot fall back like `prefer`). */
function tlsOptions(params: Record<string, string>) {
  const mode = params.sslmode ?? 'disable';
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return undefined;
  const ca = params.sslrootcert ? readFileSync(params.sslrootcert, 'utf8') : undefined;
  if (mode === 'require') return { rejectUnauthorized: false };
  // verify-ca checks the chain but not the host name; verify-full checks both.
  return { rejectUnauthorized: true, ca, ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}) };
}

/** node-postgres client config for the same connection. */
export function pgClientConfig(info: ConnectionInfo, database = info.database) {
  return {
    host: info.host,
    port: info.port,
    user: info.user,
    password: info.password,
    database,
    ssl: tlsOptions(info.params),
    application_name: 'pgdrill',
  };
}

/** host:port/db as shown to people. */
export function describeConnection(info: ConnectionInfo): string {
  return `${info.host}:${info.port}/${info.database}`;
}
