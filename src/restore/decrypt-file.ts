import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createDecryptStream, ENCRYPTION_KEYS_ENV, looksEncrypted, type Keyring } from '../crypto/index.ts';
import { ConfigError } from '../errors/index.ts';
import { createDecompressStream, HashTap, pipeAll, type CompressionAlgorithm } from '../streams/index.ts';

// `pgdrill decrypt FILE --out FILE`: a stored object downloaded by hand (the admin page's download)
// turned back into what pg_dump wrote: every chunk authenticated, then decompressed by the file's
// extension. The output appears only when all of it checked out.

/** The compression a stored object's name says (`….dump.zst.enc` → zstd). */
export function compressionOfFile(file: string): CompressionAlgorithm {
  const name = path.basename(file).replace(/\.enc$/, '');
  return name.endsWith('.zst') ? 'zstd' : name.endsWith('.gz') ? 'gzip' : 'none';
}

export async function decryptFile(options: { input: string; output: string; keyring: Keyring | null; signal?: AbortSignal }): Promise<{ bytes: number; sha256: string; encrypted: boolean }> {
  const { input, output } = options;
  if (await stat(output).catch(() => undefined)) throw new ConfigError(`${output} exists`, { hint: 'Choose another --out, or remove the file first' });
  const head = Buffer.alloc(16);
  const handle = await open(input, 'r').catch((error: unknown) => {
    throw new ConfigError(`Cannot read ${input}: ${(error as Error).message}`, { hint: 'Give the path of the downloaded .enc file' });
  });
  const { bytesRead } = await handle.read(head, 0, head.length, 0).finally(() => handle.close());
  const encrypted = looksEncrypted(head.subarray(0, bytesRead));
  if (encrypted && !options.keyring) {
    throw new ConfigError(`${input} is encrypted and ${ENCRYPTION_KEYS_ENV} is not set`, { hint: `Set ${ENCRYPTION_KEYS_ENV} to the keyring that holds the backup's key (its id is in the manifest)` });
  }
  const partial = `${output}.partial`;
  const tap = new HashTap();
  try {
    await pipeAll(
      [
        createReadStream(input),
        ...(encrypted ? [createDecryptStream(options.keyring!)] : []),
        createDecompressStream(compressionOfFile(input)),
        tap,
        createWriteStream(partial, { flags: 'wx', mode: 0o600 }),
      ],
      options.signal,
    );
    await rename(partial, output);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { bytes: tap.bytes, sha256: tap.digest(), encrypted };
}
