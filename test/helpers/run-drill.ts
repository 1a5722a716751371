// Runs one drill in this (child) process with options from argv[2] (JSON) and prints the result
// as JSON on the last line. Lets tests pass test-only options (fault injection, a later clock)
// that the CLI deliberately does not expose.
import { runDrill } from '../../src/drill/index.ts';
import type { DrillOptions } from '../../src/drill/index.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as DrillOptions;
const result = await runDrill(options);
process.stdout.write(`\n${JSON.stringify(result)}\n`);
process.exitCode = result.verdict === 'PASS' ? 0 : 1;
