// What a point-in-time drill restores, decided from `pgbackrest info` and the source's markers
// before anything runs: the backup set, the recovery target and what the restored cluster must show.
// Pure: the tests feed it fixed repositories and markers.
import { ConfigError } from '../errors/index.ts';

/** One backup set as `pgbackrest info --output=json` lists it. */
export interface BackupSet {
  label: string;
  type: 'full' | 'diff' | 'incr';
  /** ISO-8601 UTC. */
  startedAt: string;
  stoppedAt: string;
  lsnStart: string;
  lsnStop: string;
  /** First and last WAL segment the set needs to be consistent. */
  walStart: string;
  walStop: string;
  /** Bytes in the repository (compressed) and of the database. */
  repoSizeBytes: number | null;
  sizeBytes: number | null;
  /** pgBackRest's database id of the set (which archive id holds its WAL). */
  databaseId: number;
  /** pgBackRest found a page checksum error or other problem while backing it up. */
  error: boolean;
}

/** The stanza as `pgbackrest info` describes it. */
export interface RepositoryInfo {
  stanza: string;
  cipher: string;
  /** Oldest first. */
  sets: BackupSet[];
  /** Archive ids (`15-1`) with their WAL range, and the database id each belongs to. */
  archives: Array<{ id: string; databaseId: number; min: string | null; max: string | null }>;
  /** The JSON pgBackRest printed for this stanza, kept in the evidence. */
  raw: unknown;
}

/** `time`: --target-time; `latest`: to the end of the archive; `name`: a restore point (pg_create_restore_point). */
export type TargetRequest = { type: 'time'; time: string } | { type: 'latest' } | { type: 'name'; name: string } | { type: 'auto' };

/** A row of `pgdrill.pitr_markers` in the source. */
export interface Marker {
  id: number;
  /** ISO-8601 UTC. */
  markedAt: string;
  /** The WAL segment `pg_switch_wal()` closed after it (null when the mark did not record it). */
  walFile: string | null;
}

export interface PitrPlan {
  target: {
    type: 'time' | 'latest' | 'name';
    /** The target time (ISO, UTC) or restore point name; null for latest. */
    value: string | null;
    /** How it was chosen, for the evidence. */
    reason: string;
  };
  set: BackupSet;
  /** Why this set, for the evidence ("the newest set that finished before the target"). */
  setReason: string;
  archiveId: string;
  /** The marker the restored table must end at, and the first one it must not have (null: none known). */
  expectedMarker: Marker | null;
  firstAbsentMarker: Marker | null;
}

const iso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();

/** The stanza's part of `pgbackrest info --output=json`; throws on a stanza that is not there. */
export function parseInfo(json: string, stanza: string): RepositoryInfo {
  // A repository that does not decrypt puts raw bytes of the file into its status message.
  // eslint-disable-next-line no-control-regex -- exactly those bytes are removed
  const all = JSON.parse(json.replace(/[\u0000-\u001f]/g, ' ')) as Array<Record<string, unknown>>;
  const entry = all.find((s) => s.name === stanza);
  if (!entry) throw new ConfigError(`pgBackRest knows no stanza "${stanza}"`, { hint: 'Check pitr.stanza and the repository options (pitr.options, pitr.config)' });
  type RawSet = {
    label: string;
    type: BackupSet['type'];
    timestamp: { start: number; stop: number };
    lsn?: { start: string; stop: string };
    archive: { start: string; stop: string };
    info?: { size?: number; repository?: { size?: number } };
    database: { id: number };
    error?: boolean;
  };
  const sets = ((entry.backup as RawSet[] | undefined) ?? []).map((b) => ({
    label: b.label,
    type: b.type,
    startedAt: iso(b.timestamp.start),
    stoppedAt: iso(b.timestamp.stop),
    lsnStart: b.lsn?.start ?? '',
    lsnStop: b.lsn?.stop ?? '',
    walStart: b.archive.start,
    walStop: b.archive.stop,
    repoSizeBytes: b.info?.repository?.size ?? null,
    sizeBytes: b.info?.size ?? null,
    databaseId: b.database.id,
    error: b.error === true,
  }));
  type RawArchive = { id: string; database: { id: number }; min: string | null; max: string | null };
  const archives = ((entry.archive as RawArchive[] | undefined) ?? []).map((a) => ({ id: a.id, databaseId: a.database.id, min: a.min, max: a.max }));
  return { stanza, cipher: String(entry.cipher ?? 'none'), sets: sets.sort((a, b) => a.stoppedAt.localeCompare(b.stoppedAt)), archives, raw: entry };
}

