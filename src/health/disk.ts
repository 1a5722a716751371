import { statfs } from 'node:fs/promises';
import path from 'node:path';

/**
 * The share (0..1) of the file system holding `target` that is free for ordinary users, as `df`
 * counts it: available / (used + available), so `1 - ratio` is df's Use%. Blocks reserved for root
 * count as neither. A folder that does not exist yet (a store before its first backup) is measured
 * on the file system of its nearest existing parent, where it will be created.
 */
export async function diskFreeRatio(target: string): Promise<number> {
  let at = path.resolve(target);
  for (;;) {
    try {
      const stats = await statfs(at);
      const used = stats.blocks - stats.bfree;
      const usable = used + stats.bavail;
      // proc-like file systems report no blocks at all: nothing there can fill up.
      return usable > 0 ? stats.bavail / usable : 1;
    } catch (error) {
      const parent = path.dirname(at);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) throw error;
      at = parent;
    }
  }
}
