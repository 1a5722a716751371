import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillArchiveOffsets } from '../../src/restore/archive-offsets.ts';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { tempDir } from '../helpers/pgdrill.ts';

let source: SourceDatabase;
beforeAll(async () => {
  source = await startSourceDatabase({ rows: 1500 });
});
afterAll(async () => {
  await source?.stop();
});

function pgEnv() {
  const url = new URL(source.url);
  return { PGHOST: url.hostname, PGPORT: url.port, PGUSER: url.username, PGPASSWORD: decodeURIComponent(url.password), PGDATABASE: 'oslrs' };
}

// Header bytes that hold the dump's creation time (7 ints of 1 sign + 4 bytes after the 16-byte prefix).
const TIME_FIELDS = [16, 16 + 7 * 5] as const;

describe('fillArchiveOffsets', () => {
  it('turns a piped custom archive into the same bytes pg_dump writes to a file', async () => {
    const dir = tempDir('archive');
    const asFile = path.join(dir, 'file.dump');
    const asPipe = path.join(dir, 'pipe.dump');
    await execa('pg_dump', ['-Fc', '-Z0', `--file=${asFile}`], { env: pgEnv() });
    await execa('pg_dump', ['-Fc', '-Z0'], { env: pgEnv(), stdout: { file: asPipe } });
    const before = await readFile(asPipe);
    const filled = fillArchiveOffsets(asPipe);
    expect(filled).toBeGreaterThan(10); // every table's data entry, plus large objects
    const patched = await readFile(asPipe);
    const reference = await readFile(asFile);
    reference.copy(patched, TIME_FIELDS[0], TIME_FIELDS[0], TIME_FIELDS[1]);
    reference.copy(before, TIME_FIELDS[0], TIME_FIELDS[0], TIME_FIELDS[1]);
    expect(before.equals(reference)).toBe(false);
    expect(patched.equals(reference)).toBe(true);
    // A second pass finds nothing to do, and a file-written archive is left alone.
    expect(fillArchiveOffsets(asPipe)).toBe(0);
    expect(fillArchiveOffsets(asFile)).toBe(0);
  });

  it('leaves anything it does not understand untouched', async () => {
    const dir = tempDir('archive');
    const plain = path.join(dir, 'plain.sql');
    await execa('pg_dump', ['-Fp'], { env: pgEnv(), stdout: { file: plain } });
    const before = await readFile(plain);
    expect(fillArchiveOffsets(plain)).toBe(0);
    expect((await readFile(plain)).equals(before)).toBe(true);
  });
});