/** A moment for people and pgBackRest alike, milliseconds kept (a target between two markers may need them): `2026-12-07 14:01:00.250+00`. */
export function pgTime(isoTime: string): string {
  return isoTime.replace('T', ' ').replace(/\.000Z$/, 'Z').replace(/Z$/, '+00');
}

/** Whether segment `a` sorts at or before `b` (same width and timeline first, so string order works). */
export const segmentAtOrBefore = (a: string, b: string): boolean => a.toUpperCase() <= b.toUpperCase();

/**
 * Chooses the target, the set and the marker expectations. `now` is the drill's clock,
 * `newestArchivedAt` when the newest WAL segment reached the repository.
 */
export function planPitr(input: { info: RepositoryInfo; request: TargetRequest; markers: Marker[] | null; now: Date; newestArchivedAt: string | null }): PitrPlan {
  const { info, request, markers, now } = input;
  const usable = info.sets.filter((s) => !s.error);
  if (usable.length === 0) {
    const why = info.sets.length ? `its ${info.sets.length} backup set(s) are all marked as errored by pgBackRest` : 'it holds no backup set';
    throw new ConfigError(`The pgBackRest repository of stanza "${info.stanza}" cannot serve a point-in-time restore: ${why}`, {
      hint: `Take a full backup first: pgbackrest --stanza=${info.stanza} backup --type=full (see docs/pitr.md)`,
    });
  }
  const archiveMax = (set: BackupSet): string | null => info.archives.find((a) => a.databaseId === set.databaseId)?.max ?? null;
  const archiveIdOf = (set: BackupSet): string => info.archives.find((a) => a.databaseId === set.databaseId)?.id ?? '';
  const newest = usable.at(-1)!;

  let request2 = request;
  let autoReason = '';
  if (request.type === 'auto') {
    const pair = markerPair(markers ?? [], usable, archiveMax(newest));
    if (pair) {
      const mid = new Date((Date.parse(pair[0].markedAt) + Date.parse(pair[1].markedAt)) / 2).toISOString();
      request2 = { type: 'time', time: mid };
      autoReason = `half-way between markers ${pair[0].id} (${pgTime(pair[0].markedAt)}) and ${pair[1].id} (${pgTime(pair[1].markedAt)}), the newest archived pair after a backup set`;
    } else {
      request2 = { type: 'latest' };
      autoReason = markers === null ? 'latest: the source has no pgdrill.pitr_markers table (run `pgdrill pitr mark`), so the end of the archive' : 'latest: fewer than two archived markers after a backup set, so the end of the archive';
    }
  }

  if (request2.type === 'time') {
    const target = new Date(request2.time);
    if (Number.isNaN(target.getTime())) throw new ConfigError(`--target-time "${request2.time}" is not a time`, { hint: 'Give an ISO-8601 time with its zone, e.g. 2026-12-07T14:01:00Z' });
    const targetIso = target.toISOString();
    if (target > now) throw new ConfigError(`--target-time ${pgTime(targetIso)} is in the future (the drill's clock says ${pgTime(now.toISOString())})`, { hint: 'Choose a time in the past, or --target latest' });
    const candidates = usable.filter((s) => s.stoppedAt < targetIso);
    const set = candidates.at(-1);
    if (!set) {
      const oldest = usable[0]!;
      throw new ConfigError(
        `--target-time ${pgTime(targetIso)} is before the oldest usable backup set ${oldest.label} finished (${pgTime(oldest.stoppedAt)}): no backup in the repository can be recovered to it`,
        { hint: `Choose a target after ${pgTime(oldest.stoppedAt)}, or --target latest` },
      );
    }
    // The repository keeps whole seconds: a target within the newest segment's second may still be in it.
    const archivedUntil = input.newestArchivedAt ? new Date(Date.parse(input.newestArchivedAt) + 1000).toISOString() : null;
    if (request.type === 'time' && archivedUntil && targetIso >= archivedUntil) {
      throw new ConfigError(`--target-time ${pgTime(targetIso)} is not before the newest archived WAL (${pgTime(input.newestArchivedAt!)}): recovery to a time needs a transaction archived after it`, {
        hint: 'Choose an earlier time, or --target latest (or wait for the next WAL segment to be archived)',
      });
    }
    const before = (markers ?? []).filter((m) => m.markedAt <= targetIso);
    const after = (markers ?? []).filter((m) => m.markedAt > targetIso);
    return {
      target: { type: 'time', value: targetIso, reason: autoReason || 'given with --target-time' },
      set,
      setReason: `the newest of ${usable.length} usable set(s) that finished before the target (${pgTime(set.stoppedAt)} < ${pgTime(targetIso)})`,
      archiveId: archiveIdOf(set),
      expectedMarker: before.at(-1) ?? null,
      firstAbsentMarker: after[0] ?? null,
    };
  }
  if (request2.type === 'name') {
    return {
      target: { type: 'name', value: request2.name, reason: 'given with --target-name (a restore point made by pg_create_restore_point)' },
      set: newest,
      setReason: 'the newest usable set (a restore point has no time pgdrill can compare with the sets)',
      archiveId: archiveIdOf(newest),
      expectedMarker: null,
      firstAbsentMarker: null,
    };
  }
  // latest: every marker whose segment has been archived must be there.
  const max = archiveMax(newest);
  const archived = (markers ?? []).filter((m) => m.walFile !== null && max !== null && segmentAtOrBefore(m.walFile, max));
  return {
    target: { type: 'latest', value: null, reason: autoReason || 'given with --target latest: the end of the archived WAL' },
    set: newest,
    setReason: 'the newest usable set (recovery replays every archived segment after it)',
    archiveId: archiveIdOf(newest),
    expectedMarker: archived.at(-1) ?? null,
    firstAbsentMarker: null,
  };
}

