// Manual throughput check, not a test: `node scripts/crypto-throughput.ts [GiB] [chunkMiB] [rounds]`.
// Measures raw AES-256-GCM in Node as the ceiling, the encryptor and decryptor state machines on
// one core, then the same through Transform streams and stream.pipeline, with 1 MiB writes of
// random data. Each figure is the best of `rounds` (default 3): the machine may be shared.
import { createCipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StreamDecryptor, StreamEncryptor, createDecryptStream, createEncryptStream, generateKey, parseKeyring } from '../src/crypto/index.ts';

const MIB = 1024 * 1024;

const gib = Number(process.argv[2] ?? 2);
const chunkSize = Number(process.argv[3] ?? 1) * MIB;
const total = Math.round(gib * 1024) * MIB;
const rounds = Number(process.argv[4] ?? 3);
const source = randomBytes(64 * MIB);
const writeSize = MIB;
const { id, base64 } = generateKey('bench');
const keyring = parseKeyring(`${id}:${base64}`);

function* writes(): Generator<Buffer> {
  for (let at = 0; at < total; at += writeSize) {
    const from = at % source.length;
    yield source.subarray(from, from + writeSize);
  }
}

// Keep one encrypted sample (64 MiB of plaintext) to decrypt repeatedly.
const sampleParts: Buffer[] = [];
const sampler = new StreamEncryptor(keyring, { chunkSize }, (b) => sampleParts.push(b));
sampler.write(source);
sampler.finish();
const sample = Buffer.concat(sampleParts);

const best = new Map<string, number>();
async function measure(label: string, bytes: number, run: () => void | Promise<void>): Promise<void> {
  const started = process.hrtime.bigint();
  await run();
  const rate = bytes / (Number(process.hrtime.bigint() - started) / 1e9) / 1e9;
  best.set(label, Math.max(best.get(label) ?? 0, rate));
}

const rawKey = createSecretKey(randomBytes(32));
const sink = (): Writable => new Writable({ write: (_chunk, _encoding, callback) => callback() });
for (let round = 0; round < rounds; round++) {
  await measure('raw AES-256-GCM in Node (ceiling)', total, () => {
    let counter = 0;
    for (let at = 0; at < total; at += chunkSize) {
      const nonce = Buffer.alloc(12);
      nonce.writeUIntBE(counter++, 5, 6);
      const cipher = createCipheriv('aes-256-gcm', rawKey, nonce);
      const from = at % source.length;
      cipher.update(source.subarray(from, from + chunkSize));
      cipher.final();
      cipher.getAuthTag();
    }
  });
  await measure('encrypt (state machine)', total, () => {
    const encryptor = new StreamEncryptor(keyring, { chunkSize }, () => undefined);
    for (const w of writes()) encryptor.write(w);
    encryptor.finish();
  });
  await measure('decrypt (state machine)', total, () => {
    for (let done = 0; done < total; done += source.length) {
      const decryptor = new StreamDecryptor(keyring, () => undefined);
      for (let at = 0; at < sample.length; at += writeSize) decryptor.write(sample.subarray(at, at + writeSize));
      decryptor.finish();
    }
  });
  await measure('encrypt (Transform + pipeline)', total, () =>
    pipeline(Readable.from(writes()), createEncryptStream(keyring, { chunkSize }), sink()),
  );
  await measure('encrypt -> decrypt (pipeline, per plaintext byte)', total, () =>
    pipeline(Readable.from(writes()), createEncryptStream(keyring, { chunkSize }), createDecryptStream(keyring), sink()),
  );
}
console.log(`${(total / 2 ** 30).toFixed(1)} GiB per run, ${chunkSize / MIB} MiB chunks, best of ${rounds}:`);
for (const [label, rate] of best) console.log(`  ${label.padEnd(52)} ${rate.toFixed(2)} GB/s`);
console.log(`peak RSS ${(process.memoryUsage().rss / MIB).toFixed(0)} MiB (includes the 64 MiB source and the ~64 MiB sample)`);
