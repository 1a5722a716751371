// Point-in-time planning and judgement, on fixed repositories and markers (no pgBackRest, no
// clock): which set and target a drill takes, what it refuses, WAL gaps, and when a recovered
// cluster is judged to have reached its target.
import { describe, expect, it } from 'vitest';
import { PgdrillConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { describeGap, judgeTarget, nextSegment, parseInfo, pgbackrest, planPitr, readRecoveryLog, walGaps, type Marker, type PitrOutcome, type RepositoryInfo } from '../../src/pitr/index.ts';

const MB16 = 16 * 1024 * 1024;
const seconds = (iso: string) => Date.parse(iso) / 1000;

/** `pgbackrest info --output=json` of a stanza with a full backup on Dec 1 and a differential on Dec 5. */
const INFO_JSON = JSON.stringify([
  {
    name: 'main',
    cipher: 'none',
    status: { code: 0, message: 'ok' },
    repo: [{ key: 1, cipher: 'none', status: { code: 0, message: 'ok' } }],
    db: [{ id: 1, 'repo-key': 1, 'system-id': 7716502743063972, version: '15' }],
    archive: [{ id: '15-1', database: { id: 1, 'repo-key': 1 }, min: '000000010000000000000002', max: '000000010000000000000040' }],
    backup: [
      {
        label: '20261205-010000F_20261205-020000D',
        type: 'diff',
        timestamp: { start: seconds('2026-12-05T02:00:00Z'), stop: seconds('2026-12-05T02:05:00Z') },
        lsn: { start: '0/20000028', stop: '0/20000100' },
        archive: { start: '000000010000000000000020', stop: '000000010000000000000020' },
        info: { size: 100, repository: { size: 10, delta: 10 } },
        database: { id: 1, 'repo-key': 1 },
        error: false,
      },
      {
        label: '20261201-010000F',
        type: 'full',
        timestamp: { start: seconds('2026-12-01T01:00:00Z'), stop: seconds('2026-12-01T01:10:00Z') },
        lsn: { start: '0/2000028', stop: '0/2000100' },
        archive: { start: '000000010000000000000002', stop: '000000010000000000000002' },
        info: { size: 1000, repository: { size: 100, delta: 100 } },
        database: { id: 1, 'repo-key': 1 },
        error: false,
      },
    ],
  },
]);

const info: RepositoryInfo = parseInfo(INFO_JSON, 'main');
const now = new Date('2026-12-07T14:30:00Z');
const marker = (id: number, markedAt: string, walFile: string | null): Marker => ({ id, markedAt, walFile });
const markers = [
  marker(1, '2026-12-07T12:00:00.000Z', '00000001000000000000003C'),
  marker(2, '2026-12-07T13:00:00.000Z', '00000001000000000000003E'),
  marker(3, '2026-12-07T14:01:00.000Z', '000000010000000000000040'),
  // Written, not archived yet.
  marker(4, '2026-12-07T14:25:00.000Z', '000000010000000000000041'),
];

describe('parseInfo', () => {
  it('reads the sets oldest first, with times, WAL range and database id', () => {
    expect(info.sets.map((s) => s.label)).toEqual(['20261201-010000F', '20261205-010000F_20261205-020000D']);
    expect(info.sets[0]).toMatchObject({ type: 'full', stoppedAt: '2026-12-01T01:10:00.000Z', lsnStart: '0/2000028', walStart: '000000010000000000000002', repoSizeBytes: 100, databaseId: 1 });
    expect(info.archives).toEqual([{ id: '15-1', databaseId: 1, min: '000000010000000000000002', max: '000000010000000000000040' }]);
  });

  it('reads a status message that carries raw bytes of an undecryptable file', () => {
    const garbled = INFO_JSON.replace('"message":"ok"}}]', '"message":"[FormatError] unable to load info file: Salted__\u0001\u0002\u0010"}}]');
    expect(() => parseInfo(garbled, 'main')).not.toThrow();
  });

  it('refuses a stanza the repository does not know (exit 3)', () => {
    expect(() => parseInfo(INFO_JSON, 'other')).toThrow(ConfigError);
  });
});

describe('planPitr', () => {
  it('targets half-way between the two newest archived markers after a backup, expecting the earlier one', () => {
    const plan = planPitr({ info, request: { type: 'auto' }, markers, now, newestArchivedAt: '2026-12-07T14:01:01.000Z' });
    expect(plan.target).toMatchObject({ type: 'time', value: '2026-12-07T13:30:30.000Z' });
    expect(plan.target.reason).toContain('half-way between markers 2 (2026-12-07 13:00:00+00) and 3 (2026-12-07 14:01:00+00)');
    expect(plan.set.label).toBe('20261205-010000F_20261205-020000D');
    expect(plan.expectedMarker?.id).toBe(2);
    expect(plan.firstAbsentMarker?.id).toBe(3);
  });

  it('takes the newest set that finished before a given time, and says why', () => {
    const plan = planPitr({ info, request: { type: 'time', time: '2026-12-03T00:00:00Z' }, markers: [], now, newestArchivedAt: '2026-12-07T14:01:01.000Z' });
    expect(plan.set.label).toBe('20261201-010000F');
    expect(plan.setReason).toBe('the newest of 2 usable set(s) that finished before the target (2026-12-01 01:10:00+00 < 2026-12-03 00:00:00+00)');
    expect(plan.expectedMarker).toBeNull();
  });

  it('keeps milliseconds of the target, so a target between close markers stays between them', () => {
    const plan = planPitr({ info, request: { type: 'time', time: '2026-12-07T14:01:00.250Z' }, markers, now, newestArchivedAt: '2026-12-07T14:02:00.000Z' });
    expect(plan.target.value).toBe('2026-12-07T14:01:00.250Z');
    expect(plan.expectedMarker?.id).toBe(3);
  });

  it('refuses a target before the oldest set finished, naming the set and the earliest possible target', () => {
    expect(() => planPitr({ info, request: { type: 'time', time: '2026-12-01T01:05:00Z' }, markers, now, newestArchivedAt: null })).toThrow(
      '--target-time 2026-12-01 01:05:00+00 is before the oldest usable backup set 20261201-010000F finished (2026-12-01 01:10:00+00): no backup in the repository can be recovered to it. Choose a target after 2026-12-01 01:10:00+00, or --target latest',
    );
  });

  it('refuses a target in the future and one past the newest archived WAL', () => {
    expect(() => planPitr({ info, request: { type: 'time', time: '2026-12-08T00:00:00Z' }, markers, now, newestArchivedAt: null })).toThrow(/is in the future/);
    expect(() => planPitr({ info, request: { type: 'time', time: '2026-12-07T14:20:00Z' }, markers, now, newestArchivedAt: '2026-12-07T14:01:01.000Z' })).toThrow(/is not before the newest archived WAL/);
  });

  it('falls back to latest without markers, expecting the newest archived marker when there are some', () => {
    expect(planPitr({ info, request: { type: 'auto' }, markers: null, now, newestArchivedAt: null }).target).toMatchObject({ type: 'latest', reason: expect.stringContaining('no pgdrill.pitr_markers table') });
    const latest = planPitr({ info, request: { type: 'latest' }, markers, now, newestArchivedAt: null });
    expect(latest.set.label).toBe('20261205-010000F_20261205-020000D');
    expect(latest.expectedMarker?.id).toBe(3);
  });

  it('refuses a repository with no usable set', () => {
    const empty = { ...info, sets: info.sets.map((s) => ({ ...s, error: true })) };
    expect(() => planPitr({ info: empty, request: { type: 'latest' }, markers, now, newestArchivedAt: null })).toThrow(/backup set\(s\) are all marked as errored/);
  });
});

describe('WAL segments', () => {
  it('counts segments per 4 GB log file of the segment size', () => {
    expect(nextSegment('0000000100000000000000FF', MB16)).toBe('000000010000000100000000');
    expect(nextSegment('000000010000000000000003', MB16)).toBe('000000010000000000000004');
    expect(nextSegment('00000001000000000000003F', 64 * 1024 * 1024)).toBe('000000010000000100000000');
  });

  it('finds each run of missing segments from the restored set on, per timeline', () => {
    const segments = ['000000010000000000000001', '000000010000000000000003', '000000010000000000000004', '000000010000000000000008', '0000000100000000000000FF', '000000010000000100000000', '000000020000000000000008', '00000002000000000000000A'];
    const gaps = walGaps(segments, '000000010000000000000003', MB16);
    expect(gaps.map(describeGap)).toEqual([
      '3 WAL segments 000000010000000000000005 – 000000010000000000000007 are missing from the repository (between 000000010000000000000004 and 000000010000000000000008)',
      '246 WAL segments 000000010000000000000009 – 0000000100000000000000FE are missing from the repository (between 000000010000000000000008 and 0000000100000000000000FF)',
      'WAL segment 000000020000000000000009 is missing from the repository (between 000000020000000000000008 and 00000002000000000000000A)',
    ]);
    // The gap before the restored set's first segment does not count.
    expect(walGaps(['000000010000000000000001', '000000010000000000000003'], '000000010000000000000003', MB16)).toEqual([]);
  });
});

function outcome(over: Partial<PitrOutcome> = {}): PitrOutcome {
  const set = info.sets[1]!;
  return {
    stanza: 'main',
    cipher: 'none',
    target: { type: 'time', value: '2026-12-07T13:30:30.000Z', reason: 'test' },
    set: { ...set, reason: 'test', restoredStartLsn: set.lsnStart },
    archive: { id: '15-1', min: '000000010000000000000002', max: '000000010000000000000040', segments: 63, newestArchivedAt: '2026-12-07T14:01:01.000Z', segmentBytes: MB16, gaps: [] },
    markers: { available: true, expected: markers[1]!, firstAbsent: markers[2]!, restoredNewest: markers[1]!, restoredCount: 2, firstAbsentRestored: false },
    reached: { lastReplayAt: '2026-12-07T13:00:00.100Z', recoveryStop: 'recovery stopping before commit of transaction 9, time 2026-12-07 14:01:00.001+00', lastRestoredSegment: '000000010000000000000040', inRecovery: false },
    timings: { restoreMs: 1000, recoveryMs: 500 },
    verify: { ok: true, output: 'status: ok' },
    info: {},
    tables: [],
    auditChain: null,
    superuser: 'postgres',
    ...over,
  };
}

describe('readRecoveryLog', () => {
  // The server log of a recovery that ran out of WAL (PostgreSQL 15): the sandbox's own connection
  // attempts leave FATAL lines too, before and after the startup process gave up.
  const LOG = [
    'LOG:  starting point-in-time recovery to 2026-12-07 11:23:27.112+00',
    'LOG:  restored log file "000000010000000000000002" from archive',
    'FATAL:  the database system is not accepting connections',
    'LOG:  restored log file "000000010000000000000003" from archive',
    'FATAL:  the database system is starting up',
    'FATAL:  recovery ended before configured recovery target was reached',
    'LOG:  startup process (PID 16022) exited with exit code 1',
    'FATAL:  the database system is in recovery mode',
    'FATAL:  the database system is shutting down',
  ].join('\n');

  it('keeps the fatal errors of the server itself, not those of connection attempts, and the last segment restored', () => {
    expect(readRecoveryLog(LOG)).toEqual({ recoveryStop: null, lastRestoredSegment: '000000010000000000000003', fatal: ['recovery ended before configured recovery target was reached'] });
  });

  it('reads where a recovery to a time stopped', () => {
    const log = 'LOG:  recovery stopping before commit of transaction 745, time 2026-12-07 11:23:28.5+00\nLOG:  redo done at 0/3005670';
    expect(readRecoveryLog(log).recoveryStop).toBe('recovery stopping before commit of transaction 745, time 2026-12-07 11:23:28.5+00');
  });
});

describe('judgeTarget', () => {
  it('passes a cluster that ends at the expected marker with the next one absent', () => {
    expect(judgeTarget(outcome())).toEqual({
      ok: true,
      problems: [],
      summary:
        'recovered to 2026-12-07 13:30:30 UTC from set 20261205-010000F_20261205-020000D: the restored markers end at marker 2 (written 2026-12-07 13:00:00 UTC); marker 3 (written 2026-12-07 14:01:00 UTC) is absent; last replayed transaction 2026-12-07 13:00:00.100 UTC',
    });
  });

  it('fails when the markers end elsewhere, the next marker is there, replay went past the target, or another set was restored', () => {
    const judged = judgeTarget(
      outcome({
        set: { ...outcome().set, restoredStartLsn: '0/2000028' },
        markers: { ...outcome().markers, restoredNewest: markers[2]!, firstAbsentRestored: true },
        reached: { ...outcome().reached, lastReplayAt: '2026-12-07T14:01:00.001Z' },
      }),
    );
    expect(judged.ok).toBe(false);
    expect(judged.problems).toEqual([
      'pgBackRest restored another backup than set 20261205-010000F_20261205-020000D: its backup_label starts at 0/2000028, the set at 0/20000028',
      'the restored markers end at marker 3 (written 2026-12-07 14:01:00 UTC), expected marker 2 (written 2026-12-07 13:00:00 UTC), the last before the target',
      'marker 3 (written 2026-12-07 14:01:00 UTC), written after the target, is in the restored cluster: recovery went past the target',
      'the last replayed transaction (2026-12-07 14:01:00.001 UTC) is after the target (2026-12-07 13:30:30 UTC)',
    ]);
  });

  it('fails a recovery to latest that stopped before the end of the archive, naming the gap', () => {
    const gap = { firstMissing: '000000010000000000000031', lastMissing: '000000010000000000000031', missing: 1, after: '000000010000000000000030', before: '000000010000000000000032' };
    const judged = judgeTarget(
      outcome({
        target: { type: 'latest', value: null, reason: 'test' },
        markers: { ...outcome().markers, expected: null, firstAbsent: null },
        archive: { ...outcome().archive, gaps: [gap] },
        reached: { ...outcome().reached, lastRestoredSegment: '000000010000000000000030' },
      }),
    );
    expect(judged.problems).toEqual([
      'recovery ended at segment 000000010000000000000030 but the archive holds segments up to 000000010000000000000040: WAL segment 000000010000000000000031 is missing from the repository (between 000000010000000000000030 and 000000010000000000000032)',
    ]);
  });

  it('fails a recovery that never left recovery', () => {
    expect(judgeTarget(outcome({ reached: { ...outcome().reached, inRecovery: null } })).problems).toEqual(['recovery did not finish (the server never left recovery)']);
  });
});

describe('pitr configuration', () => {
  const pitrOf = (pitr: unknown) => PgdrillConfig.parse({ pitr }).pitr!;

  it('gives pgBackRest every option as PGBACKREST_* environment, the cipher pass from its variable, and knows which values are secret', () => {
    const runner = pgbackrest(pitrOf({ stanza: 'main', options: { 'repo1-path': '/var/lib/pgbackrest', 'repo1-s3-key-secret': 's3-secret', 'process-max': 2, 'repo1-s3-verify-tls': false }, cipherPassEnv: 'MY_PASS' }), {
      MY_PASS: 'cipher-secret',
      PGBACKREST_REPO1_S3_KEY: 'from-env',
      HOME: '/root',
    });
    expect(runner.env).toMatchObject({
      PGBACKREST_STANZA: 'main',
      PGBACKREST_REPO1_PATH: '/var/lib/pgbackrest',
      PGBACKREST_REPO1_S3_KEY_SECRET: 's3-secret',
      PGBACKREST_PROCESS_MAX: '2',
      PGBACKREST_REPO1_S3_VERIFY_TLS: 'n',
      PGBACKREST_REPO1_CIPHER_PASS: 'cipher-secret',
      PGBACKREST_REPO1_S3_KEY: 'from-env',
      PGBACKREST_LOG_LEVEL_FILE: 'off',
    });
    expect(runner.env.HOME).toBeUndefined();
    expect([...runner.secrets].sort()).toEqual(['cipher-secret', 'from-env', 's3-secret']);
  });

  it('is a configuration error when the cipher pass variable is not set, or the pass is put in options', () => {
    expect(() => pgbackrest(pitrOf({ stanza: 'main', cipherPassEnv: 'MY_PASS' }), {})).toThrow('pitr.cipherPassEnv names MY_PASS, which is not set');
    expect(() => pitrOf({ stanza: 'main', options: { 'repo1-cipher-pass': 'x' } })).toThrow(/the cipher pass is a secret: name the variable that holds it in pitr.cipherPassEnv/);
    expect(() => pitrOf({ stanza: 'main', options: { repo1Path: 'x' } })).toThrow(/expected a pgBackRest option name/);
  });
});
