import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
  /** Set when no password was found: the error to raise if the server asks for one. */
  noPassword?: string;
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
  const passfile = params.passfile;
  delete params.passfile;
  const info: ConnectionInfo = {
    host: params.host ?? decodeURIComponent(parsed.hostname || 'localhost'),
    port: Number(parsed.port || params.port || 5432),
    user: decodeURIComponent(parsed.username || process.env.PGUSER || 'postgres'),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '') || 'postgres'),
    params,
  };
  // libpq's order: the URL, then PGPASSWORD, then the password file. Resolved here once, so
  // pg_dump (given PGPASSWORD) and the node-postgres client use the same password.
  const given = parsed.password ? decodeURIComponent(parsed.password) : queryPassword || process.env.PGPASSWORD || undefined;
  if (given !== undefined) return { ...info, password: given };
  const file = passfile ?? (process.env.PGPASSFILE || path.join(os.homedir(), '.pgpass'));
  const found = passwordFromFile(file, info);
  if (found.password !== undefined) return { ...info, password: found.password };
  // A password in the URL is refused for --target-db (it would sit in the shell history).
  const places = what === 'DATABASE_URL' ? `set PGPASSWORD, a password in ${what}, or ${file}` : `set PGPASSWORD or ${file}`;
  return { ...info, noPassword: `no password for user ${info.user} on ${describeConnection(info)}: ${places}${found.ignored ? ` (${found.ignored})` : ''}` };
}

/**
 * The password for a connection from a libpq password file, by libpq's rules: lines
 * `host:port:database:username:password`, the first matching line wins, a field of `*` matches
 * anything, `\` escapes `:` and `\`, lines starting with `#` are comments. Like libpq, a file that
 * is not a regular file, or that group or others may access (not 0600 or stricter), is ignored:
 * `ignored` then says why. A missing file is no password.
 */
export function passwordFromFile(file: string, target: Pick<ConnectionInfo, 'host' | 'port' | 'database' | 'user'>): { password?: string; ignored?: string } {
  let text: string;
  try {
    const info = statSync(file);
    if (!info.isFile()) return { ignored: `${file} was ignored: it is not a plain file` };
    if ((info.mode & 0o077) !== 0) {
      return { ignored: `${file} was ignored: group or others may access it (mode ${(info.mode & 0o777).toString(8)}); chmod 0600 ${file}` };
    }
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  // libpq matches a socket directory as "localhost" (it only does so for its default directory).
  const wanted = [target.host.startsWith('/') ? 'localhost' : target.host, String(target.port), target.database, target.user];
  for (const line of text.split('\n')) {
    const trimmed = line.replace(/\r$/, '');
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fields = splitPasswordLine(trimmed);
    if (fields.length < 5) continue;
    if (wanted.every((value, i) => fields[i]!.wildcard || fields[i]!.text === value)) return fields[4]!.text === '' ? {} : { password: fields[4]!.text };
  }
  return {};
}

/** A password-file line split at unescaped `:`, with escapes removed; `*` noted only when unescaped. */
function splitPasswordLine(line: string): Array<{ text: string; wildcard: boolean }> {
  const fields: Array<{ text: string; wildcard: boolean }> = [];
  let text = '';
  let raw = '';
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === '\\' && i + 1 < line.length) {
      text += line[++i];
      raw += `\\${line[i]}`;
    } else if (char === ':') {
      fields.push({ text, wildcard: raw === '*' });
      text = raw = '';
    } else {
      text += char;
      raw += char;
    }
  }
  fields.push({ text, wildcard: raw === '*' });
  return fields;
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
    // Called only if the server asks for a password: instead of node-postgres's "SASL: … client
    // password must be a string", say that none was given and where to give it.
    password:
      info.password ??
      (() => {
        throw new ConfigError(info.noPassword ?? `no password for user ${info.user} on ${describeConnection(info)}`);
      }),
    database,
    ssl: tlsOptions(info.params),
    application_name: 'pgdrill',
  };
}

/** host:port/db as shown to people. */
export function describeConnection(info: ConnectionInfo): string {
  return `${info.host}:${info.port}/${info.database}`;
}
