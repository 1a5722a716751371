// `pnpm bench:files [--files 1000,10000] [--size 100KB]`
//
// File-set benchmark (issue 18): per file count, a source bucket of that many files of `--size`
// random bytes on one s3rver (127.0.0.1), beside the backup bucket, then in the same run:
//   S  an `aws s3 sync`-style copy: list the source, GET each object and PUT it into the backup
//      bucket, 10 requests at once (the AWS CLI's default max_concurrent_requests), in this process;
//   B  the real CLI, `bin/pgdrill.js backup` with the bucket as a file set (8 files at once, the
//      default), as a child process: wall time, peak RSS and CPU of the Node process. A backup of
//      the same (tiny) database without file sets is timed too, so the file set's share shows.
// Figures go to stdout as a Markdown table (and to docs/benchmarks.md unless --no-docs). Throughput
// is file bytes / wall time. Everything is removed at the end.
import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { loadFixture, parseSize } from '../../fixtures/index.ts';
import { generateKey } from '../../src/crypto/index.ts';
import { startEmbeddedSandbox } from '../../src/sandbox/index.ts';
import { startS3Server } from '../../test/helpers/s3.ts';
import { cleanEnv, fmtMB, fmtSeconds, KIB, MB, runNodeMeasured, shebangNodeArgs, timed } from './measure.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'bin', 'pgdrill.js');
const DOCS = path.join(ROOT, 'docs', 'benchmarks.md');
const SYNC_CONCURRENCY = 10;

const { values } = parseArgs({ options: { files: { type: 'string', default: '1000,10000' }, size: { type: 'string', default: '100KB' }, 'no-docs': { type: 'boolean', default: false } } });
const counts = values.files.split(',').map((n) => Number(n.trim()));
const fileBytes = parseSize(values.size);
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Runs `run` over every item, at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await run(items[next++]!);
  }));
}

interface Row {
  files: number;
  bytes: number;
  syncMs: number;
  backupMs: number;
  dbOnlyMs: number;
  backupRssKiB: number;
  dbOnlyRssKiB: number;
  backupCpuMs: number;
}

const work = await mkdtemp(path.join(os.tmpdir(), 'pgdrill-bench-files-'));
const sandbox = await startEmbeddedSandbox({ major: 15, database: 'oslrs' });
const rows: Row[] = [];
try {
  await loadFixture(sandbox.connectionUri('oslrs'), { rows: 200, canaryPassword: 'bench', appPassword: 'bench' });
  const key = generateKey('bench');
  const cliNodeArgs = shebangNodeArgs(await readFile(CLI, 'utf8'));
  for (const count of counts) {
    const s3 = await startS3Server({ extraBuckets: 1 });
    try {
      const source = s3.extraBuckets[0]!;
      const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials });
      log(`${count} files of ${fmtMB(fileBytes)}: filling the source bucket`);
      const keys = Array.from({ length: count }, (_, i) => `uploads/${String(i % 100).padStart(2, '0')}/${String(i).padStart(6, '0')}.bin`);
      await eachLimited(keys, 16, async (k) => {
        await client.send(new PutObjectCommand({ Bucket: source, Key: k, Body: randomBytes(fileBytes) }));
      });

      log('  S: sync-style copy');
      const sync = await timed(async () => {
        const listed: string[] = [];
        let token: string | undefined;
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket: source, Prefix: 'uploads/', ContinuationToken: token }));
          for (const object of page.Contents ?? []) listed.push(object.Key!);
          token = page.NextContinuationToken;
        } while (token);
        await eachLimited(listed, SYNC_CONCURRENCY, async (k) => {
          const got = await client.send(new GetObjectCommand({ Bucket: source, Key: k }));
          const body = Buffer.from(await got.Body!.transformToByteArray());
          await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `sync/${k}`, Body: body }));
        });
      });

      const config = path.join(work, `pgdrill.config.${count}.json`);
      const env = (withFiles: boolean) =>
        cleanEnv({
          DATABASE_URL: sandbox.connectionUri('oslrs'),
          PGDRILL_STORAGE: `s3://${s3.bucket}/${withFiles ? 'with-files' : 'db-only'}`,
          PGDRILL_ENCRYPTION_KEYS: `${key.id}:${key.base64}`,
          S3_ENDPOINT: s3.endpoint,
          S3_REGION: s3.region,
          S3_ACCESS_KEY: s3.credentials.accessKeyId,
          S3_SECRET_KEY: s3.credentials.secretAccessKey,
          SRC_KEY_ID: s3.credentials.accessKeyId,
          SRC_SECRET: s3.credentials.secretAccessKey,
          ...(withFiles ? { PGDRILL_CONFIG: config } : {}),
        });
      await writeFile(
        config,
        JSON.stringify({
          backup: { files: [{ name: 'uploads', source: `s3://${source}/uploads`, s3: { endpoint: s3.endpoint, forcePathStyle: true, accessKeyIdEnv: 'SRC_KEY_ID', secretAccessKeyEnv: 'SRC_SECRET' } }] },
        }),
      );
      const measure = async (withFiles: boolean) => {
        const run = await runNodeMeasured({ script: CLI, args: ['backup'], nodeArgs: cliNodeArgs, env: env(withFiles), cwd: work, rssFile: path.join(work, 'rss.json') });
        if (run.exitCode !== 0) throw new Error(`pgdrill backup failed (exit ${run.exitCode}): ${run.stderr.slice(-2000)}`);
        return run;
      };
      log('  B: pgdrill backup without file sets');
      const dbOnly = await measure(false);
      log('  B: pgdrill backup with the file set');
      const backup = await measure(true);
      rows.push({
        files: count,
        bytes: count * fileBytes,
        syncMs: sync.ms,
        backupMs: backup.wallMs,
        dbOnlyMs: dbOnly.wallMs,
        backupRssKiB: backup.peakRssKiB,
        dbOnlyRssKiB: dbOnly.peakRssKiB,
        backupCpuMs: backup.cpuMs,
      });
      client.destroy();
    } finally {
      await s3.stop();
    }
  }
} finally {
  await sandbox.stop();
  await rm(work, { recursive: true, force: true });
}

const mbps = (bytes: number, ms: number) => `${(bytes / MB / (ms / 1000)).toFixed(1)} MB/s`;
const table = [
  `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — \`pnpm bench:files --files ${values.files} --size ${values.size}\``,
  '',
  `File sets: files of ${fmtMB(fileBytes)} from an s3rver bucket, ${os.cpus().length} CPUs, load average at the end ${os.loadavg()[0]!.toFixed(1)}.`,
  '',
  '| files | data | sync-style copy (S) | pgdrill backup (B) | B without file sets | B / S (file-set part) | B peak RSS | B without files, peak RSS | B CPU |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.files.toLocaleString('en')} | ${fmtMB(r.bytes)} | ${fmtSeconds(r.syncMs)} (${mbps(r.bytes, r.syncMs)}) | ${fmtSeconds(r.backupMs)} (${mbps(r.bytes, r.backupMs)}) | ${fmtSeconds(r.dbOnlyMs)} | ` +
      `${((r.backupMs - r.dbOnlyMs) / r.syncMs).toFixed(2)}× | ${fmtMB(r.backupRssKiB * KIB)} | ${fmtMB(r.dbOnlyRssKiB * KIB)} | ${fmtSeconds(r.backupCpuMs)} |`,
  ),
  '',
].join('\n');
process.stdout.write(`${table}\n`);
if (!values['no-docs']) await appendFile(DOCS, `\n${table}`);
