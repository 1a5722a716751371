import { randomBytes } from 'node:crypto';
import { chmod, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { PgdrillError } from '../errors/index.ts';

/**
 * Writes metrics for node_exporter's textfile collector so that it never reads a partial file: the
 * text goes to a hidden temp file in the same folder (same file system; the collector reads only
 * `*.prom`), is flushed to disk, made world-readable (node_exporter often runs as its own user),
 * then renamed over the target in one step. On failure the temp file is removed and the old file
 * stays as it was.
 */
export async function writeTextfile(file: string, text: string): Promise<void> {
  const target = path.resolve(file);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The umask may have narrowed the mode given to open.
    await chmod(temp, 0o644);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw new PgdrillError(`Cannot write the metrics textfile ${target}: ${(error as Error).message}`, {
      hint: "Check that its folder exists and is writable (node_exporter's --collector.textfile.directory)",
      cause: error,
    });
  }
}
