import type { PgdrillConfig, PgdrillConfigInput } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import type { JobKind } from '../notify/index.ts';
import { parseDatabaseUrl } from '../pgtools/index.ts';

// The databases the service serves. A fleet is configured as `databases: [...]`; the single-
// database configuration of the CLI (`databaseUrl`) is a fleet of one. What an entry does not set
// comes from the top level; each fleet database gets its own key prefix in a shared storage, so one
// database's catalog never holds another's backups.

export type Schedule = PgdrillConfig['schedule'];

export interface FleetDatabase {
  /** The name in queues, metrics, notifications and `--database`. */
  name: string;
  /** Config values this database runs with, above the config file (like flags). */
  overrides: PgdrillConfigInput;
  schedule: Schedule;
  /** Point-in-time recovery is configured (its own `pitr`, or the top level's): markers are scheduled. */
  pitr: boolean;
}

/** When a job kind runs for a database: its cron pattern, `after-backup`, or null (never; markers only with `pitr`). */
export function schedulePattern(database: FleetDatabase, kind: JobKind): string | null {
  if (kind === 'pitr-mark') return database.pitr ? database.schedule.pitrMark : null;
  return database.schedule[kind];
}

export function fleetOf(config: PgdrillConfig, env: NodeJS.ProcessEnv = process.env): FleetDatabase[] {
  if (!config.databases) {
    if (!config.databaseUrl) {
      throw new ConfigError('No database to serve: neither DATABASE_URL nor `databases` is configured', {
        hint: 'Set DATABASE_URL for one database, or list them under `databases: [{ name, urlEnv }]` in pgdrill.config.ts',
      });
    }
    const name = parseDatabaseUrl(config.databaseUrl).database.replace(/[^A-Za-z0-9_.-]+/g, '_');
    return [{ name, overrides: {}, schedule: config.schedule, pitr: config.pitr !== undefined }];
  }
  const seen = new Set<string>();
  return config.databases.map((entry) => {
    if (seen.has(entry.name)) throw new ConfigError(`databases: "${entry.name}" is listed twice`, { hint: 'Give every database its own name' });
    seen.add(entry.name);
    const url = entry.url ?? env[entry.urlEnv!];
    if (!url) {
      throw new ConfigError(`databases.${entry.name}: environment variable ${entry.urlEnv} is not set`, {
        hint: `Set ${entry.urlEnv}=postgres://user@host:5432/db (password via PGPASSWORD or ~/.pgpass)`,
      });
    }
    return {
      name: entry.name,
      overrides: {
        databaseUrl: url,
        storage: { url: entry.storage?.url ?? config.storage.url, prefix: entry.storage?.prefix ?? `${config.storage.prefix}/${entry.name}` },
        ...(entry.pitr ? { pitr: entry.pitr } : {}),
      },
      schedule: { ...config.schedule, ...entry.schedule },
      pitr: (entry.pitr ?? config.pitr) !== undefined,
    };
  });
}

/** The one database a command means: `--database NAME`, or the only one. */
export function pickDatabase(fleet: readonly FleetDatabase[], name: string | undefined): FleetDatabase {
  if (name !== undefined) {
    const found = fleet.find((d) => d.name === name);
    if (!found) throw new ConfigError(`No database named "${name}"`, { hint: `Configured: ${fleet.map((d) => d.name).join(', ')}` });
    return found;
  }
  if (fleet.length !== 1) throw new ConfigError(`${fleet.length} databases are configured: say which with --database`, { hint: `One of ${fleet.map((d) => d.name).join(', ')}` });
  return fleet[0]!;
}
