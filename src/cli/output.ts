import { BACKUP_TIERS, backupSeries, type Catalog } from '../catalog/index.ts';
import { exitCodeOf, PgdrillError } from '../errors/index.ts';
import { formatAge, formatBytes } from '../format/index.ts';

export const isTTY = (): boolean => Boolean(process.stderr.isTTY) && process.env.CI !== 'true';

/** A progress line rewritten in place on a TTY; silent otherwise. */
export function progressLine(label: string): { update(bytes: number, elapsedMs: number): void; done(): void } {
  if (!isTTY()) return { update: () => {}, done: () => {} };
  let finished = false;
  return {
    update(bytes, elapsedMs) {
      if (finished) return;
      const rate = elapsedMs > 0 ? (bytes / elapsedMs) * 1000 : 0;
      process.stderr.write(`\r${label}: ${formatBytes(bytes)} at ${formatBytes(rate)}/s   `);
    },
    done() {
      if (finished) return;
      finished = true;
      process.stderr.write('\n');
    },
  };
}

/** Prints an error the user can act on and returns the documented exit code. */
export function reportError(error: unknown, verbose: boolean): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`pgdrill: ${message}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else if (!(error instanceof PgdrillError)) process.stderr.write('(unexpected error; run with --verbose for the stack trace)\n');
  return exitCodeOf(error);
}

/** The last drill that restored a backup (as the backup under test or as the older one proven). */
export interface LastDrill {
  at: string;
  verdict: 'PASS' | 'FAIL';
}

/**
 * The one backup list (`pgdrill list`, `pgdrill restore --list`): per tier, each backup's id, time
 * taken, age, stored size, tables and key id, plus its last drill when `lastDrill` is given.
 */
export function printBackupList(
  write: (line: string) => void,
  catalog: Catalog,
  options: { location: string; now: Date; lastDrill?: (id: string) => LastDrill | null },
): void {
  if (catalog.backups.length === 0) write(`no backups in ${options.location}`);
  for (const tier of BACKUP_TIERS) {
    const ofTier = catalog.backups.filter((e) => e.manifest.tier === tier);
    if (ofTier.length === 0) continue;
    write(`${tier}:`);
    for (const { manifest: m } of ofTier) {
      const size = m.objects.dump.size + (m.objects.globals?.size ?? 0);
      const key = m.encryption.algorithm === 'none' ? 'none (unencrypted)' : m.encryption.keyId;
      const age = formatAge(options.now.getTime() - Date.parse(m.startedAt));
      const drill = options.lastDrill ? options.lastDrill(m.id) : undefined;
      const drillColumn = drill === undefined ? '' : drill ? `  drill ${drill.verdict} ${drill.at.slice(0, 10)}` : '  never drilled';
      const { full, series } = backupSeries(m);
      write(`  ${m.id.padEnd(28)} ${m.startedAt}  ${age.padStart(10)} ago  ${formatBytes(size).padStart(10)}  ${String(m.tables.length).padStart(3)} tables  key ${key}${drillColumn}${full ? '' : `  ${series}`}`);
    }
  }
  for (const bad of catalog.invalid) write(`INVALID ${bad.manifestKey}: ${bad.reason}`);
}
