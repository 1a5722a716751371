import { auditChainHead, parseTableName, qualifiedName, tableKey, verifyAuditChain } from '../src/inspect/index.ts';
import { defineCheck } from '../src/check/index.ts';

export default defineCheck({
  id: 'audit-chain',
  title: 'Audit log hash chain verifies end to end',
  description: "Every audit row's hash is recomputed in SQL from its predecessor and the row (backup.auditChain.hashSql); the head and row count equal those recorded at backup time.",
  // Point in time: the restored chain verifies, and its head is the source's row with the same hash
  // (the restored chain is a prefix of the source's: nothing was rewritten before the target).
  async pointInTime({ db, pitr, state }) {
    const chain = state.config.auditChain;
    if (!chain) return { status: 'skip', summary: 'not applicable: no audit chain configured (backup.auditChain: null)' };
    const head = pitr.auditChain?.restoredHead;
    if (!head) return { status: 'skip', summary: `not applicable: ${chain.table} is not in the recovered database, or is empty` };
    const verified = await verifyAuditChain(db, chain);
    const evidence = { table: chain.table, rowsVerified: verified.rows, brokenLinks: verified.broken, firstBrokenId: verified.firstBroken, head: { id: head.lastId, sourceHasSameRow: pitr.auditChain?.sourceHash === head.lastHash } };
    if (verified.firstBroken !== null) {
      return { status: 'fail', summary: `chain broken at ${chain.table} ${chain.orderColumn}=${verified.firstBroken} (${verified.broken} row(s) do not verify of ${verified.rows})`, evidence };
    }
    if (!evidence.head.sourceHasSameRow) {
      const why = pitr.auditChain?.sourceHash === null ? 'the source has no such row' : 'the source holds that row with another hash';
      return { status: 'fail', summary: `chain verifies but its head ${chain.orderColumn}=${head.lastId} does not match the source: ${why}`, evidence };
    }
    return { status: 'pass', summary: `${verified.rows.toLocaleString('en')} rows verified; head ${chain.orderColumn}=${head.lastId} is the source's row with the same hash`, evidence };
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
        ? { status: 'pass', summary: `${chain.table} was empty at backup time and is empty after restore (no link to verify)`, evidence: { rowsVerified: 0 } }
        : { status: 'fail', summary: `${chain.table} was empty at backup time but holds ${rows[0]!.n} rows after restore`, evidence: { rows: Number(rows[0]!.n) } };
    }
    const verified = await verifyAuditChain(db, chain);
    const head = await auditChainHead(db, chain);
    const evidence = {
      table: chain.table,
      rowsVerified: verified.rows,
      brokenLinks: verified.broken,
      firstBrokenId: verified.firstBroken,
      head: { id: head?.lastId ?? null, matchesManifest: head?.lastId === manifest.auditChain.lastId && head?.lastHash === manifest.auditChain.lastHash },
    };
    if (verified.firstBroken !== null) {
      return { status: 'fail', summary: `chain broken at ${chain.table} ${chain.orderColumn}=${verified.firstBroken} (${verified.broken} row(s) do not verify of ${verified.rows})`, evidence };
    }
    if (!evidence.head.matchesManifest) {
      return { status: 'fail', summary: `chain verifies but its head (${chain.orderColumn}=${head?.lastId}) differs from the backup's recorded head (${chain.orderColumn}=${manifest.auditChain.lastId})`, evidence };
    }
    if (verified.rows !== manifest.auditChain.rows) {
      return { status: 'fail', summary: `${verified.rows} audit rows restored, ${manifest.auditChain.rows} recorded at backup time`, evidence };
    }
    return { status: 'pass', summary: `${verified.rows.toLocaleString('en')} rows verified; head ${chain.orderColumn}=${head?.lastId} matches the backup`, evidence };
  },
});
