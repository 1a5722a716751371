import { glob, realpath } from 'node:fs/promises';
import path from 'node:path';
import { CODE_ROOT } from '../config/index.ts';

// Which files a drill runs: pgdrill's own (the built-in checks and the monthly drill: `checks/` and
// `drills/` beside `src/`, in the repository and in `dist/` alike, under CODE_ROOT) and the
// project's own (`drill.files`, `drill.checks` globs in the working directory).

const SCRIPT = /\.(ts|mts|js|mjs)$/;
const DECLARATION = /\.d\.(ts|mts)$/;

export interface DrillFiles {
  /** Test files for vitest: the built-in drill first, then the project's. */
  drills: string[];
  /** Check modules (default export: defineCheck(…)). */
  checks: { builtIn: string[]; project: string[] };
}

async function expand(patterns: readonly string[], cwd: string): Promise<string[]> {
  const found: string[] = [];
  for (const pattern of patterns) {
    for await (const file of glob(pattern, { cwd, exclude: (name) => name === 'node_modules' })) found.push(path.resolve(cwd, file));
  }
  return found.filter((file) => SCRIPT.test(file) && !DECLARATION.test(file)).sort();
}

/** Real paths, without the ones already in `seen` (pgdrill's own repository is also a project). */
async function unique(files: readonly string[], seen: Set<string>): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) {
    const real = await realpath(file);
    if (seen.has(real)) continue;
    seen.add(real);
    out.push(real);
  }
  return out;
}

export async function drillFiles(options: { cwd: string; drills: readonly string[]; checks: readonly string[] }): Promise<DrillFiles> {
  const seen = new Set<string>();
  const builtInDrills = await unique(await expand(['drills/monthly.drill.*'], CODE_ROOT), seen);
  const projectDrills = await unique(await expand(options.drills, options.cwd), seen);
  const builtInChecks = await unique(await expand(['checks/*'], CODE_ROOT), seen);
  const projectChecks = await unique(await expand(options.checks, options.cwd), seen);
  return { drills: [...builtInDrills, ...projectDrills], checks: { builtIn: builtInChecks, project: projectChecks } };
}
