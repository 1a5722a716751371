import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as first from '../../src/lifecycle/index.ts';

const folder = mkdtempSync(path.join(tmpdir(), 'pgdrill-lifecycle-'));
afterEach(() => {
  first.setLeftoverFolder(undefined);
  rmSync(folder, { recursive: true, force: true });
});

describe('the lifecycle state is one per process', () => {
  it('a second copy of the module (the bundled CLI beside the built modules a drill setup loads) shares cleanups and leftover records', async () => {
    // The same file under another URL: a module instance of its own, as in the bundled CLI.
    const second = (await import(new URL('../../src/lifecycle/index.ts?second-copy', import.meta.url).href)) as typeof first;
    expect(second).not.toBe(first);

    first.setLeftoverFolder(folder);
    let ran = 0;
    second.registerCleanup({ kind: 'thing(s)', label: 'a thing of the second copy', run: async () => void (ran += 1), runSync: () => {}, leftover: { folders: [path.join(folder, 'made')] } });
    // Recorded in the folder the first copy set, and run by the first copy's cleanup pass.
    expect(readdirSync(folder).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    expect(await first.runCleanups()).toEqual([]);
    expect(ran).toBe(1);
    expect(await second.runCleanups()).toEqual([]);
    expect(ran).toBe(1);
  });
});
