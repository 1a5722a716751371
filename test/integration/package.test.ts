// pgdrill as an app team uses it: built and packed, installed from the tarball into a fresh project
// outside this repository, scaffolded with `pgdrill init`, then `pgdrill demo` runs pgdrill's
// checks together with the project's own check file and drill file, and files the PDF.
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvidence } from '../../src/evidence/index.ts';
import { REPO_ROOT } from '../helpers/pgdrill.ts';

const version = (JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let packDir: string;
let app: string;

const inApp = (command: string, args: string[], timeout = 240_000) =>
  execa(command, args, { cwd: app, reject: false, timeout, env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: process.env.CI } });

beforeAll(async () => {
  // Outside the repository: nothing of it may be found by walking up from the project.
  packDir = await mkdtemp(path.join(os.tmpdir(), 'pgdrill-pack-'));
  app = await mkdtemp(path.join(os.tmpdir(), 'pgdrill-app-'));
  await execa('node', ['scripts/build.ts'], { cwd: REPO_ROOT });
  await execa('pnpm', ['pack', '--pack-destination', packDir], { cwd: REPO_ROOT });
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  // The tarball's dependencies come from the local pnpm store the repository was installed from.
  const add = await inApp('pnpm', ['add', '--save-dev', '--prefer-offline', '--reporter=silent', path.join(packDir, `pgdrill-${version}.tgz`)], 300_000);
  expect(add.exitCode, add.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  for (const dir of [packDir, app]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe('pgdrill installed from its tarball into a project of its own', () => {
  it('ships JavaScript only: no TypeScript source, tests or fixtures data in the package', async () => {
    const pkg = path.join(app, 'node_modules/pgdrill');
    const files = await readdir(pkg, { recursive: true });
    expect(files.some((f) => /(^|\/)test\//.test(f))).toBe(false);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('templates/init/'))).toEqual([]);
    expect(files).toContain('dist/bin/pgdrill.js');
    // The CLI runs from its bundle (scripts/build.ts); the library from the compiled modules.
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/src/index.js');
    expect(files).toContain('templates/report.hbs');
  });

  it('init, then demo: PASS, a PDF, and the project own check and drill test beside the built-in checks', async () => {
    const init = await inApp('pnpm', ['exec', 'pgdrill', 'init', '--organisation', 'Acme Health', '--system', 'Clinic records']);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stdout).toContain('created  pgdrill.config.ts');
    expect(init.stdout).toContain('Next steps:');
    const again = await inApp('pnpm', ['exec', 'pgdrill', 'init']);
    expect(again.stdout).toContain('skipped  pgdrill.config.ts (exists; left unchanged)');

    // A check of the project's own, beside the example drill file init wrote.
    await mkdir(path.join(app, 'checks'), { recursive: true });
    await writeFile(
      path.join(app, 'checks/lgas.ts'),
      `import { defineCheck } from 'pgdrill/drill';
export default defineCheck({
  id: 'app-lgas',
  title: 'App: local government areas restored',
  description: 'The project checks its own reference table.',
  async run({ db }) {
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.lgas');
    return rows[0]!.n > 0 ? { status: 'pass', summary: \`\${rows[0]!.n} LGAs\` } : { status: 'fail', summary: 'no LGAs' };
  },
});
`,
    );
    const demo = await inApp('pnpm', ['exec', 'pgdrill', 'demo', '--rows', '500'], 400_000);
    expect(demo.exitCode, `${demo.stdout}\n${demo.stderr}`).toBe(0);
    expect(demo.stdout).toMatch(/Drill drill-\S+: PASS/);
    const pdf = /^Report: (\S+\.pdf)$/m.exec(demo.stdout)?.[1];
    expect(pdf).toBeDefined();
    expect(pdf!.startsWith(path.join(app, 'reports'))).toBe(true);
    expect((await readFile(pdf!)).subarray(0, 5).toString()).toBe('%PDF-');

    const evidence = parseEvidence(await readFile(pdf!.replace(/\.pdf$/, '.json')));
    const byId = new Map(evidence.checks.map((c) => [c.id, c]));
    expect(byId.get('app-lgas')).toMatchObject({ status: 'pass', builtIn: false });
    expect(byId.get('no-audit-entry-is-dated-after-the-backup-was-taken')).toMatchObject({ status: 'pass', builtIn: false });
    for (const builtIn of ['record-counts', 'restore', 'tables-readable', 'schema-fingerprint']) expect(byId.get(builtIn)?.builtIn).toBe(true);
  });
});
