import { createHash } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import type { AuditChainHead, RoleInfo, TableCount } from '../catalog/index.ts';
import { PgdrillError } from '../errors/index.ts';
import { displayName, matchesPattern, parseTableName, qualifiedName, quoteIdent, tableKey, type TableRef } from './names.ts';

// Read-only queries run twice with the same code: on the source inside the exported snapshot
// (what the manifest records) and on the restored sandbox (what the drill checks compare).

/** A client or a pool: every query here is a single statement. */
export type Queryable = ClientBase | Pool;

export interface TableFilter {
  tables: readonly string[];
  excludeTables: readonly string[];
}

/** Ordinary tables and leaf partitions pg_dump dumps data for (extension-owned tables excluded). */
export async function listTables(client: Queryable, filter: TableFilter = { tables: [], excludeTables: [] }): Promise<TableRef[]> {
  const { rows } = await client.query<{ schema: string; name: string; visible: string[] }>(
    `SELECT n.nspname AS schema, c.relname AS name, current_schemas(false) AS visible
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND c.relpersistence <> 't'
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
  );
  const visible = rows[0]?.visible ?? ['public'];
  return rows
    .filter((t) => filter.tables.length === 0 || filter.tables.some((p) => matchesPattern(t, p, visible)))
    .filter((t) => !filter.excludeTables.some((p) => matchesPattern(t, p, visible)))
    .map(({ schema, name }) => ({ schema, name }));
}

/** Exact row counts (`FROM ONLY`: each leaf counted once), in one round trip. */
export async function countRows(client: Queryable, tables: readonly TableRef[]): Promise<TableCount[]> {
  if (tables.length === 0) return [];
  const sql = tables
    .map((t, i) => `SELECT ${i} AS i, count(*)::bigint AS n FROM ONLY ${qualifiedName(t)}`)
    .join(' UNION ALL ');
  const { rows } = await client.query<{ i: number; n: string }>(sql);
  const byIndex = new Map(rows.map((r) => [Number(r.i), Number(r.n)]));
  return tables.map((t, i) => ({ schema: t.schema, name: t.name, rows: byIndex.get(i) ?? 0 }));
}

/** Keys (`tableKey`) of the named tables that exist; tells a dropped table from a miscount. */
export async function existingTables(client: Queryable, tables: readonly TableRef[]): Promise<Set<string>> {
  const { rows } = await client.query<{ s: string; n: string }>(
    `SELECT s, n FROM unnest($1::text[], $2::text[]) AS x(s, n) WHERE to_regclass(format('%I.%I', s, n)) IS NOT NULL`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return new Set(rows.map((r) => tableKey({ schema: r.s, name: r.n })));
}

/** The fingerprint of a backup without tables (nothing to compare; the check says so). */
export const NO_TABLES_FINGERPRINT = createHash('sha256').update('').digest('hex');

/**
 * SHA-256 over a canonical text of the dumped tables' structure: columns (type, nullability,
 * generation, identity, default), constraints, indexes, row-level security and policies,
 * partition bounds. Identical on the source snapshot and on a faithful restore. Throws when it
 * cannot see every table it is given: a fingerprint of less than that (of nothing, at worst) would
 * compare equal to itself for ever and prove nothing.
 */
export async function schemaFingerprint(db: Queryable, tables: readonly TableRef[]): Promise<string> {
  if (tables.length === 0) return NO_TABLES_FINGERPRINT;
  // Both sides must print identically: catalog-only search_path (names come out fully qualified
  // whatever the role's search_path) and a byte-order sort (whatever the database's collation).
  const client = 'totalCount' in db ? await db.connect() : db;
  const previous = (await client.query<{ path: string }>(`SELECT current_setting('search_path') AS path`)).rows[0]!.path;
  await client.query(`SELECT set_config('search_path', 'pg_catalog', false)`);
  let failed = false;
  try {
    return await fingerprintQuery(client, tables);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // After a failure inside a transaction (a lock timeout) the reset fails too, "current transaction
    // is aborted", and must not hide the cause; that transaction's rollback undoes the change anyway.
    await client.query(`SELECT set_config('search_path', $1, false)`, [previous]).catch((resetError: unknown) => {
      if (!failed) throw resetError;
    });
    if ('release' in client && typeof client.release === 'function') client.release();
  }
}

async function fingerprintQuery(client: ClientBase, tables: readonly TableRef[]): Promise<string> {
  const { rows } = await client.query<{ text: string | null; seen: number }>(
    `WITH t AS (
       SELECT c.oid, format('%I.%I', s, n) AS q, c.relrowsecurity, c.relforcerowsecurity, pg_get_expr(c.relpartbound, c.oid) AS bound
         FROM unnest($1::text[], $2::text[]) AS x(s, n)
         JOIN pg_class c ON c.oid = to_regclass(format('%I.%I', s, n)))
     SELECT string_agg(line, E'\\n' ORDER BY line COLLATE "C") AS text, (SELECT count(*) FROM t)::int AS seen FROM (
       SELECT format('T %s rls=%s force=%s bound=%s', q, relrowsecurity, relforcerowsecurity, bound) AS line FROM t
       UNION ALL
       SELECT format('C %s %s %s notnull=%s gen=%s identity=%s default=%s', t.q, a.attname, format_type(a.atttypid, a.atttypmod),
                     a.attnotnull, a.attgenerated, a.attidentity, pg_get_expr(d.adbin, d.adrelid))
         FROM t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       UNION ALL
       SELECT format('K %s %s %s', t.q, co.conname, pg_get_constraintdef(co.oid)) FROM t JOIN pg_constraint co ON co.conrelid = t.oid
       UNION ALL
       SELECT format('I %s %s', t.q, pg_get_indexdef(i.indexrelid)) FROM t JOIN pg_index i ON i.indrelid = t.oid
       UNION ALL
       SELECT format('P %s %s %s %s %s', t.q, p.polname, p.polcmd, pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
         FROM t JOIN pg_policy p ON p.polrelid = t.oid
     ) lines`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  const { text, seen } = rows[0] ?? { text: null, seen: 0 };
  if (!text || seen < tables.length) {
    throw new PgdrillError(`Schema fingerprint: ${seen} of the ${tables.length} tables to fingerprint are visible in this database`, {
      hint: 'A fingerprint of less than every table would prove nothing; check that the tables exist and the role can see their catalog entries',
    });
  }
  return createHash('sha256').update(text).digest('hex');
}

/** Roles (pg_* excluded) with memberships and table privileges on the given tables. */
export async function readRoles(client: Queryable, tables: readonly TableRef[]): Promise<RoleInfo[]> {
  const { rows } = await client.query<{ name: string; login: boolean; member_of: string[]; privileges: string[] }>(
    `WITH t AS (
       SELECT c.oid, c.relowner, c.relacl, s || '.' || n AS q
         FROM unnest($1::text[], $2::text[]) AS x(s, n)
         JOIN pg_class c ON c.oid = to_regclass(format('%I.%I', s, n))),
     grants AS (
       SELECT a.grantee, t.q || ':' || a.privilege_type AS privilege
         FROM t, aclexplode(t.relacl) a WHERE a.grantee <> t.relowner)
     SELECT r.rolname::text AS name, r.rolcanlogin AS login,
            ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) AS member_of,
            ARRAY(SELECT privilege FROM grants WHERE grants.grantee = r.oid ORDER BY 1) AS privileges
       FROM pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY 1`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return rows.map((r) => ({ name: r.name, login: r.login, memberOf: r.member_of, privileges: r.privileges }));
}

export interface AuditChainColumns {
  table: string;
  orderColumn: string;
  hashColumn: string;
}

/** Last row of the audit hash chain, or null when the table does not exist or is empty. */
export async function auditChainHead(client: Queryable, chain: AuditChainColumns): Promise<AuditChainHead | null> {
  const table = parseTableName(chain.table);
  const exists = await client.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [qualifiedName(table)]);
  if (!exists.rows[0]?.ok) return null;
  const order = quoteIdent(chain.orderColumn);
  const { rows } = await client.query<{ last_id: string; last_hash: string; n: string }>(
    // Qualified ORDER BY: an unqualified name would sort by the text-cast output column ("99" > "150").
    `SELECT last.id AS last_id, last.hash AS last_hash, (SELECT count(*) FROM ${qualifiedName(table)}) AS n
       FROM (SELECT t.${order}::text AS id, t.${quoteIdent(chain.hashColumn)}::text AS hash
               FROM ${qualifiedName(table)} AS t ORDER BY t.${order} DESC LIMIT 1) AS last`,
  );
  const row = rows[0];
  if (!row || row.last_id === null) return null;
  return { table: displayName(table), orderColumn: chain.orderColumn, lastId: row.last_id, lastHash: row.last_hash, rows: Number(row.n) };
}

/** `SHOW server_version` and its major number. */
export async function serverVersion(client: Queryable): Promise<{ version: string; major: number }> {
  const { rows } = await client.query<{ v: string; n: string }>(`SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n`);
  const row = rows[0]!;
  return { version: row.v, major: Math.floor(Number(row.n) / 10_000) };
}

/** Number of large objects (pg_largeobject_metadata is readable by every role). */
export async function countLargeObjects(client: Queryable): Promise<number> {
  const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_catalog.pg_largeobject_metadata');
  return Number(rows[0]!.n);
}
