// `pnpm build`: the package's JavaScript and declarations in dist/ (Node does not strip types
// under node_modules), laid out like the repository so relative paths hold in both: dist/src,
// dist/checks, dist/drills, dist/fixtures, plus the assets those read (report templates, the
// fixture schema; the report templates ship from templates/ itself). The library (`pgdrill`,
// `pgdrill/drill`, `pgdrill/config`) and pgdrill's own checks and drill run from those modules.
//
// The CLI (dist/bin/pgdrill.js) runs from a bundle of them with their dependencies, dist/cli/:
// Node loads one file per module, and the ~1,000 small files of zod, commander, pg, BullMQ, …
// cost start-up time and memory in every command. Bundled, `backup --help` measured 0.19–0.25 s
// and 62–65 MB instead of 0.32 s and 74.5 MB, and an idle worker 88–92 MB instead of 101–104 MB
// (docs/benchmarks.md). Commands and heavy libraries stay lazy: each dynamic import is a chunk of
// its own. The drill's vitest global setup is a second entry, so it shares the CLI's chunks.
import { cp, mkdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { bundle } from './bundle.ts';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');

await rm(dist, { recursive: true, force: true });
await execa(path.join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
await cp(path.join(root, 'fixtures/schema.sql'), path.join(dist, 'fixtures/schema.sql'));

await bundle({ main: path.join(dist, 'src/cli/main.js'), 'global-setup': path.join(dist, 'src/drill/global-setup.js') }, path.join(dist, 'cli'));

await mkdir(path.join(dist, 'bin'), { recursive: true });
const bin = (await readFile(path.join(root, 'bin/pgdrill.js'), 'utf8'))
  .replace("'../src/cli/main.ts'", "'../cli/main.js'")
  .replace(/^\/\/ Runs the TypeScript CLI directly.*$/m, '// Runs the CLI bundled by `pnpm build` (dist/cli).');
if (!bin.includes("'../cli/main.js'")) throw new Error('bin/pgdrill.js no longer imports ../src/cli/main.ts: update scripts/build.ts');
await writeFile(path.join(dist, 'bin/pgdrill.js'), bin);
await chmod(path.join(dist, 'bin/pgdrill.js'), 0o755);
console.log(`built ${path.relative(process.cwd(), dist) || 'dist'}`);
