import { auditChainHead, parseTableName, qualifiedName, quoteIdent, tableKey } from '../src/inspect/index.ts';
import { defineCheck } from '../src/check/index.ts';

export default defineCheck({
  id: 'audit-chain',
  title: 'Audit log hash chain verifies end to end',
  description: "Every audit row's hash is recomputed in SQL from its predecessor and payload; the head equals the one recorded at backup time.",
  async run({ db, manifest, state }) {
    const chain = state.config.auditChain;
    if (!chain) return { status: 'skip', summary: 'not applicable: no audit chain configured (backup.auditChain: null)' };
    const ref = parseTableName(chain.table);
    if (!manifest.tables.some((t) => tableKey(t) === tableKey(ref))) {
      return { status: 'skip', summary: `not applicable: ${chain.table} is not part of this backup`, evidence: { configured: true } };
    }
    if (manifest.options.schemaOnly) return { status: 'skip', summary: 'not applicable: schema-only backup (no rows)' };
    const table = qualifiedName(ref);
    if (!manifest.auditChain) {
      // Empty at backup time: the restored table must be empty too.
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      return Number(rows[0]!.n) === 0
        ? { status: 'pass', summary: `${chain.table} was empty at backup time and is empty after restore`, evidence: { rowsVerified: 0 } }
        : { status: 'fail', summary: `${chain.table} was empty at backup time but holds ${rows[0]!.n} rows after restore`, evidence: { rows: Number(rows[0]!.n) } };
    }
    const [id, hash, prev] = [quoteIdent(chain.orderColumn), quoteIdent(chain.hashColumn), quoteIdent(chain.prevHashColumn)];
    const { rows } = await db.query<{ rows: string; first_broken: string | null; broken: string }>(
      `WITH links AS (
         SELECT ${id} AS ord,
                ${hash} IS DISTINCT FROM encode(sha256(convert_to(coalesce(${prev}, '') || '|' || ${chain.payloadSql}, 'UTF8')), 'hex')
                OR ${prev} IS DISTINCT FROM lag(${hash}) OVER (ORDER BY ${id}) AS bad
           FROM ${table})
       SELECT count(*) AS rows, min(ord) FILTER (WHERE bad)::text AS first_broken, count(*) FILTER (WHERE bad) AS broken FROM links`,
    );
    const head = await auditChainHead(db, chain);
    const r = rows[0]!;
    const evidence = {
      table: chain.table,
      rowsVerified: Number(r.rows),
      brokenLinks: Number(r.broken),
      firstBrokenId: r.first_broken,
      head: { id: head?.lastId ?? null, matchesManifest: head?.lastId === manifest.auditChain.lastId && head?.lastHash === manifest.auditChain.lastHash },
    };
    if (r.first_broken !== null) {
      return { status: 'fail', summary: `chain broken at ${chain.table} ${chain.orderColumn}=${r.first_broken} (${r.broken} row(s) do not verify of ${r.rows})`, evidence };
    }
    if (!evidence.head.matchesManifest) {
      return { status: 'fail', summary: `chain verifies but its head (${head?.lastId}) differs from the backup's recorded head (${manifest.auditChain.lastId})`, evidence };
    }
    if (Number(r.rows) !== manifest.auditChain.rows) {
      return { status: 'fail', summary: `${r.rows} audit rows restored, ${manifest.auditChain.rows} recorded at backup time`, evidence };
    }
    return { status: 'pass', summary: `${Number(r.rows).toLocaleString('en')} rows verified; head ${chain.orderColumn}=${head?.lastId} matches the backup`, evidence };
  },
});
