// pg_restore's stderr read into errors with their archive entries and likely causes (issue 12
// item 3). The texts below were captured unedited from PostgreSQL 15.18's pg_restore --verbose
// (embedded sandbox): the drill's integration test (drill-partial-restore.test.ts) runs the same
// parser on live output; these pin the format and the classes that test does not build.
import { describe, expect, it } from 'vitest';
import { classifyRestoreError, IncompleteRestoreError, PgRestoreLog, pgRestoreError, pgToolFailure } from '../../src/pgtools/index.ts';
import { describeRestoreFailure, parseArchiveListing, resolveRestoreErrors } from '../../src/restore/index.ts';

// A CHECK constraint and an index calling SQL functions that name `tariffs` without its schema
// (restored with --jobs=2, so progress lines of the two workers interleave).
const UNQUALIFIED = [
  'pg_restore: connecting to database for restore',
  'pg_restore: processing item 217 FUNCTION tariff_exists(text)',
  'pg_restore: creating FUNCTION "public.tariff_exists(text)"',
  'pg_restore: entering main parallel loop',
  'pg_restore: launching item 3355 TABLE DATA shipments',
  'pg_restore: launching item 3354 TABLE DATA tariffs',
  'pg_restore: processing data for table "public.tariffs"',
  'pg_restore: finished item 3354 TABLE DATA tariffs',
  'pg_restore: processing data for table "public.shipments"',
  'pg_restore: while PROCESSING TOC:',
  'pg_restore: from TOC entry 3355; 0 16394 TABLE DATA shipments pgdrill',
  'pg_restore: error: COPY failed for table "shipments": ERROR:  relation "tariffs" does not exist',
  'LINE 1:  SELECT EXISTS (SELECT 1 FROM tariffs WHERE code = c) ',
  '                                      ^',
  'QUERY:   SELECT EXISTS (SELECT 1 FROM tariffs WHERE code = c) ',
  'CONTEXT:  SQL function "tariff_exists" during inlining',
  'COPY shipments, line 1: "1\tT2\t1"',
  'pg_restore: finished item 3355 TABLE DATA shipments',
  'pg_restore: launching item 3209 INDEX idx_tariff',
  'pg_restore: creating INDEX "public.idx_tariff"',
  'pg_restore: from TOC entry 3209; 1259 16402 INDEX idx_tariff pgdrill',
  'pg_restore: error: could not execute query: ERROR:  relation "tariffs" does not exist',
  'LINE 1:  SELECT rate FROM tariffs WHERE code = c ',
  '                          ^',
  'QUERY:   SELECT rate FROM tariffs WHERE code = c ',
  'CONTEXT:  SQL function "tariff_rate" during inlining',
  'Command was: CREATE INDEX idx_tariff ON public.shipments USING btree (public.tariff_rate(tariff));',
  '',
  '',
  'pg_restore: finished item 3209 INDEX idx_tariff',
  'pg_restore: finished main parallel loop',
  'pg_restore: warning: errors ignored on restore: 4',
  '',
].join('\n');

// `pg_restore --list` of the same archive (entries only).
const LISTING = ['3355; 0 16394 TABLE DATA public shipments pgdrill', '3209; 1259 16402 INDEX public idx_tariff pgdrill'].join('\n');

// A GRANT to a role the target cluster does not have.
const MISSING_ROLE = [
  'pg_restore: connecting to database for restore',
  'pg_restore: creating ACL "public.TABLE tariffs"',
  'pg_restore: while PROCESSING TOC:',
  'pg_restore: from TOC entry 3347; 0 0 ACL TABLE tariffs pgdrill',
  'pg_restore: error: could not execute query: ERROR:  role "auditor" does not exist',
  'Command was: GRANT SELECT ON TABLE public.tariffs TO auditor;',
  '',
  '',
  'pg_restore: warning: errors ignored on restore: 1',
  '',
].join('\n');

/** Fed in small pieces, as a child's stderr arrives. */
function read(text: string, piece = 7): PgRestoreLog {
  const log = new PgRestoreLog();
  for (let i = 0; i < text.length; i += piece) log.push(text.slice(i, i + piece));
  log.end();
  return log;
}

