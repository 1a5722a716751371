import { Command, Option } from 'commander';
import { TOOL_VERSION } from '../config/index.ts';
import { registerBackupCommands } from './commands/backup.ts';
import { registerDrillCommands } from './commands/drill.ts';
import { registerRestoreCommands } from './commands/restore.ts';
import { registerSetupCommands } from './commands/setup.ts';
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
  3  configuration error
  4  verification failure (checksum, decryption, record counts)
  5  refused (another backup holds the lock, or a restore guard refused)
  130 interrupted (SIGINT), 143 terminated (SIGTERM); nothing half-published`,
  );

registerSetupCommands(program);
registerBackupCommands(program);
registerDrillCommands(program);
registerRestoreCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error, Boolean(program.opts().verbose));
}
