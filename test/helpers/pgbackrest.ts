// A source database that archives its WAL with pgBackRest into local repositories, for the
// point-in-time tests and benchmark: the fixture in an embedded cluster, archive_mode on,
// archive_command = pgbackrest archive-push, a plain repository (repo1) and an encrypted one
// (repo2, aes-256-cbc), both stanzas created. pgBackRest runs as the cluster's OS user (postgres
// when the tests run as root), as it would on a database host.
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import type { EmbeddedSandbox } from '../../src/sandbox/index.ts';
import { startSourceDatabase, type SourceDatabase, type SourceDatabaseOptions } from './postgres.ts';

export interface ArchivingSource {
  source: SourceDatabase;
  stanza: string;
  /** Folder of both repositories and the source's pgbackrest.conf (removed by stop()). */
  dir: string;
  repo: string;
  encryptedRepo: string;
  /** The encrypted repository's cipher pass. */
  cipherPass: string;
  /** pgBackRest as the source's OS user, with the source's configuration. */
  pgbackrest(args: string[]): Promise<string>;
  /** A client on the source database. */
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Waits until the source has archived `walFile` (or a later segment). */
  waitArchived(walFile: string): Promise<void>;
  stop(): Promise<void>;
}

async function osUser(name: string): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([execa('id', ['-u', name]), execa('id', ['-g', name])]);
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

export async function startArchivingSource(options: SourceDatabaseOptions & { stanza?: string } = {}): Promise<ArchivingSource> {
  const stanza = options.stanza ?? 'pitr';
  const owner = await osUser('postgres');
  // Outside the tests' 0700 temp root: the cluster's OS user reads and writes the repositories.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgdrill-pitr-'));
  const repo = path.join(dir, 'repo');
  const encryptedRepo = path.join(dir, 'repo-encrypted');
  for (const folder of [repo, encryptedRepo, path.join(dir, 'lock')]) mkdirSync(folder);
  const cipherPass = randomBytes(24).toString('base64url');
  const source = await startSourceDatabase(options);
  try {
    const sandbox = source.sandbox as EmbeddedSandbox;
    const conf = path.join(dir, 'pgbackrest.conf');
    writeFileSync(
      conf,
      [
        '[global]',
        `repo1-path=${repo}`,
        `repo2-path=${encryptedRepo}`,
        'repo2-cipher-type=aes-256-cbc',
        `repo2-cipher-pass=${cipherPass}`,
        `lock-path=${path.join(dir, 'lock')}`,
        'log-level-file=off',
        'log-level-console=warn',
        'compress-type=lz4',
        'start-fast=y',
        'archive-check=y',
        '',
        `[${stanza}]`,
        `pg1-path=${sandbox.dataDir}`,
        `pg1-socket-path=${sandbox.rootDir}`,
        `pg1-port=${sandbox.connection.port}`,
        `pg1-user=${sandbox.connection.user}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    if (owner) for (const entry of [dir, repo, encryptedRepo, path.join(dir, 'lock'), conf]) chownSync(entry, owner.uid, owner.gid);
    chmodSync(dir, 0o700);

    // pgBackRest connects over the cluster's socket: trust there (a private 0700 folder), then archiving on.
    const hba = path.join(sandbox.dataDir, 'pg_hba.conf');
    await writeFile(hba, `local all all trust\n${await readFile(hba, 'utf8')}`);
    await appendFile(
      path.join(sandbox.dataDir, 'postgresql.conf'),
      `\narchive_mode = on\nwal_level = replica\narchive_command = 'pgbackrest --config=${conf} --stanza=${stanza} archive-push %p'\n`,
    );
    const pgCtl = path.join(sandbox.description, 'pg_ctl');
    // pg_ctl restart keeps the port (postmaster.opts); the server logs to the sandbox's log, not to a pipe it would hold open.
    await execa(pgCtl, ['restart', '-D', sandbox.dataDir, '-l', sandbox.logFile, '-m', 'fast', '-w', '-t', '60'], { ...(owner ?? {}), cwd: '/', timeout: 90_000, stdio: 'ignore' });

    const pgbackrest = async (args: string[]): Promise<string> => {
      const result = await execa('pgbackrest', [`--config=${conf}`, `--stanza=${stanza}`, ...args], { ...(owner ?? {}), cwd: '/', timeout: 300_000, reject: false });
      if (result.exitCode !== 0) throw new Error(`pgbackrest ${args.join(' ')} failed (${result.exitCode}): ${result.stderr || result.stdout}`);
      return result.stdout;
    };
    await pgbackrest(['stanza-create']);
    const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> => {
      const client = new pg.Client({ connectionString: source.url });
      await client.connect();
      try {
        return (await client.query<T>(sql, params)).rows;
      } finally {
        await client.end();
      }
    };
    const waitArchived = async (walFile: string): Promise<void> => {
      for (let i = 0; i < 600; i++) {
        const [row] = await query<{ last: string | null }>('SELECT last_archived_wal AS last FROM pg_stat_archiver');
        if (row?.last && row.last >= walFile) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`${walFile} was not archived within 60 s`);
    };
    return {
      source,
      stanza,
      dir,
      repo,
      encryptedRepo,
      cipherPass,
      pgbackrest,
      query,
      waitArchived,
      stop: async () => {
        await source.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await source.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
