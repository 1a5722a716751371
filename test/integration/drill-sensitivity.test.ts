// Audit chains hashed other ways (issue 12 item 5), sequences behind their column (item 6) and the
// drill's proof that its checks can fail (item 7), all through the real `pgdrill backup` and
// `pgdrill drill`. One small source database holds four chains, each built the way an
// application would: two hashed in Node (sha256 hex with a stored previous hash; sha512 base64
// without one), one by a trigger in the database (sha256 over the row's JSON, bytea), and one
// "weak" chain whose hash covers only the row id. Each drill is configured for one chain.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedSandbox, type EmbeddedSandbox } from '../../src/sandbox/index.ts';
import { newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { drill, type DrillRun } from './drill-helpers.ts';

let source: EmbeddedSandbox;
let sql: pg.Client;
const keyring = newKeyring('k1');
const ROWS = 300;

const sha256hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const sha512b64 = (text: string) => createHash('sha512').update(text, 'utf8').digest('base64');

/** The chains' drill configurations (backup.auditChain), by construction. */
const CHAINS = {
  sha256hex: { table: 'public.chain_hex', orderColumn: 'id', hashColumn: 'hash', prevHashColumn: 'prev_hash', payloadSql: "concat_ws('|', id, actor, action)" },
  sha512base64: {
    table: 'public.chain_b64',
    orderColumn: 'seq',
    hashColumn: 'digest',
    prevHashColumn: null,
    payloadSql: 'body',
    // PostgreSQL's base64 breaks lines every 76 characters; Node's does not.
    hashSql: "replace(encode(sha512(convert_to(coalesce({prev}, '') || {payload}, 'UTF8')), 'base64'), E'\\n', '')",
  },
  json: {
    table: 'public.chain_json',
    orderColumn: 'id',
    hashColumn: 'h',
    prevHashColumn: 'prev',
    hashSql: "sha256(coalesce({prev}, ''::bytea) || convert_to((to_jsonb({row}) - 'h' - 'prev')::text, 'UTF8'))",
  },
  weak: { table: 'public.chain_weak', orderColumn: 'id', hashColumn: 'hash', prevHashColumn: 'prev_hash', payloadSql: 'id::text' },
} as const;

beforeAll(async () => {
  source = await startEmbeddedSandbox({ major: 15, database: 'ledger' });
  sql = new pg.Client({ connectionString: source.connectionUri('ledger') });
  await sql.connect();
  await sql.query(`
    CREATE TABLE public.chain_hex (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, actor text NOT NULL, action text NOT NULL, prev_hash text, hash text NOT NULL);
    CREATE TABLE public.chain_b64 (seq int PRIMARY KEY, body text NOT NULL, digest text NOT NULL);
    CREATE TABLE public.chain_weak (id int PRIMARY KEY, note text NOT NULL, prev_hash text, hash text NOT NULL);
    CREATE TABLE public.chain_json (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, actor text NOT NULL, event jsonb NOT NULL, prev bytea, h bytea NOT NULL);
    -- The database chains this one itself, as some applications do.
    CREATE FUNCTION public.chain_json_link() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.prev := (SELECT h FROM public.chain_json ORDER BY id DESC LIMIT 1);
      NEW.h := sha256(coalesce(NEW.prev, ''::bytea) || convert_to((to_jsonb(NEW) - 'h' - 'prev')::text, 'UTF8'));
      RETURN NEW;
    END $$;
    CREATE TRIGGER chain_json_link BEFORE INSERT ON public.chain_json FOR EACH ROW EXECUTE FUNCTION public.chain_json_link();`);

  const hex: unknown[][] = [];
  const b64: unknown[][] = [];
  const weak: unknown[][] = [];
  let [prevHex, prevB64, prevWeak] = [null as string | null, null as string | null, null as string | null];
  for (let i = 1; i <= ROWS; i++) {
    const [actor, action] = [`user${i % 17}`, ['create', 'update', 'delete'][i % 3]!];
    const hash = sha256hex(`${prevHex ?? ''}|${[i, actor, action].join('|')}`);
    hex.push([i, actor, action, prevHex, hash]);
    prevHex = hash;
    const body = `payment ${i} of ${i * 7} naira`;
    const digest = sha512b64(`${prevB64 ?? ''}${body}`);
    b64.push([i, body, digest]);
    prevB64 = digest;
    const weakHash = sha256hex(`${prevWeak ?? ''}|${i}`);
    weak.push([i, `note ${i}`, prevWeak, weakHash]);
    prevWeak = weakHash;
  }
  const insert = (table: string, columns: string[], rows: unknown[][], prefix = '') =>
    sql.query(
      `INSERT INTO ${table} (${columns.join(', ')}) ${prefix} VALUES ${rows.map((r, i) => `(${r.map((_, j) => `$${i * r.length + j + 1}`).join(', ')})`).join(', ')}`,
      rows.flat(),
    );
  await insert('public.chain_hex', ['id', 'actor', 'action', 'prev_hash', 'hash'], hex, 'OVERRIDING SYSTEM VALUE');
  await sql.query(`SELECT setval(pg_get_serial_sequence('public.chain_hex', 'id'), ${ROWS})`);
  await insert('public.chain_b64', ['seq', 'body', 'digest'], b64);
  await insert('public.chain_weak', ['id', 'note', 'prev_hash', 'hash'], weak);
  for (let i = 1; i <= 50; i++) await sql.query(`INSERT INTO public.chain_json (actor, event) VALUES ($1, $2)`, [`user${i % 5}`, { kind: 'login', n: i }]);
});
afterAll(async () => {
  await sql?.end();
  await source?.stop();
});

/** A fresh store, a backup of the source configured for one chain, and the drill's environment. */
async function backUp(chain: object): Promise<Record<string, string>> {
  const dir = tempDir('config');
  const config = path.join(dir, 'pgdrill.config.json');
  writeFileSync(config, JSON.stringify({ backup: { auditChain: chain } }));
  const env = { PGDRILL_STORAGE: tempDir('store'), PGDRILL_ENCRYPTION_KEYS: keyring, PGDRILL_SANDBOX: 'embedded', PGDRILL_CONFIG: config };
  const backup = await runCli(['backup'], { ...env, DATABASE_URL: source.connectionUri('ledger') });
  expect(backup.exitCode, String(backup.stderr)).toBe(0);
  return env;
}

function expectPassWithSensitivity(run: DrillRun, chainTable: string): void {
  expect(run.exitCode, run.output.slice(-3000)).toBe(0);
  expect(run.result.verdict).toBe('PASS');
  expect(run.check('audit-chain')).toMatchObject({ status: 'pass', summary: expect.stringMatching(/^\d+ rows verified; head/) });
  expect(run.check('sequences')).toMatchObject({ status: 'pass', summary: expect.stringMatching(/^2 sequence\(s\) ahead of their column/) });
  const sensitivity = run.check('sensitivity')!;
  expect(sensitivity).toMatchObject({ status: 'pass', summary: 'sensitivity shown: 3 of 3 mutations caught (record-counts, audit-chain, sequences)' });
  const mutations = (sensitivity.evidence as { mutations: Array<{ check: string; mutation: string; caught: boolean; detail: string }> }).mutations;
  expect(mutations.map((m) => [m.check, m.caught])).toEqual([
    ['record-counts', true],
    ['audit-chain', true],
    ['sequences', true],
  ]);
  // Each check failed on its mutation, naming it.
  expect(mutations[0]!.detail).toMatch(/^fail: 1 of 1 tables differ: public\.chain_\w+: 299 of 300 rows$/);
  expect(mutations[1]!.detail).toMatch(new RegExp(`^fail: chain broken at ${chainTable.replace('.', '\\.')} \\w+=1 `));
  expect(mutations[2]!.detail).toMatch(/^fail: 1 of 2 sequence\(s\) behind their column/);
}

describe('audit chains hashed other ways verify, and the drill shows its checks can fail', () => {
  it('sha256 hex over the previous hash and a payload (the default hashSql): PASS, 3 of 3 mutations caught', async () => {
    const run = await drill(await backUp(CHAINS.sha256hex));
    expectPassWithSensitivity(run, 'public.chain_hex');
  });

  it('sha512 base64 without a stored previous hash: PASS; without Chromium the report fails and so does the exit code', async () => {
    // The drill passes but its PDF cannot be made: the exit code is the report error's (1), the evidence is on disk.
    const run = await drill({ ...(await backUp(CHAINS.sha512base64)), PUPPETEER_EXECUTABLE_PATH: '/nonexistent/chromium' });
    expect(run.result.verdict).toBe('PASS');
    expect(run.result.error).toMatch(/the drill record could not be completed: .*chromium/i);
    expect(run.exitCode).toBe(1);
    expect(run.result.pdfPath).toBeUndefined();
    expect(run.evidence?.verdict).toBe('PASS');
    expect(run.check('audit-chain')).toMatchObject({ status: 'pass', summary: `${ROWS} rows verified; head seq=${ROWS} matches the backup` });
    expect(run.check('sensitivity')).toMatchObject({ status: 'pass', summary: 'sensitivity shown: 3 of 3 mutations caught (record-counts, audit-chain, sequences)' });
  });

  it('sha256 bytea over the JSON form of the row, chained by a trigger: PASS; one payload changed in the source: FAIL naming the row', async () => {
    const run = await drill(await backUp(CHAINS.json));
    expectPassWithSensitivity(run, 'public.chain_json');

    await sql.query(`UPDATE public.chain_json SET event = '{"kind": "logout", "n": 7}' WHERE id = 7`);
    try {
      const broken = await drill(await backUp(CHAINS.json));
      expect(broken.exitCode, broken.output.slice(-3000)).toBe(1);
      expect(broken.check('audit-chain')).toMatchObject({ status: 'fail', summary: 'chain broken at public.chain_json id=7 (1 row(s) do not verify of 50)' });
      expect(broken.result.failedChecks).toEqual([broken.check('audit-chain')!.title]);
      expect(broken.check('sensitivity')).toMatchObject({ status: 'skip', summary: 'not run: 1 check(s) failed already, so the drill fails' });
    } finally {
      await sql.query(`UPDATE public.chain_json SET event = '{"kind": "login", "n": 7}' WHERE id = 7`);
    }
  });

  it('a chain whose hash covers only the row id verifies, but cannot catch tampering: the sensitivity check fails the drill', async () => {
    const run = await drill(await backUp(CHAINS.weak));
    expect(run.exitCode, run.output.slice(-3000)).toBe(1);
    expect(run.check('audit-chain')?.status).toBe('pass');
    const sensitivity = run.check('sensitivity')!;
    expect(sensitivity.status).toBe('fail');
    expect(sensitivity.summary).toMatch(/^sensitivity shown: 2 of 3 mutations caught; not caught: audit-chain after "public\.chain_weak id=1: change one column" \(changing note leaves the row's expected hash/);
    expect(run.result.failedChecks).toEqual([sensitivity.title]);
  });

  it('a sequence reset below its column by a bad migration fails the drill, naming the sequence and the column', async () => {
    await sql.query(`SELECT setval(pg_get_serial_sequence('public.chain_hex', 'id'), 10)`);
    try {
      const run = await drill(await backUp(CHAINS.sha256hex));
      expect(run.exitCode, run.output.slice(-3000)).toBe(1);
      expect(run.check('sequences')).toMatchObject({
        status: 'fail',
        summary: `1 of 2 sequence(s) behind their column: public.chain_hex.id: public.chain_hex_id_seq would hand out 11 but the column already holds up to ${ROWS} (the next insert collides)`,
      });
      expect(run.result.failedChecks).toEqual([run.check('sequences')!.title]);
    } finally {
      await sql.query(`SELECT setval(pg_get_serial_sequence('public.chain_hex', 'id'), ${ROWS})`);
    }
  });
});
