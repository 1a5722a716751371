import { Command, Option } from 'commander';
import { TOOL_VERSION } from '../config/index.ts';
import { reportError } from './output.ts';

const program = new Command('pgdrill')
  .description('PostgreSQL backups that are provably restorable')
  .version(TOOL_VERSION)
  .addOption(new Option('--config <file>', 'config file (default: pgdrill.config.ts in the current directory)').env('PGDRILL_CONFIG'))
  .option('--verbose', 'more output, stack traces on errors')
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Exit codes:
  0  success
  1  dump, restore or drill failure (a check failed)
  2  storage failure (upload, download, listing)
  3  configuration error (pitr doctor: the source is not set up for point-in-time recovery)
  4  verification failure (checksum, decryption, record counts)
  5  refused (another backup holds the lock, or a restore guard refused)
  130 interrupted (SIGINT), 143 terminated (SIGTERM); nothing half-published`,
  );

// Each command group loads only its own dependencies: `pgdrill backup` never loads vitest,
// Chromium's driver or the AWS SDK it does not need (startup time and memory).
const COMMAND_GROUPS: Record<string, () => Promise<{ register(program: Command): void }>> = {
  setup: () => import('./commands/setup.ts'),
  backup: () => import('./commands/backup.ts'),
  drill: () => import('./commands/drill.ts'),
  restore: () => import('./commands/restore.ts'),
  pitr: () => import('./commands/pitr.ts'),
  service: () => import('./commands/service.ts'),
};
const GROUP_OF: Record<string, string> = {
  config: 'setup',
  init: 'setup',
  keys: 'setup',
  backup: 'backup',
  prune: 'backup',
  list: 'backup',
  drill: 'drill',
  demo: 'drill',
  report: 'drill',
  'verify-reports': 'drill',
  restore: 'restore',
  verify: 'restore',
  decrypt: 'restore',
  pitr: 'pitr',
  serve: 'service',
  worker: 'service',
  schedule: 'service',
  run: 'service',
  status: 'service',
  metrics: 'service',
  tokens: 'service',
};
// `pgdrill list | head`: a reader that stops early is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const commandName = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
const group = commandName ? GROUP_OF[commandName] : undefined;
for (const load of group ? [COMMAND_GROUPS[group]!] : Object.values(COMMAND_GROUPS)) (await load()).register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error, Boolean(program.opts().verbose));
}
