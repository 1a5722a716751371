import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  APP_LOGIN_MEMBER_OF,
  APP_LOGIN_ROLE,
  APP_ROLES,
  AUDIT_CHAIN,
  AUDIT_CHAIN_BREAKS_SQL,
  canaryEmail,
  fixtureSizes,
  loadFixture,
  rowsForTargetBytes,
} from '../../fixtures/index.ts';
import { startSourceDatabase } from '../helpers/postgres.ts';
import type { SourceDatabase } from '../helpers/postgres.ts';

let source: SourceDatabase;
let client: pg.Client;

beforeAll(async () => {
  source = await startSourceDatabase({ rows: 2000 });
  client = new pg.Client({ connectionString: source.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await source?.stop();
});

/** md5 of every row's text, in a fixed order, per table of the summary. */
async function checksums(c: pg.Client, tables: readonly string[]): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  for (const table of tables) {
    const { rows } = await c.query<{ sum: string }>(`SELECT md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS sum FROM ${table} t`);
    sums[table] = rows[0]?.sum ?? '';
  }
  return sums;
}

async function breaks(c: pg.Client): Promise<Array<{ id: string; problem: string }>> {
  return (await c.query<{ id: string; problem: string }>(AUDIT_CHAIN_BREAKS_SQL)).rows;
}

describe('fixture', () => {
  test('row counts match the summary', async () => {
    const sizes = fixtureSizes(2000);
    expect(source.summary.tables).toMatchObject({
      'public.respondents': 2000,
      'public.submissions': sizes.submissions,
      'public.audit_logs': sizes.audit,
      'public.users': sizes.users,
      'public.lgas': 33,
      '"Registry Ops"."Ọ̀rọ̀ Notes"': 5,
      'registry.attachments': 2,
    });
    for (const [table, count] of Object.entries(source.summary.tables)) {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      expect(Number(rows[0]?.n), table).toBe(count);
    }
    const leaves = Object.entries(source.summary.tables).filter(([name]) => name.startsWith('public.submissions_'));
    expect(leaves.length).toBe(9);
    expect(leaves.every(([, n]) => n > 0)).toBe(true);
    expect(leaves.reduce((sum, [, n]) => sum + n, 0)).toBe(source.summary.tables['public.submissions']);
  });

  test('the audit hash chain verifies set-based, and its head is in the summary', async () => {
    expect(await breaks(client)).toEqual([]);
    const { rows } = await client.query<{ id: string; hash: string; first_prev: string | null }>(
      `SELECT id, hash, (SELECT prev_hash FROM ${AUDIT_CHAIN.table} ORDER BY id LIMIT 1) AS first_prev
       FROM ${AUDIT_CHAIN.table} ORDER BY id DESC LIMIT 1`,
    );
    expect(rows[0]).toEqual({ id: String(source.summary.auditChainHead.id), hash: source.summary.auditChainHead.hash, first_prev: null });
    expect(source.summary.auditChainHead.id).toBe(fixtureSizes(2000).audit);
  });

  test('tampering breaks the chain exactly where it happened', async () => {
    await client.query('BEGIN');
    try {
      await client.query(`UPDATE public.audit_logs SET details = details || '{"tampered": true}' WHERE id = 37`);
      expect(await breaks(client)).toEqual([{ id: '37', problem: 'hash' }]);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await client.query('DELETE FROM public.audit_logs WHERE id = 50');
      expect(await breaks(client)).toEqual([{ id: '51', problem: 'prev_hash' }]);
    } finally {
      await client.query('ROLLBACK');
    }
    expect(await breaks(client)).toEqual([]);
  });

  test('every canary password verifies with bcrypt; other passwords do not', async () => {
    const { rows } = await client.query<{ email: string; role: string; password_hash: string }>(
      `SELECT email::text, role::text, password_hash FROM public.users WHERE email::text LIKE 'canary+%' ORDER BY id`,
    );
    expect(rows.map((r) => r.email)).toEqual(APP_ROLES.map(canaryEmail));
    expect(rows.map((r) => r.role)).toEqual([...APP_ROLES]);
    for (const row of rows) {
      expect(bcrypt.getRounds(row.password_hash)).toBe(10);
      expect(await bcrypt.compare(source.canaryPassword, row.password_hash)).toBe(true);
    }
    expect(await bcrypt.compare(`${source.canaryPassword}x`, rows[0]?.password_hash ?? '')).toBe(false);
    const ordinary = await client.query<{ password_hash: string }>(`SELECT password_hash FROM public.users WHERE id = 8`);
    expect(await bcrypt.compare(source.canaryPassword, ordinary.rows[0]?.password_hash ?? '')).toBe(false);
  });

  test('roles, memberships and privileges exist; oslrs_app logs in with its password', async () => {
    const roles = await client.query<{ rolname: string; rolcanlogin: boolean }>(
      `SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`,
      [[...APP_ROLES, APP_LOGIN_ROLE]],
    );
    expect(roles.rows).toHaveLength(8);
    expect(roles.rows.filter((r) => r.rolcanlogin).map((r) => r.rolname)).toEqual([APP_LOGIN_ROLE]);
    const members = await client.query<{ role: string }>(
      `SELECT g.rolname AS role FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
       WHERE u.rolname = $1 ORDER BY 1`,
      [APP_LOGIN_ROLE],
    );
    expect(members.rows.map((r) => r.role)).toEqual([...APP_LOGIN_MEMBER_OF].sort());
    const privileges = await client.query<{ ins: boolean; sel: boolean; upd: boolean }>(
      `SELECT has_table_privilege($1, 'public.respondents', 'INSERT') AS ins,
              has_table_privilege($1, 'public.audit_logs', 'SELECT') AS sel,
              has_table_privilege($1, 'public.audit_logs', 'UPDATE') AS upd`,
      [APP_LOGIN_ROLE],
    );
    expect(privileges.rows[0]).toEqual({ ins: true, sel: true, upd: false });

    const { host, port, database } = source.sandbox.connection;
    const app = new pg.Client({ host, port, database, user: APP_LOGIN_ROLE, password: source.appPassword });
    await app.connect();
    try {
      const { rows } = await app.query<{ n: string }>('SELECT count(*) AS n FROM public.respondents');
      expect(rows[0]?.n).toBe('2000');
    } finally {
      await app.end();
    }
    const wrong = new pg.Client({ host, port, database, user: APP_LOGIN_ROLE, password: 'not-it' });
    await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
  });

  test('has the objects a backup tool must survive', async () => {
    const { rows } = await client.query(`SELECT
      (SELECT count(*)::int FROM pg_extension WHERE extname IN ('citext', 'pgcrypto')) AS extensions,
      (SELECT count(*)::int FROM pg_type WHERE typname = 'user_role' AND typtype = 'e') AS enums,
      (SELECT attgenerated FROM pg_attribute WHERE attrelid = 'public.respondents'::regclass AND attname = 'full_name') AS generated,
      (SELECT attidentity FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = 'id') AS identity,
      (SELECT relrowsecurity FROM pg_class WHERE oid = 'registry.verification_cases'::regclass) AS rls,
      (SELECT count(*)::int FROM pg_policies WHERE schemaname = 'registry') AS policies,
      (SELECT relkind FROM pg_class WHERE oid = 'public.submissions'::regclass) AS partitioned,
      (SELECT relkind FROM pg_class WHERE oid = 'public.respondent_directory'::regclass) AS view,
      (SELECT relkind FROM pg_class WHERE oid = 'public.lga_statistics'::regclass) AS matview,
      (SELECT count(*)::int FROM pg_largeobject_metadata) AS large_objects,
      (SELECT count(*)::int FROM pg_sequences WHERE sequencename = 'submission_ref_seq') AS sequences,
      (SELECT count(*)::int FROM pg_constraint WHERE contype = 'f') > 5 AS foreign_keys,
      obj_description('public.audit_logs'::regclass, 'pg_class') IS NOT NULL AS commented,
      to_regclass('"Registry Ops"."Ọ̀rọ̀ Notes"') IS NOT NULL AS unicode_table`);
    expect(rows[0]).toEqual({
      extensions: 2, enums: 1, generated: 's', identity: 'a', rls: true, policies: 2, partitioned: 'p', view: 'v',
      matview: 'm', large_objects: 2, sequences: 1, foreign_keys: true, commented: true, unicode_table: true,
    });
    const attachments = await client.query<{ ok: boolean }>(`SELECT bool_and(sha256 = encode(sha256(lo_get(content)), 'hex')) AS ok FROM registry.attachments`);
    expect(attachments.rows[0]?.ok).toBe(true);
  });

  test('is deterministic: same seed → same table contents; another seed → different', async () => {
    const tables = Object.keys(source.summary.tables);
    const expected = await checksums(client, tables);

    const create = async (name: string, seed: number): Promise<pg.Client> => {
      await client.query(`CREATE DATABASE ${name}`);
      const url = source.sandbox.connectionUri(name);
      const summary = await loadFixture(url, { rows: 2000, seed, canaryPassword: source.canaryPassword, appPassword: randomBytes(8).toString('hex') });
      if (seed === source.summary.seed) expect(summary).toEqual(source.summary);
      const other = new pg.Client({ connectionString: url });
      await other.connect();
      return other;
    };

    const again = await create('oslrs_again', source.summary.seed);
    try {
      expect(await checksums(again, tables)).toEqual(expected);
      const lo = await again.query<{ a: string; b: string }>(`SELECT md5(lo_get(880001)) AS a, md5(lo_get(880002)) AS b`);
      const lo0 = await client.query<{ a: string; b: string }>(`SELECT md5(lo_get(880001)) AS a, md5(lo_get(880002)) AS b`);
      expect(lo.rows[0]).toEqual(lo0.rows[0]);
    } finally {
      await again.end();
    }

    const different = await create('oslrs_other', source.summary.seed + 1);
    try {
      const sums = await checksums(different, ['public.respondents', 'public.audit_logs']);
      expect(sums['public.respondents']).not.toBe(expected['public.respondents']);
      expect(sums['public.audit_logs']).not.toBe(expected['public.audit_logs']);
    } finally {
      await different.end();
    }
  });

  test('refuses to load twice into the same database', async () => {
    await expect(loadFixture(client, { rows: 10, canaryPassword: 'x' })).rejects.toThrow(/already holds a fixture/);
  });

  test('rowsForTargetBytes grows with the target', () => {
    expect(rowsForTargetBytes(50 * 1024 ** 2)).toBeGreaterThan(10_000);
    expect(rowsForTargetBytes(1024 ** 3)).toBeGreaterThan(rowsForTargetBytes(50 * 1024 ** 2) * 15);
  });
});
