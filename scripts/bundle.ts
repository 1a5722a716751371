// How pgdrill bundles JavaScript for running (rolldown): the CLI in `pnpm build` (scripts/build.ts),
// and the benchmarks' floors in the same form (scripts/bench/measure.ts), so both pay the same
// per-module cost.
import { rolldown, type RolldownLog } from 'rolldown';

// Left to Node at run time: vitest must be the one that runs the drill files (they import it too);
// puppeteer and testcontainers find browsers and Docker from their own folders; pg-native is pg's
// optional native driver (not installed).
const EXTERNAL = [/^vitest(\/|$)/, /^@vitest\//, /^vite(\/|$)/, /^puppeteer-core(\/|$)/, /^testcontainers(\/|$)/, /^@testcontainers\//, 'pg-native'];

/**
 * Bundles the entries (name → file) with their dependencies into `dir`, ES modules: `<name>.js` per
 * entry, each dynamic import a chunk of its own, chunks shared between entries. An import that
 * cannot be resolved fails the bundle (it would fail only when that code runs).
 */
export async function bundle(input: Record<string, string>, dir: string): Promise<void> {
  const problems: string[] = [];
  const build = await rolldown({
    input,
    platform: 'node',
    external: EXTERNAL,
    onLog(level, log: RolldownLog) {
      if (level === 'warn' && log.code === 'UNRESOLVED_IMPORT') problems.push(log.message);
    },
  });
  try {
    // ASCII only, JSDoc comments dropped: one non-ASCII character (BullMQ's and pgdrill's comments
    // have dashes and ellipses) makes V8 hold a whole chunk's source as a two-byte string and read
    // it more slowly; `pgdrill run` measured 0.42 s instead of 0.49 s and 2.4 MB less (medians of 6).
    // License comments stay.
    await build.write({ dir, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js', charset: 'ascii', comments: { legal: true, annotation: false, jsdoc: false } });
  } finally {
    await build.close();
  }
  if (problems.length > 0) throw new Error(`the bundle of ${Object.values(input).join(', ')} has unresolved imports:\n${problems.join('\n')}`);
}
