// Runs one drill in this (child) process with options from argv[2] (JSON), prints the result as
// JSON on the last line and exits as `pgdrill drill` does (drillExitCode). For what the CLI
// deliberately does not expose: a later clock, config overrides, and FAULT INJECTION — SQL run on
// the restored copy (via the drill's afterRestore hook), standing in for a restore that silently
// lost rows, a table or a role. Tests that need none of these run the real CLI (drill-helpers.ts).
import pg from 'pg';
import { drillExitCode, runDrill, type DrillOptions } from '../../src/drill/index.ts';

export type TestDrillOptions = Omit<DrillOptions, 'afterRestore'> & { faultInjectionSql?: string };

const { faultInjectionSql, ...options } = JSON.parse(process.argv[2] ?? '{}') as TestDrillOptions;
const afterRestore = faultInjectionSql
  ? async (uri: string) => {
      const client = new pg.Client({ connectionString: uri });
      await client.connect();
      await client.query(faultInjectionSql).finally(() => client.end());
    }
  : undefined;
const result = await runDrill({ ...options, afterRestore });
process.stdout.write(`\n${JSON.stringify(result)}\n`);
process.exitCode = drillExitCode(result);
