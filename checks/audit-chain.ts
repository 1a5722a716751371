import type { Pool } from 'pg';
import type { PgdrillConfig } from '../src/config/index.ts';
import { auditChainHead, parseTableName, qualifiedName, quoteIdent, tableKey } from '../src/inspect/index.ts';
import { defineCheck } from '../src/check/index.ts';

type AuditChain = NonNullable<PgdrillConfig['backup']['auditChain']>;

/** Every row's hash recomputed from its predecessor and payload: rows, broken links, the first broken row. */
async function verifyLinks(db: Pool, chain: AuditChain): Promise<{ rows: number; broken: number; firstBroken: string | null }> {
  const [id, hash, prev] = [quoteIdent(chain.orderColumn), quoteIdent(chain.hashColumn), quoteIdent(chain.prevHashColumn)];
  const { rows } = await db.query<{ rows: string; first_broken: string | null; broken: string }>(
    `WITH links AS (
       SELECT ${id} AS ord,
              ${hash} IS DISTINCT FROM encode(sha256(convert_to(coalesce(${prev}, '') || '|' || ${chain.payloadSql}, 'UTF8')), 'hex')
              OR ${prev} IS DISTINCT FROM lag(${hash}) OVER (ORDER BY ${id}) AS bad
         FROM ${qualifiedName(parseTableName(chain.table))})
     SELECT count(*) AS rows, min(ord) FILTER (WHERE bad)::text AS first_broken, count(*) FILTER (WHERE bad) AS broken FROM links`,
  );
  const r = rows[0]!;
  return { rows: Number(r.rows), broken: Number(r.broken), firstBroken: r.first_broken };
}

export default defineCheck({
  id: 'audit-chain',
  title: 'Audit log hash chain verifies end to end',
  description: "Every audit row's hash is recomputed in SQL from its predecessor and payload; the head equals the one recorded at backup time.",
  // Point in time: the restored chain verifies, and its head is the source's row with the same hash
  // (the restored chain is a prefix of the source's: nothing was rewritten before the target).
  async pointInTime({ db, pitr, state }) {
    const chain = state.config.auditChain;
    if (!chain) return { status: 'skip', summary: 'not applicable: no audit chain configured (backup.auditChain: null)' };
    const head = pitr.auditChain?.restoredHead;
    if (!head) return { status: 'skip', summary: `not applicable: ${chain.table} is not in the recovered database, or is empty` };
    const links = await verifyLinks(db, chain);
    const evidence = { table: chain.table, rowsVerified: links.rows, brokenLinks: links.broken, firstBrokenId: links.firstBroken, head: { id: head.lastId, sourceHasSameRow: pitr.auditChain?.sourceHash === head.lastHash } };
    if (links.firstBroken !== null) {
      return { status: 'fail', summary: `chain broken at ${chain.table} ${chain.orderColumn}=${links.firstBroken} (${links.broken} row(s) do not verify of ${links.rows})`, evidence };
    }
    if (!evidence.head.sourceHasSameRow) {
      const why = pitr.auditChain?.sourceHash === null ? 'the source has no such row' : 'the source holds that row with another hash';
      return { status: 'fail', summary: `chain verifies but its head ${chain.orderColumn}=${head.lastId} does not match the source: ${why}`, evidence };
    }
    return { status: 'pass', summary: `${links.rows.toLocaleString('en')} rows verified; head ${chain.orderColumn}=${head.lastId} is the source's row with the same hash`, evidence };
  },
  async run({ db, manifest, state }) {
    const chain = state.config.auditChain;
    if (!chain) return { status: 'skip', summary: 'not applicable: no audit chain configured (backup.auditChain: null)' };
    const ref = parseTableName(chain.table);
    if (!manifest.tables.some((t) => tableKey(t) === tableKey(ref))) {
      return { status: 'skip', summary: `not applicable: ${chain.table} is not part of this backup`, evidence: { configured: true } };
    }
    if (manifest.options.schemaOnly) return { status: 'skip', summary: 'not applicable: schema-only backup (no rows)' };
    if (!manifest.auditChain) {
      // Empty at backup time: the restored table must be empty too.
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualifiedName(ref)}`);
      return Number(rows[0]!.n) === 0
        ? { status: 'pass', summary: `${chain.table} was empty at backup time and is empty after restore`, evidence: { rowsVerified: 0 } }
        : { status: 'fail', summary: `${chain.table} was empty at backup time but holds ${rows[0]!.n} rows after restore`, evidence: { rows: Number(rows[0]!.n) } };
    }
    const links = await verifyLinks(db, chain);
    const head = await auditChainHead(db, chain);
    const evidence = {
      table: chain.table,
      rowsVerified: links.rows,
      brokenLinks: links.broken,
      firstBrokenId: links.firstBroken,
      head: { id: head?.lastId ?? null, matchesManifest: head?.lastId === manifest.auditChain.lastId && head?.lastHash === manifest.auditChain.lastHash },
    };
    if (links.firstBroken !== null) {
      return { status: 'fail', summary: `chain broken at ${chain.table} ${chain.orderColumn}=${links.firstBroken} (${links.broken} row(s) do not verify of ${links.rows})`, evidence };
    }
    if (!evidence.head.matchesManifest) {
      return { status: 'fail', summary: `chain verifies but its head (${head?.lastId}) differs from the backup's recorded head (${manifest.auditChain.lastId})`, evidence };
    }
    if (links.rows !== manifest.auditChain.rows) {
      return { status: 'fail', summary: `${links.rows} audit rows restored, ${manifest.auditChain.rows} recorded at backup time`, evidence };
    }
    return { status: 'pass', summary: `${links.rows.toLocaleString('en')} rows verified; head ${chain.orderColumn}=${head?.lastId} matches the backup`, evidence };
  },
});
