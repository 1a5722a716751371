// Upload candidate of `pnpm bench`, run as its own process so its peak RSS can be measured: puts
// one local file (a backup's stored dump object) into the s3rver bucket and prints one JSON line
// with the upload's wall time. Mode (argv[2]):
//   pgdrill    pgdrill's storage front and S3 driver, the body streamed from the file without a
//              length, exactly as a backup streams its pipeline (multipart, default part size);
//   putobject  one plain PutObject of the same bytes, read into memory first (untimed), with the
//              SDK's default client and the checksum setting pgdrill uses for a custom endpoint.
// Inputs via the environment: PGDRILL_BENCH_FILE, PGDRILL_BENCH_KEY, and for `pgdrill` the
// PGDRILL_STORAGE / S3_* variables of the CLI, for `putobject` S3_ENDPOINT, S3_REGION,
// S3_ACCESS_KEY, S3_SECRET_KEY and PGDRILL_BENCH_BUCKET.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config/index.ts';
import { openStorage } from '../../src/storage/index.ts';

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const mode = process.argv[2];
const file = need('PGDRILL_BENCH_FILE');
const key = need('PGDRILL_BENCH_KEY');

let ms: number;
let bytes: number;
if (mode === 'pgdrill') {
  const config = await loadConfig({ env: process.env, cwd: process.cwd() });
  const storage = openStorage(config);
  try {
    const started = performance.now();
    const object = await storage.put(key, createReadStream(file));
    ms = performance.now() - started;
    bytes = object.size;
  } finally {
    await storage.close();
  }
} else if (mode === 'putobject') {
  const client = new S3Client({
    endpoint: need('S3_ENDPOINT'),
    region: need('S3_REGION'),
    credentials: { accessKeyId: need('S3_ACCESS_KEY'), secretAccessKey: need('S3_SECRET_KEY') },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const body = await readFile(file);
  try {
    const started = performance.now();
    await client.send(new PutObjectCommand({ Bucket: need('PGDRILL_BENCH_BUCKET'), Key: key, Body: body, ContentLength: body.length }));
    ms = performance.now() - started;
    bytes = body.length;
  } finally {
    client.destroy();
  }
} else {
  throw new Error(`usage: s3-upload.ts pgdrill|putobject (got ${String(mode)})`);
}
process.stdout.write(`${JSON.stringify({ ms, bytes })}\n`);
