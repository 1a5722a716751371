import { EMAIL_ADDRESS } from '../config/index.ts';
import { parseDatabaseUrl, pgClientConfig } from '../pgtools/index.ts';
import { scrubText } from './sanitize.ts';

export interface ResolveRecipientsOptions {
  /** Fixed addresses (always included; the fallback when the query fails). */
  list?: readonly string[];
  /** SQL whose first column holds addresses, run read-only against `databaseUrl`. */
  query?: string;
  /** The source database (needed with `query`). */
  databaseUrl?: string;
  /** Connect and statement limit of the query (default 5000 ms). */
  timeoutMs?: number;
  /** Told when the query fails or returns values that are not addresses; never told the addresses. */
  onWarning?: (message: string) => void;
}

/**
 * The distinct valid addresses of `list` and of the rows `query` returns (first column), compared
 * without regard to case, in that order. The query runs in a READ ONLY transaction with a
 * statement timeout, as one statement (extended protocol); if it fails, the list alone is used and
 * `onWarning` says why: a broken query never keeps a notification from being sent.
 */
export async function resolveRecipients(options: ResolveRecipientsOptions): Promise<string[]> {
  const warn = options.onWarning ?? (() => undefined);
  const candidates: unknown[] = [...(options.list ?? [])];
  if (options.query) {
    try {
      candidates.push(...(await queryAddresses(options.query, options.databaseUrl, options.timeoutMs ?? 5_000)));
    } catch (error) {
      const secrets = options.databaseUrl ? [options.databaseUrl] : [];
      warn(`the recipients query failed (${scrubText((error as Error).message, secrets)}); using the ${candidates.length} configured address(es) only`);
    }
  }
  const seen = new Set<string>();
  const addresses: string[] = [];
  let invalid = 0;
  for (const candidate of candidates) {
    const address = typeof candidate === 'string' ? candidate.trim() : '';
    if (!EMAIL_ADDRESS.test(address)) {
      invalid += 1;
      continue;
    }
    if (seen.has(address.toLowerCase())) continue;
    seen.add(address.toLowerCase());
    addresses.push(address);
  }
  // The count only: the values may be personal data.
  if (invalid) warn(`${invalid} recipient value(s) are not e-mail addresses (or are empty) and were skipped`);
  return addresses;
}

async function queryAddresses(query: string, databaseUrl: string | undefined, timeoutMs: number): Promise<unknown[]> {
  const info = parseDatabaseUrl(databaseUrl, 'the database URL for notify.email.recipientsQuery');
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    ...pgClientConfig(info),
    connectionTimeoutMillis: timeoutMs,
    // Read-only from the first statement of the session: even a query that ends the transaction
    // below cannot write.
    options: '-c default_transaction_read_only=on',
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs + 1_000,
  });
  // A connection that breaks while idle must not crash the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('BEGIN TRANSACTION READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${Math.round(timeoutMs)}`);
    // A named statement goes through the extended protocol: exactly one statement, never `…; delete …`.
    const result = await client.query<unknown[]>({ name: 'pgdrill-notify-recipients', text: query, rowMode: 'array' });
    return result.rows.map((row) => row[0]);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
