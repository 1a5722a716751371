// Preloaded into a measured Node child with `--import`: at exit it writes the process's own peak
// resident set size (getrusage ru_maxrss, KiB) and CPU time (user + system, ms) — the process
// alone, not its children such as pg_dump — as JSON to the file named by PGDRILL_BENCH_RSS_FILE.
// It adds one exit listener and nothing else. Plain JavaScript: a .ts preload would load Node's
// type stripper (~18 MB RSS) into every measured process, the built package's too.
import { writeFileSync } from 'node:fs';

const file = process.env.PGDRILL_BENCH_RSS_FILE;
if (file) {
  delete process.env.PGDRILL_BENCH_RSS_FILE;
  process.on('exit', () => {
    try {
      const usage = process.resourceUsage();
      writeFileSync(file, `${JSON.stringify({ maxRssKiB: usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 })}\n`);
    } catch {
      // the bench then falls back to its /proc polling
    }
  });
}
