import type { Command } from 'commander';
import { loadConfig, redactConfig } from '../../config/index.ts';
import { generateKey } from '../../crypto/index.ts';
import { generateSigningKey } from '../../evidence/index.ts';
import { initProject } from '../../operations/index.ts';

export function register(program: Command): void {
  program
    .command('config')
    .description('show the resolved configuration (flag > environment > config file > defaults)')
    .option('--print', 'print it as JSON with secrets redacted (the default)')
    .action(async () => {
      const config = await loadConfig({ configFile: program.opts().config });
      process.stdout.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
    });

  program
    .command('init')
    .description('scaffold pgdrill into this project: pgdrill.config.ts, drills/example.drill.ts, CI workflows, .gitignore lines (never overwrites)')
    .option('--organisation <name>', 'who the reports belong to (report.organisation)')
    .option('--system <name>', 'the system the database serves (report.system)')
    .action(async (flags: { organisation?: string; system?: string }) => {
      const result = await initProject({ cwd: process.cwd(), organisation: flags.organisation, system: flags.system });
      for (const file of result.written) process.stdout.write(`created  ${file}\n`);
      for (const file of result.skipped) process.stdout.write(`skipped  ${file} (exists; left unchanged)\n`);
      if (result.gitignoreAdded.length) process.stdout.write(`.gitignore: added ${result.gitignoreAdded.join(' ')}\n`);
      process.stdout.write(
        [
          '',
          'Next steps:',
          '  1. Set the secrets: DATABASE_URL (password via PGPASSWORD or ~/.pgpass) and PGDRILL_ENCRYPTION_KEYS',
          '     (`pnpm exec pgdrill keys generate`; keep the key in two offline places), in your shell and as CI secrets.',
          '  2. Try it: `pnpm exec pgdrill demo` (a throwaway database, a real backup, a drill and a PDF),',
          '     then `pnpm exec pgdrill backup` and `pnpm exec pgdrill drill` against your database.',
          '  3. Fill in report.organisation/system in pgdrill.config.ts, then commit it with drills/ and .github/workflows/.',
          '',
        ].join('\n'),
      );
    });

  const keys = program.command('keys').description('encryption keys');
  keys
    .command('generate')
    .description('print a new random AES-256 key as id:base64 for PGDRILL_ENCRYPTION_KEYS (prepend it to rotate)')
    .option('--id <id>', 'key id (default: k + today)')
    .action((options: { id?: string }) => {
      const key = generateKey(options.id);
      process.stdout.write(`${key.id}:${key.base64}\n`);
      process.stderr.write(
        'Store this key in two offline places (see docs/encryption.md). To rotate, prepend it to PGDRILL_ENCRYPTION_KEYS and keep the old keys to read old backups.\n',
      );
    });
  keys
    .command('signing')
    .description('print a new Ed25519 key pair for signing drill evidence: the private key for PGDRILL_REPORT_SIGNING_KEY, the public key for verify-reports')
    .action(() => {
      const { privateKeyPem, publicKeyPem } = generateSigningKey();
      process.stdout.write(`${privateKeyPem}${publicKeyPem}`);
      process.stderr.write(
        'Set the PRIVATE KEY block as PGDRILL_REPORT_SIGNING_KEY where drills run (a secret); give the PUBLIC KEY block to auditors for `pgdrill verify-reports --public-key`.\n',
      );
    });
}
