import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.ts';
import { loadConfig, redactConfig } from '../../src/config/index.ts';

function dirWithConfig(body: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgdrill-config-'));
  writeFileSync(path.join(dir, 'pgdrill.config.json'), body);
  return dir;
}

describe('loadConfig', () => {
  it('applies defaults when nothing is set', async () => {
    const config = await loadConfig({ env: {}, cwd: mkdtempSync(path.join(tmpdir(), 'pgdrill-empty-')) });
    expect(config.retention).toEqual({ daily: 7, weekly: 0, monthly: 84 });
    expect(config.backup.compression).toBe('zstd');
    expect(config.sandbox.kind).toBe('auto');
    expect(config.storage.prefix).toBe('backups');
  });

  it('resolves flag > environment > config file > default', async () => {
    const cwd = dirWithConfig(JSON.stringify({ storage: { url: 's3://from-file/x' }, sandbox: { kind: 'docker' }, retention: { daily: 3 } }));
    const env = { PGDRILL_STORAGE: 's3://from-env/y', PGDRILL_SANDBOX: 'embedded' };
    const onlyFile = await loadConfig({ env: {}, cwd });
    expect(onlyFile.storage.url).toBe('s3://from-file/x');
    expect(onlyFile.retention).toEqual({ daily: 3, weekly: 0, monthly: 84 });
    const withEnv = await loadConfig({ env, cwd });
    expect(withEnv.storage.url).toBe('s3://from-env/y');
    expect(withEnv.sandbox.kind).toBe('embedded');
    const withFlags = await loadConfig({ env, cwd, flags: { storage: { url: './from-flag' } } });
    expect(withFlags.storage.url).toBe('./from-flag');
    expect(withFlags.sandbox.kind).toBe('embedded');
  });

  it('names the key, the bad value, its source and the expected form', async () => {
    const cwd = dirWithConfig(JSON.stringify({ retention: { monthly: -1 } }));
    const error = await loadConfig({ env: { PGDRILL_SANDBOX: 'kubernetes' }, cwd }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/sandbox\.kind: .*"auto".*got "kubernetes" \(string\) \(from environment PGDRILL_SANDBOX\)/);
    expect(message).toMatch(/retention\.monthly: .*>=0.*got -1 \(number\) \(from pgdrill\.config\.json\)/);
    expect((error as ConfigError).exitCode).toBe(3);
  });

  it('never echoes a secret in a validation error', async () => {
    const error = await loadConfig({
      env: { S3_SECRET_KEY: 'x', S3_ENDPOINT: 'not a url with secret-ish', PGDRILL_ENCRYPTION_KEYS: '' },
      cwd: mkdtempSync(path.join(tmpdir(), 'pgdrill-empty-')),
      flags: { storage: { s3: { secretAccessKey: '' } } },
    }).catch((e: unknown) => e as Error);
    expect(String(error)).toMatch(/secretAccessKey: .*got \(redacted\)/);
  });

  it('reads the S3 timeouts from S3_CONNECT_TIMEOUT_MS and S3_REQUEST_TIMEOUT_MS, with defaults, and names a bad value', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'pgdrill-empty-'));
    const defaults = await loadConfig({ env: {}, cwd });
    expect(defaults.storage.s3).toMatchObject({ connectTimeoutMs: 10_000, requestTimeoutMs: 60_000 });
    const set = await loadConfig({ env: { S3_CONNECT_TIMEOUT_MS: '2500', S3_REQUEST_TIMEOUT_MS: '90000' }, cwd });
    expect(set.storage.s3).toMatchObject({ connectTimeoutMs: 2500, requestTimeoutMs: 90_000 });
    const error = await loadConfig({ env: { S3_REQUEST_TIMEOUT_MS: '60s' }, cwd }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/storage\.s3\.requestTimeoutMs: .*got "60s" .*\(from environment S3_REQUEST_TIMEOUT_MS\)/);
  });

  it('loads a TypeScript config file with defineConfig', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pgdrill-ts-'));
    const configModule = path.resolve('src/config/index.ts');
    writeFileSync(
      path.join(dir, 'pgdrill.config.ts'),
      `import { defineConfig } from ${JSON.stringify(configModule)};\nexport default defineConfig({ report: { organisation: 'Test Org' } });\n`,
    );
    const config = await loadConfig({ env: {}, cwd: dir });
    expect(config.report.organisation).toBe('Test Org');
  });
});

describe('redactConfig', () => {
  it('hides passwords, keys and S3 secrets but keeps key ids', async () => {
    const config = await loadConfig({
      env: {
        DATABASE_URL: 'postgres://app:hunter2@db.internal:5432/oslrs',
        PGDRILL_ENCRYPTION_KEYS: 'k2026:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,k2025:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=',
        S3_ACCESS_KEY: 'AKIAEXAMPLE',
        S3_SECRET_KEY: 'wJalrXUtnFEMI',
      },
      cwd: mkdtempSync(path.join(tmpdir(), 'pgdrill-empty-')),
    });
    const printed = JSON.stringify(redactConfig(config));
    for (const secret of ['hunter2', 'AAAAAAAA', 'BBBBBBBB', 'AKIAEXAMPLE', 'wJalrXUtnFEMI']) expect(printed).not.toContain(secret);
    expect(printed).toContain('k2026, k2025');
    expect(printed).toContain('db.internal');
  });
});
