// Preloaded into a measured Node child with `--import`: at exit it writes the process's own peak
// resident set size (KiB) and CPU time (user + system, ms) — the process alone, not its children
// such as pg_dump — as JSON to the file named by PGDRILL_BENCH_RSS_FILE. The peak is VmHWM of
// /proc/self/status, the high-water mark of this program's own memory: getrusage's ru_maxrss
// would do elsewhere, but Linux carries it over from the parent through fork and exec, so a child
// of a large parent reports the parent's size. It adds one exit listener and nothing else. Plain
// JavaScript: a .ts preload would load Node's type stripper (~18 MB RSS) into every measured
// process, the built package's too.
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.env.PGDRILL_BENCH_RSS_FILE;
if (file) {
  delete process.env.PGDRILL_BENCH_RSS_FILE;
  process.on('exit', () => {
    try {
      const usage = process.resourceUsage();
      const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
      writeFileSync(file, `${JSON.stringify({ maxRssKiB: hwm ? Number(hwm) : usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 })}\n`);
    } catch {
      // the bench then falls back to its /proc polling
    }
  });
}
