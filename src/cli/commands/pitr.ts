import type { Command } from 'commander';
import { ConfigError } from '../../errors/index.ts';
import { pitrCheckup, pitrMark } from '../../operations/index.ts';

export function register(program: Command): void {
  const pitr = program.command('pitr').description('point-in-time recovery with pgBackRest: markers in the source, and a check of its archiving (drills: `pgdrill drill --pitr`)');

  pitr
    .command('mark')
    .description('write a marker row with the current time into pgdrill.pitr_markers in the source and switch WAL, so point-in-time drills can prove where they ended')
    .option('--json', 'print the marker as JSON')
    .action(async (flags: { json?: boolean }) => {
      const marker = await pitrMark({ configFile: program.opts().config });
      if (flags.json) process.stdout.write(`${JSON.stringify(marker)}\n`);
      else process.stdout.write(`marker ${marker.id} written at ${marker.markedAt}; WAL segment ${marker.walFile} closed for archiving\n`);
    });

  pitr
    .command('doctor')
    .description("check the source's archive_mode, archive_command, wal_level and archiving, the repository and `pgbackrest check`; print what to change")
    .option('--json', 'print the findings as JSON')
    .action(async (flags: { json?: boolean }) => {
      const findings = await pitrCheckup({ configFile: program.opts().config });
      if (flags.json) process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
      else {
        for (const f of findings) {
          process.stdout.write(`${f.status.toUpperCase().padEnd(4)} ${f.item}: ${f.seen}\n`);
          if (f.fix) process.stdout.write(`     change: ${f.fix}\n`);
        }
      }
      const failing = findings.filter((f) => f.status === 'fail');
      if (failing.length) {
        throw new ConfigError(`${failing.length} problem(s) stop point-in-time recovery: ${failing.map((f) => f.item).join(', ')}`, { hint: 'Make the changes printed above, then run `pgdrill pitr doctor` again (docs/pitr.md)' });
      }
      process.stdout.write('point-in-time recovery is set up\n');
    });
}