/** The newest two consecutive markers, both archived, the first after some set finished. */
function markerPair(markers: Marker[], sets: BackupSet[], archiveMax: string | null): [Marker, Marker] | undefined {
  if (archiveMax === null) return undefined;
  const firstStop = sets[0]!.stoppedAt;
  const archived = markers.filter((m) => m.walFile !== null && segmentAtOrBefore(m.walFile, archiveMax) && m.markedAt > firstStop);
  for (let i = archived.length - 1; i > 0; i--) {
    const [a, b] = [archived[i - 1]!, archived[i]!];
    // Consecutive in the source (no marker between them that was not archived).
    if (markers.indexOf(b) === markers.indexOf(a) + 1) return [a, b];
  }
  return undefined;
}

/** One WAL segment in the repository. */
export interface WalSegment {
  name: string;
  /** When it reached the repository (ISO). */
  archivedAt: string;
}

/** Segment names are TTTTTTTT LLLLLLLL SSSSSSSS: timeline, then the position in segments of `segmentBytes`. */
function segmentIndex(name: string, segmentBytes: number): bigint {
  const perLog = 0x1_0000_0000n / BigInt(segmentBytes);
  return BigInt(`0x${name.slice(8, 16)}`) * perLog + BigInt(`0x${name.slice(16, 24)}`);
}

function segmentName(timeline: string, index: bigint, segmentBytes: number): string {
  const perLog = 0x1_0000_0000n / BigInt(segmentBytes);
  const hex = (n: bigint) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${timeline}${hex(index / perLog)}${hex(index % perLog)}`;
}

/** The segment after `name` on its timeline. */
export function nextSegment(name: string, segmentBytes: number): string {
  return segmentName(name.slice(0, 8), segmentIndex(name, segmentBytes) + 1n, segmentBytes);
}

/** A run of missing segments: the first and last missing, and the segments either side. */
export interface WalGap {
  firstMissing: string;
  lastMissing: string;
  missing: number;
  after: string;
  before: string;
}

/** Gaps in each timeline's segments from `from` on (segments before it are not needed by this restore). */
export function walGaps(segments: readonly string[], from: string, segmentBytes: number): WalGap[] {
  const byTimeline = new Map<string, bigint[]>();
  for (const name of segments) {
    if (name.slice(0, 8) < from.slice(0, 8) || (name.slice(0, 8) === from.slice(0, 8) && name < from)) continue;
    const list = byTimeline.get(name.slice(0, 8)) ?? [];
    list.push(segmentIndex(name, segmentBytes));
    byTimeline.set(name.slice(0, 8), list);
  }
  const gaps: WalGap[] = [];
  for (const [timeline, indexes] of [...byTimeline].sort(([a], [b]) => a.localeCompare(b))) {
    indexes.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 1; i < indexes.length; i++) {
      const [prev, next] = [indexes[i - 1]!, indexes[i]!];
      if (next - prev > 1n) {
        gaps.push({
          firstMissing: segmentName(timeline, prev + 1n, segmentBytes),
          lastMissing: segmentName(timeline, next - 1n, segmentBytes),
          missing: Number(next - prev - 1n),
          after: segmentName(timeline, prev, segmentBytes),
          before: segmentName(timeline, next, segmentBytes),
        });
      }
    }
  }
  return gaps;
}

/** "000…04 is missing (between 000…03 and 000…05)" / "3 segments 000…04 – 000…06 are missing (…)". */
export function describeGap(gap: WalGap): string {
  const what = gap.missing === 1 ? `WAL segment ${gap.firstMissing} is missing` : `${gap.missing} WAL segments ${gap.firstMissing} – ${gap.lastMissing} are missing`;
  return `${what} from the repository (between ${gap.after} and ${gap.before})`;
}
