import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p` that fails with the real cause. Node's recursive mkdir reports ENOENT when a missing
 * folder cannot be created for another reason (EROFS on a read-only file system, for one); the
 * first missing folder is then created alone, which fails with the real error.
 */
export async function makeDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    let missing = path.resolve(dir);
    while (!existsSync(path.dirname(missing)) && path.dirname(missing) !== missing) missing = path.dirname(missing);
    // Fails with the real cause; if it succeeds instead (or a concurrent mkdir won), carry on one level deeper.
    await mkdir(missing).catch((cause: NodeJS.ErrnoException) => {
      if (cause.code !== 'EEXIST') throw cause;
    });
    await makeDirectory(dir);
  }
}
