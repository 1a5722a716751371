// Restore candidate of `pnpm bench`, run as its own process so its peak RSS can be measured:
// starts a fresh embedded sandbox (untimed), then times fetchBackup (download from the folder +
// verify + decrypt + decompress) + restoreFetched (globals, pg_restore --jobs=2), exactly as a
// drill does, checks two row counts against the manifest (untimed), stops the sandbox and prints
// one JSON line. Inputs via the environment: PGDRILL_STORAGE, PGDRILL_ENCRYPTION_KEYS,
// PGDRILL_BENCH_BACKUP_ID (the daily backup to restore), PGDRILL_BENCH_FORM (`package`: the
// built library bundled as the CLI is, from the bundle of restore-library.js named by
// PGDRILL_BENCH_LIBRARY; `source`: src/ through Node's type stripper). Plain JavaScript, so the
// package form loads no type stripper.
import { performance } from 'node:perf_hooks';
import pg from 'pg';

const form = process.env.PGDRILL_BENCH_FORM ?? 'source';
if (form !== 'package' && form !== 'source') throw new Error(`PGDRILL_BENCH_FORM must be package or source, got ${form}`);
/** The source form: a module of src/ through its index, the public face. */
const source = (name) => import(`../../src/${name}/index.ts`);
if (form === 'package' && !process.env.PGDRILL_BENCH_LIBRARY) throw new Error('PGDRILL_BENCH_LIBRARY is not set (the bundled restore-library.js)');
const { loadConfig, loadKeyring, listBackups, fetchBackup, restoreFetched, startEmbeddedSandbox, openStorage } =
  form === 'package'
    ? await import(process.env.PGDRILL_BENCH_LIBRARY)
    : Object.assign({}, ...(await Promise.all(['config', 'crypto', 'catalog', 'restore', 'sandbox', 'storage'].map(source))));

const backupId = process.env.PGDRILL_BENCH_BACKUP_ID;
if (!backupId) throw new Error('PGDRILL_BENCH_BACKUP_ID is not set');

const config = await loadConfig({ env: process.env, cwd: process.cwd() });
const storage = openStorage(config);
const keyring = loadKeyring(config, 'read');
const entry = (await listBackups(storage, config.storage.prefix)).backups.find((b) => b.manifest.id === backupId && b.manifest.tier === 'daily');
if (!entry) throw new Error(`no daily backup ${backupId} in ${storage.location}`);
const { manifest } = entry;
const sandbox = await startEmbeddedSandbox({ major: manifest.serverMajor, database: 'restore' });
try {
  const started = performance.now();
  const fetched = await fetchBackup({ storage, manifest, keyring });
  const fetchedAt = performance.now();
  // The sandbox as restoreFetched sees it, with its pg_restore call timed on the side (to compare
  // with the baseline's pg_restore alone); nothing else changes.
  let pgRestoreMs = 0;
  const target = {
    ...sandbox,
    async pgRestore(archivePath, args) {
      const t0 = performance.now();
      await sandbox.pgRestore(archivePath, args);
      pgRestoreMs += performance.now() - t0;
    },
  };
  let finished;
  try {
    await restoreFetched({ target, manifest, fetched, selection: { withGlobals: true, jobs: 2 } });
    finished = performance.now();
  } finally {
    await fetched.cleanup(); // untimed, as the baseline keeps its archive
  }

  const client = new pg.Client({ connectionString: sandbox.connectionUri('restore') });
  await client.connect();
  const mismatches = [];
  try {
    for (const t of manifest.tables.filter((t) => t.schema === 'public' && ['respondents', 'audit_logs'].includes(t.name))) {
      const { rows } = await client.query(`SELECT count(*) AS n FROM "${t.schema}"."${t.name}"`);
      if (Number(rows[0]?.n) !== t.rows) mismatches.push(`${t.schema}.${t.name}: ${rows[0]?.n} rows, manifest ${t.rows}`);
    }
  } finally {
    await client.end();
  }
  process.stdout.write(
    `${JSON.stringify({
      totalMs: finished - started,
      fetchMs: fetchedAt - started,
      downloadMs: fetched.timings.downloadMs,
      decryptMs: fetched.timings.decryptMs,
      restoreMs: finished - fetchedAt,
      pgRestoreMs,
      mismatches,
    })}\n`,
  );
} finally {
  await sandbox.stop();
  await storage.close();
}
