import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { registerCleanup } from '../lifecycle/index.ts';

// Sorted lists of SHA-256 digests (32 bytes each, no separator) without holding them in memory: an
// external sort (sorted runs spilled to a private temp folder, merged with a heap) and merges of
// sorted streams. The file manifest is sorted by key; retention needs the contents it refers to
// sorted by digest, to merge them against the content store's listing (which is in digest order).

export const DIGEST_BYTES = 32;

/** Digests held in memory before a sorted run is written out (about 8 MB of hex strings). */
const RUN_DIGESTS = 65_536;

/** A private temp folder, removed by `remove()` or, if that never runs, on a signal or at exit. */
export interface ScratchFolder {
  path: string;
  remove(): Promise<void>;
}

export async function scratchFolder(purpose: string): Promise<ScratchFolder> {
  const folder = await mkdtemp(path.join(os.tmpdir(), `pgdrill-${purpose}-`));
  const unregister = registerCleanup({ kind: 'temp folder(s)', label: folder, run: () => remove(), runSync: () => rmSync(folder, { recursive: true, force: true }) });
  const remove = async (): Promise<void> => {
    unregister();
    await rm(folder, { recursive: true, force: true });
  };
  return { path: folder, remove };
}

/** Writes a buffer, waiting when the stream asks to. */
export async function writeTo(stream: Writable, data: Buffer | string): Promise<void> {
  if (!stream.write(data)) await once(stream, 'drain');
}

async function closeStream(stream: Writable): Promise<void> {
  stream.end();
  await once(stream, 'close');
}

/**
 * Fixed-size records (32-byte digests) of a byte stream. Records inside a chunk are views of it
 * (chunks are never reused by Node streams); one that spans chunks is copied.
 */
export async function* readDigests(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry: Buffer | undefined;
  for await (const chunk of source) {
    let data = chunk;
    if (carry) {
      data = Buffer.concat([carry, chunk]);
      carry = undefined;
    }
    const whole = data.length - (data.length % DIGEST_BYTES);
    for (let at = 0; at < whole; at += DIGEST_BYTES) yield data.subarray(at, at + DIGEST_BYTES);
    if (whole < data.length) carry = Buffer.from(data.subarray(whole));
  }
  if (carry) throw new Error(`a digest list ends with ${carry.length} stray byte(s): it is truncated or not a digest list`);
}

/** Merges ascending digest streams into one ascending stream without duplicates (a binary heap over the heads). */
export async function* mergeDigests(sources: ReadonlyArray<AsyncIterable<Buffer>>): AsyncGenerator<Buffer> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const heap: Array<{ head: Buffer; from: number }> = [];
  const less = (i: number, j: number) => Buffer.compare(heap[i]!.head, heap[j]!.head) < 0;
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j]!, heap[i]!]);
  const push = (item: { head: Buffer; from: number }) => {
    heap.push(item);
    for (let i = heap.length - 1; i > 0 && less(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
  };
  const popTop = () => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(l, m)) m = l;
        if (r < heap.length && less(r, m)) m = r;
        if (m === i) break;
        swap(i, m);
        i = m;
      }
    }
    return top;
  };
  try {
    for (let from = 0; from < iterators.length; from++) {
      const next = await iterators[from]!.next();
      if (!next.done) push({ head: next.value, from });
    }
    let last: Buffer | undefined;
    while (heap.length > 0) {
      const { head, from } = popTop();
      if (!last || !last.equals(head)) {
        if (last && Buffer.compare(last, head) > 0) throw new Error('a digest list is not sorted');
        last = head;
        yield head;
      }
      const next = await iterators[from]!.next();
      if (!next.done) push({ head: next.value, from });
    }
  } finally {
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}

/**
 * Collects hex digests in any order and gives them back sorted and distinct, in bounded memory:
 * every RUN_DIGESTS a sorted run goes to a temp folder; `sorted()` merges the runs.
 */
export class DigestSorter {
  private pending: string[] = [];
  private readonly runs: string[] = [];
  private folder: ScratchFolder | undefined;

  async add(sha256: string): Promise<void> {
    this.pending.push(sha256);
    if (this.pending.length >= RUN_DIGESTS) await this.spill();
  }

  /** The digests, ascending and distinct, as 32-byte buffers. */
  async *sorted(): AsyncGenerator<Buffer> {
    // Lowercase hex sorts like the bytes it encodes.
    const inMemory = this.pending.sort();
    this.pending = [];
    const memoryRun = async function* () {
      for (const hex of inMemory) yield Buffer.from(hex, 'hex');
    };
    const runs = this.runs.map((file) => readDigests(createReadStream(file, { highWaterMark: 64 * 1024 })));
    yield* mergeDigests([...runs, memoryRun()]);
  }

  async remove(): Promise<void> {
    await this.folder?.remove();
  }

  private async spill(): Promise<void> {
    this.folder ??= await scratchFolder('digests');
    const file = path.join(this.folder.path, `run-${this.runs.length}`);
    const out = createWriteStream(file);
    const sorted = this.pending.sort();
    this.pending = [];
    const block = Buffer.allocUnsafe(1024 * DIGEST_BYTES);
    for (let i = 0; i < sorted.length; i += 1024) {
      const part = sorted.slice(i, i + 1024);
      part.forEach((hex, j) => block.write(hex, j * DIGEST_BYTES, 'hex'));
      await writeTo(out, Buffer.from(block.subarray(0, part.length * DIGEST_BYTES)));
    }
    await closeStream(out);
    this.runs.push(file);
  }
}
