// `pnpm build`: the package's JavaScript and declarations in dist/ (Node does not strip types
// under node_modules), laid out like the repository so relative paths hold in both: dist/src,
// dist/checks, dist/drills, dist/fixtures, plus the assets those read (report templates, the
// fixture schema; the report templates ship from templates/ itself) and the CLI entry dist/bin/pgdrill.js.
import { cp, mkdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');

await rm(dist, { recursive: true, force: true });
await execa(path.join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
await cp(path.join(root, 'fixtures/schema.sql'), path.join(dist, 'fixtures/schema.sql'));
await mkdir(path.join(dist, 'bin'), { recursive: true });
const bin = (await readFile(path.join(root, 'bin/pgdrill.js'), 'utf8'))
  .replace("'../src/cli/main.ts'", "'../src/cli/main.js'")
  .replace(/^\/\/ Runs the TypeScript CLI directly.*$/m, '// Runs the CLI built by `pnpm build`.');
if (!bin.includes("'../src/cli/main.js'")) throw new Error('bin/pgdrill.js no longer imports ../src/cli/main.ts: update scripts/build.ts');
await writeFile(path.join(dist, 'bin/pgdrill.js'), bin);
await chmod(path.join(dist, 'bin/pgdrill.js'), 0o755);
console.log(`built ${path.relative(process.cwd(), dist) || 'dist'}`);
