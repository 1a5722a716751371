// Before a point-in-time drill restores anything: what the repository holds (`pgbackrest info`,
// its WAL segments), the source's markers and superuser, and the plan. Everything here only reads;
// a target the repository cannot serve is refused here (exit 3), before any sandbox starts.
import type { PgdrillConfig, PitrConfig } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import { parseDatabaseUrl } from '../pgtools/index.ts';
import { listWalSegments, pgbackrest, readRepositoryInfo, type PgbackrestRunner } from './pgbackrest.ts';
import { planPitr, walGaps, type Marker, type PitrPlan, type RepositoryInfo, type TargetRequest } from './plan.ts';
import { bootstrapSuperuser, connectSource, readMarkers, walSegmentBytes } from './source.ts';
import type { PitrOutcome } from './types.ts';

/** The plan and what it was made from; serialisable (it travels from the CLI to the drill's setup). */
export interface PitrPreparation {
  plan: PitrPlan;
  info: RepositoryInfo;
  archive: PitrOutcome['archive'];
  markers: Marker[] | null;
  superuser: string;
  /** The database under test (DATABASE_URL's). */
  database: string;
  /** PostgreSQL major of the restored set. */
  major: number;
}

/** The `pitr` section, or a configuration error saying how to add it. */
export function pitrConfigOf(config: PgdrillConfig): PitrConfig {
  if (!config.pitr) {
    throw new ConfigError('Point-in-time drills need a `pitr` section in the configuration', {
      hint: "Add pitr: { stanza: 'main', options: { 'repo1-path': '/var/lib/pgbackrest' } } to pgdrill.config.ts (see docs/pitr.md)",
    });
  }
  return config.pitr;
}

export async function preparePointInTime(config: PgdrillConfig, request: TargetRequest, options: { now?: Date; signal?: AbortSignal; runner?: PgbackrestRunner } = {}): Promise<PitrPreparation> {
  const runner = options.runner ?? pgbackrest(pitrConfigOf(config));
  const database = parseDatabaseUrl(config.databaseUrl).database;
  const info = await readRepositoryInfo(runner, { signal: options.signal });
  const { client } = await connectSource(config);
  let markers: Marker[] | null;
  let superuser: string;
  let segmentBytes: number;
  try {
    markers = await readMarkers(client);
    superuser = await bootstrapSuperuser(client);
    segmentBytes = await walSegmentBytes(client);
  } finally {
    await client.end().catch(() => {});
  }
  const currentArchive = info.archives.at(-1);
  const current = currentArchive ? await listWalSegments(runner, currentArchive.id, { signal: options.signal }) : [];
  const newestArchivedAt = current.reduce<string | null>((newest, s) => (newest === null || s.archivedAt > newest ? s.archivedAt : newest), null);
  const plan = planPitr({ info, request, markers, now: options.now ?? new Date(), newestArchivedAt });
  const segments = plan.archiveId === currentArchive?.id ? current : await listWalSegments(runner, plan.archiveId, { signal: options.signal });
  const archive = info.archives.find((a) => a.id === plan.archiveId);
  const db = (info.raw as { db?: Array<{ id: number; version: string }> }).db?.find((d) => d.id === plan.set.databaseId);
  return {
    plan,
    info,
    archive: {
      id: plan.archiveId,
      min: archive?.min ?? null,
      max: archive?.max ?? null,
      segments: segments.length,
      newestArchivedAt,
      segmentBytes,
      gaps: walGaps(
        segments.map((s) => s.name),
        plan.set.walStart,
        segmentBytes,
      ),
    },
    markers,
    superuser,
    database,
    major: Number(db?.version ?? /^(\d+)/.exec(plan.archiveId)?.[1] ?? 0),
  };
}
