import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors/index.ts';
import { childEnv } from './env.ts';

/** How long opening a connection may take, and which setting said so (for messages). */
export interface ConnectTimeout {
  seconds: number;
  /** `connect_timeout in DATABASE_URL`, `PGCONNECT_TIMEOUT`, `backup.connectTimeoutSeconds`. */
  from: string;
}

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
  /** Undefined: wait as long as the operating system does (libpq's connect_timeout=0). */
  connectTimeout?: ConnectTimeout;
}

export interface ParseDatabaseUrlOptions {
  /** Used when neither the URL's connect_timeout nor PGCONNECT_TIMEOUT gives one (config `backup.connectTimeoutSeconds`). */
  defaultConnectTimeout?: ConnectTimeout;
}

const LIBPQ_PARAM_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
};

/**
 * connect_timeout as libpq reads it: whole seconds; zero or negative waits indefinitely (undefined);
 * 1 counts as 2, libpq's minimum. Anything else is a configuration error naming where it came from.
 */
function parseConnectTimeout(raw: string, from: string): ConnectTimeout | undefined {
  if (!/^\s*[-+]?\d+\s*$/.test(raw)) {
    throw new ConfigError(`${from} is ${JSON.stringify(raw)}, not a whole number of seconds`, { hint: 'Give the seconds to wait for the server to answer, e.g. connect_timeout=10' });
  }
  const seconds = Number(raw);
  if (seconds <= 0) return undefined;
  return { seconds: Math.max(seconds, 2), from };
}

export function parseDatabaseUrl(url: string | undefined, what = 'DATABASE_URL', options: ParseDatabaseUrlOptions = {}): ConnectionInfo {
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
  const host = params.host ?? decodeURIComponent(parsed.hostname || 'localhost');
  // libpq's order: the URL's parameter, then the environment, then (pgdrill's) configured default.
  const envTimeout = process.env.PGCONNECT_TIMEOUT;
  const connectTimeout =
    params.connect_timeout !== undefined
      ? parseConnectTimeout(params.connect_timeout, `connect_timeout in ${what}`)
      : envTimeout !== undefined && envTimeout !== ''
        ? parseConnectTimeout(envTimeout, 'PGCONNECT_TIMEOUT')
        : options.defaultConnectTimeout;
  const info: ConnectionInfo = {
    host,
    port: Number(parsed.port || params.port || 5432),
    user: decodeURIComponent(parsed.username || process.env.PGUSER || 'postgres'),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '') || 'postgres'),
    params,
    ...(connectTimeout ? { connectTimeout } : {}),
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
  if (info.connectTimeout) env.PGCONNECT_TIMEOUT = String(info.connectTimeout.seconds);
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
    // node-postgres' 0 is "no limit", like libpq's.
    connectionTimeoutMillis: (info.connectTimeout?.seconds ?? 0) * 1000,
  };
}

/**
 * When a connection attempt failed because the server did not answer within the connect timeout
 * (node-postgres: "timeout expired"), what to say instead of that: the timeout, where it came from
 * and what to do. Undefined for every other failure.
 */
export function connectTimeoutFailure(error: unknown, info: ConnectionInfo): { reason: string; hint: string } | undefined {
  if (!info.connectTimeout || !(error instanceof Error) || !/timeout expired|connection timeout/i.test(error.message)) return undefined;
  const { seconds, from } = info.connectTimeout;
  return {
    reason: `no answer within ${seconds} s (${from})`,
    hint:
      `Something at ${info.host}:${info.port} accepts connections but never answers (a hung server, proxy or firewall) or is very slow: ` +
      'check that it is the PostgreSQL server and that it runs; if it is only slow, raise connect_timeout in the URL (or PGCONNECT_TIMEOUT, backup.connectTimeoutSeconds)',
  };
}

/** What endSessionOnAbort needs of a node-postgres Client (structural, so pgtools does not load pg). */
export interface AbortablePgSession {
  readonly connection: { readonly stream: { destroy(): void } };
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** How long a cancel request may take to reach the server before it is given up (best effort). */
const CANCEL_REQUEST_TIMEOUT_MS = 5_000;

/**
 * A CancelRequest for the session's running query, as libpq's PQcancel sends it: a new connection
 * carrying only the backend's process id and secret key (no login, not subject to pg_hba.conf).
 */
function sendCancelRequest(info: ConnectionInfo, processID: number, secretKey: number): void {
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80_877_102, 4); // the CancelRequest code
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  const socket = info.host.startsWith('/') ? net.connect(path.join(info.host, `.s.PGSQL.${info.port}`)) : net.connect(info.port, info.host);
  socket.setTimeout(CANCEL_REQUEST_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => {}); // best effort: closing the session's own socket ends it at the next read anyway
  socket.on('connect', () => socket.end(packet));
}

/**
 * Ends a node-postgres session as soon as `signal` aborts, whatever it is doing. A running query is
 * cancelled (one waiting on a table lock would otherwise keep the server session, with its advisory
 * lock and exported snapshot, until the lock is granted) and the socket is closed, so the server
 * ends the session at once; a connection attempt stops. The client's pending calls then reject
 * ("Connection terminated"): callers rethrow the abort reason instead. The client's `error` event,
 * which a closed socket emits, is handled here so it cannot crash the process; failures reach the
 * caller through the call it awaits. Returns the function that stops watching the signal.
 */
export function endSessionOnAbort(client: AbortablePgSession, info: ConnectionInfo, signal: AbortSignal | undefined): () => void {
  client.on('error', () => {});
  if (!signal) return () => {};
  const end = (): void => {
    // Set by node-postgres from the server's BackendKeyData once connected; not in its type definitions.
    const { processID, secretKey } = client as unknown as { processID?: number | null; secretKey?: number | null };
    if (typeof processID === 'number' && typeof secretKey === 'number') sendCancelRequest(info, processID, secretKey);
    client.connection.stream.destroy();
  };
  if (signal.aborted) end();
  else signal.addEventListener('abort', end, { once: true });
  return () => signal.removeEventListener('abort', end);
}

/** host:port/db as shown to people. */
export function describeConnection(info: ConnectionInfo): string {
  return `${info.host}:${info.port}/${info.database}`;
}
