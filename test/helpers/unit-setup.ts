import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Unit tests make throwaway folders with os.tmpdir(); they all go under one root per run (the
// workers inherit TMPDIR), removed at the end, so a run leaves nothing in /tmp.
export default function setup(): () => void {
  const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'pgdrill-unit-'));
  process.env.TMPDIR = tmpRoot;
  return () => rmSync(tmpRoot, { recursive: true, force: true });
}
