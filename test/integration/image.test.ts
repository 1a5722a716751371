// The container image (Dockerfile; built here without a registry by scripts/build-image.sh, which
// reuses pgdrill:<version> when present: the first build takes several minutes). `pgdrill demo`
// runs inside it once, as the image's own non-root user, with its working folder mounted so the
// PDF it reports can be read back.
import { readFileSync } from 'node:fs';
import { chmod, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { REPO_ROOT, tempDir } from '../helpers/pgdrill.ts';

const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const IMAGE = `pgdrill:${version}`;
const IMAGE_UID = 10001;
const BUILD_TIMEOUT_MS = 30 * 60_000;
const DEMO_TIMEOUT_MS = 10 * 60_000;

describe.skipIf(!inject('dockerAvailable'))(`container image ${IMAGE}`, () => {
  let work: string;

  beforeAll(async () => {
    const build = await execa('bash', [path.join(REPO_ROOT, 'scripts/build-image.sh'), IMAGE], {
      reject: false,
      all: true,
      timeout: BUILD_TIMEOUT_MS,
      stdin: 'ignore',
    });
    if (build.exitCode !== 0) throw new Error(`scripts/build-image.sh failed (exit ${build.exitCode}):\n${build.all}`);
    // Present or built: its last line says which, and how long a build took.
    console.log(build.stdout.trim().split('\n').at(-1));
    work = tempDir('image-work');
    // The image's user writes here; it is not this process's user.
    await chmod(work, 0o777);
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    // The demo's files belong to the image's user: remove them as that user, in a container.
    if (work) await execa('docker', ['run', '--rm', '-v', `${work}:/work`, '--entrypoint', 'find', IMAGE, '/work', '-mindepth', '1', '-delete'], { reject: false });
  });

  test('`docker run --rm IMAGE demo` passes and writes the PDF it names', async () => {
    const demo = await execa('docker', ['run', '--rm', '-v', `${work}:/work`, IMAGE, 'demo'], {
      reject: false,
      all: true,
      timeout: DEMO_TIMEOUT_MS,
      stdin: 'ignore',
    });
    expect(demo.exitCode, demo.all).toBe(0);
    expect(demo.stdout).toMatch(/^Drill drill-\S+: PASS$/m);
    const pdfInContainer = /^Report: (\/work\/\S+\.pdf)$/m.exec(demo.stdout)?.[1];
    expect(pdfInContainer, demo.stdout).toBeDefined();
    const pdf = path.join(work, path.relative('/work', pdfInContainer!));
    expect((await readFile(pdf)).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect((await stat(pdf)).uid).toBe(IMAGE_UID);
  }, DEMO_TIMEOUT_MS);

  test('runs as a non-root user', async () => {
    const id = await execa('docker', ['run', '--rm', '--entrypoint', 'id', IMAGE, '-u'], { reject: false });
    expect(id.exitCode, id.stderr).toBe(0);
    expect(Number(id.stdout.trim())).toBe(IMAGE_UID);
  });
});