describe('PgRestoreLog', () => {
  it('keeps each error with its archive entry and cause, without the row data of the COPY context', () => {
    const log = read(UNQUALIFIED);
    expect(log.errorsIgnored).toBe(4);
    expect(log.errors).toEqual([
      {
        tocId: 3355,
        entry: 'TABLE DATA shipments pgdrill',
        message: 'COPY failed for table "shipments": ERROR: relation "tariffs" does not exist',
        context: 'SQL function "tariff_exists" during inlining',
        cause: 'unqualified-reference',
        causeObject: 'tariffs',
      },
      {
        tocId: 3209,
        entry: 'INDEX idx_tariff pgdrill',
        message: 'could not execute query: ERROR: relation "tariffs" does not exist',
        context: 'SQL function "tariff_rate" during inlining',
        cause: 'unqualified-reference',
        causeObject: 'tariffs',
      },
    ]);
    expect(JSON.stringify(log.errors)).not.toContain('T2');
    // Progress lines are chatter; the error lines are what an error message shows.
    expect(log.significant()).not.toContain('launching item');
    expect(log.significant()).toContain('relation "tariffs" does not exist');
  });

  it('resolves entries to schema-qualified objects with the archive listing, and names the damage', () => {
    const failures = resolveRestoreErrors(read(UNQUALIFIED).errors, parseArchiveListing(LISTING));
    expect(failures.map((f) => [f.kind, f.schema, f.name])).toEqual([
      ['TABLE DATA', 'public', 'shipments'],
      ['INDEX', 'public', 'idx_tariff'],
    ]);
    expect(failures.map(describeRestoreFailure)).toEqual(['rows of public.shipments not restored', 'index public.idx_tariff missing']);
    // Without a listing the names stay, unqualified.
    expect(resolveRestoreErrors(read(UNQUALIFIED).errors).map((f) => [f.schema, f.name])).toEqual([
      [null, 'shipments'],
      [null, 'idx_tariff'],
    ]);
  });

  it('an incomplete restore is an IncompleteRestoreError naming each entry, with the cause as its hint', () => {
    const failure = pgToolFailure({ command: 'pg_restore', exitCode: 1, output: UNQUALIFIED })!;
    const error = pgRestoreError(failure, read(UNQUALIFIED), { context: 'into the sandbox', hint: 'generic hint' });
    expect(error).toBeInstanceOf(IncompleteRestoreError);
    expect(error.message).toMatch(/^pg_restore into the sandbox failed \(exit code 1, ran to its end with 2 error\(s\)\): TABLE DATA shipments pgdrill: COPY failed/);
    expect(error.hint).toMatch(/function tariff_exists names tariffs without its schema; pg_restore runs with an empty search_path/);
    expect(error.hint).not.toContain('generic hint');
  });

  it('names a missing role', () => {
    const log = read(MISSING_ROLE);
    expect(log.errors).toMatchObject([{ tocId: 3347, entry: 'ACL TABLE tariffs pgdrill', cause: 'missing-role', causeObject: 'auditor' }]);
    const [failure] = resolveRestoreErrors(log.errors, parseArchiveListing('3347; 0 0 ACL public TABLE tariffs pgdrill'));
    expect(describeRestoreFailure(failure!)).toBe('privileges on table public.tariffs not restored');
    const error = pgRestoreError(pgToolFailure({ command: 'pg_restore', exitCode: 1, output: MISSING_ROLE })!, log);
    expect(error.hint).toMatch(/role auditor does not exist/);
  });

  it('a pg_restore that stopped before restoring anything keeps the tool-failure shape, with the cause as hint when recognised', () => {
    // pg_restore 15 reading an archive whose header claims format 1.16 (a newer pg_dump's).
    const output = 'pg_restore: error: unsupported version (1.16) in file header\n';
    const log = read(output);
    expect(log.errorsIgnored).toBeUndefined();
    const error = pgRestoreError(pgToolFailure({ command: 'pg_restore', exitCode: 1, output })!, log, { hint: 'generic hint' });
    expect(error).not.toBeInstanceOf(IncompleteRestoreError);
    expect(error.message).toMatch(/^pg_restore failed \(exit code 1\): pg_restore: error: unsupported version \(1\.16\) in file header\. likely cause: the archive or its SQL needs a newer PostgreSQL/);
    // Nothing recognised: the caller's hint.
    const other = 'pg_restore: error: could not open input file "x": No such file or directory\n';
    expect(pgRestoreError(pgToolFailure({ command: 'pg_restore', exitCode: 1, output: other })!, read(other), { hint: 'generic hint' }).hint).toBe('generic hint');
  });
});

describe('classifyRestoreError', () => {
  it('recognises a missing extension (PostgreSQL 15: "is not available"; older: the control file)', () => {
    expect(classifyRestoreError('ERROR:  extension "postgis" is not available')).toEqual({ cause: 'missing-extension', object: 'postgis' });
    expect(classifyRestoreError('ERROR:  could not open extension control file "/usr/share/postgresql/13/extension/postgis.control": No such file or directory')).toEqual({
      cause: 'missing-extension',
      object: 'postgis',
    });
  });
  it('recognises a newer server setting as a version mismatch', () => {
    expect(classifyRestoreError('could not execute query: ERROR:  unrecognized configuration parameter "transaction_timeout"')).toEqual({ cause: 'version-mismatch' });
  });
  it('does not call a plain missing relation an unqualified reference without a function in the context', () => {
    expect(classifyRestoreError('ERROR:  relation "x" does not exist')).toEqual({ cause: 'other' });
  });
});
