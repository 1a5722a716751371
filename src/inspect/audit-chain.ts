import type { Queryable } from './database.ts';
import { parseTableName, qualifiedName, quoteIdent } from './names.ts';

// An application's audit hash chain, recomputed in SQL: each row's stored hash must equal the
// configured expression over the row and the previous row's hash, and (when the table stores it)
// each row's previous-hash column must equal the previous row's hash.

export interface AuditChainDefinition {
  /** `schema.table`. */
  table: string;
  /** Chain order (unique). */
  orderColumn: string;
  hashColumn: string;
  /** Column holding the previous row's hash; null when the chain does not store it. */
  prevHashColumn: string | null;
  /** SQL over the row's columns, substituted for `{payload}` in hashSql. */
  payloadSql: string;
  /**
   * SQL expression of a row's expected hash, of the hash column's type. Placeholders: `{prev}` the
   * previous hash (the previous-hash column, or the previous row's hash when there is none; NULL
   * for the first row), `{payload}` payloadSql, `{row}` the whole row (e.g. `to_jsonb({row})`).
   */
  hashSql: string;
}

/** Alias of the audit table in the chain's SQL; `{row}` stands for it. */
export const AUDIT_ROW = 'pgdrill_row';

/** The previous row's hash, by chain order. */
function previousHashSql(chain: Pick<AuditChainDefinition, 'orderColumn' | 'hashColumn'>): string {
  return `lag(${AUDIT_ROW}.${quoteIdent(chain.hashColumn)}) OVER (ORDER BY ${AUDIT_ROW}.${quoteIdent(chain.orderColumn)})`;
}

/** hashSql with its placeholders filled, over the table aliased AUDIT_ROW. */
export function expectedHashSql(chain: AuditChainDefinition): string {
  const prev = chain.prevHashColumn ? `${AUDIT_ROW}.${quoteIdent(chain.prevHashColumn)}` : previousHashSql(chain);
  return chain.hashSql.replaceAll('{prev}', prev).replaceAll('{payload}', `(${chain.payloadSql})`).replaceAll('{row}', AUDIT_ROW);
}

export interface AuditChainVerification {
  /** Rows in the chain. */
  rows: number;
  /** Rows whose hash or link does not verify. */
  broken: number;
  /** Order value of the first such row (as text), or null when every row verifies. */
  firstBroken: string | null;
}

/** Recomputes every link of the chain in one query. */
export async function verifyAuditChain(db: Queryable, chain: AuditChainDefinition): Promise<AuditChainVerification> {
  const table = qualifiedName(parseTableName(chain.table));
  const column = (name: string) => `${AUDIT_ROW}.${quoteIdent(name)}`;
  const linkBroken = chain.prevHashColumn ? `OR ${column(chain.prevHashColumn)} IS DISTINCT FROM ${previousHashSql(chain)}` : '';
  const { rows } = await db.query<{ rows: string; first_broken: string | null; broken: string }>(
    `WITH links AS (
       SELECT ${column(chain.orderColumn)} AS ord,
              ${column(chain.hashColumn)} IS DISTINCT FROM (${expectedHashSql(chain)}) ${linkBroken} AS bad
         FROM ${table} AS ${AUDIT_ROW})
     SELECT count(*) AS rows, min(ord) FILTER (WHERE bad)::text AS first_broken, count(*) FILTER (WHERE bad) AS broken FROM links`,
  );
  const r = rows[0]!;
  return { rows: Number(r.rows), broken: Number(r.broken), firstBroken: r.first_broken };
}
