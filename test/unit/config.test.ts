import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../src/errors/index.ts';
import { loadConfig, PgdrillConfig, redactConfig, redactSecrets } from '../../src/config/index.ts';
import { generateKey } from '../../src/crypto/index.ts';
import { scratchDir } from '../helpers/scratch.ts';

function dirWithConfig(body: string): string {
  const dir = scratchDir('config');
  writeFileSync(path.join(dir, 'pgdrill.config.json'), body);
  return dir;
}

describe('loadConfig', () => {
  it('applies defaults when nothing is set', async () => {
    const config = await loadConfig({ env: {}, cwd: scratchDir('empty') });
    expect(config.retention).toEqual({ hourly: 0, daily: 7, weekly: 0, monthly: 84, quarterly: 0, yearly: 0 });
    expect(config.backup.compression).toBe('zstd');
    expect(config.sandbox.kind).toBe('auto');
    expect(config.storage.prefix).toBe('backups');
  });

  it('resolves flag > environment > config file > default', async () => {
    const cwd = dirWithConfig(JSON.stringify({ storage: { url: 's3://from-file/x' }, sandbox: { kind: 'docker' }, retention: { daily: 3 } }));
    const env = { PGDRILL_STORAGE: 's3://from-env/y', PGDRILL_SANDBOX: 'embedded' };
    const onlyFile = await loadConfig({ env: {}, cwd });
    expect(onlyFile.storage.url).toBe('s3://from-file/x');
    expect(onlyFile.retention).toEqual({ hourly: 0, daily: 3, weekly: 0, monthly: 84, quarterly: 0, yearly: 0 });
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

  it('names a misspelt key and never echoes a secret, in any error path', async () => {
    // Real, non-empty secrets: an empty one could not show a leak.
    for (const { name, body, expected } of badConfigs()) {
      const error = await loadConfig({ env: {}, cwd: dirWithConfig(body) }).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).exitCode).toBe(3);
      const message = (error as ConfigError).message;
      expect(message, name).toMatch(expected);
      for (const secret of Object.values(SECRETS)) assertNotShown(message, secret, name);
    }
  });

  it('redacts secrets set through the environment and flags in a validation error', async () => {
    const error = await loadConfig({
      env: {
        S3_SECRET_KEY: SECRETS.s3Secret,
        S3_ACCESS_KEY: SECRETS.s3Access,
        S3_ENDPOINT: `https://minio:${SECRETS.endpointPassword}@ not a url`,
        PGDRILL_REPORT_SIGNING_KEY: SECRETS.signingKey,
        DATABASE_URL: `postgres://app:${SECRETS.dbPassword}@db/oslrs`,
      },
      cwd: scratchDir('empty'),
      flags: { encryption: { keys: '' } },
    }).catch((e: unknown) => e as Error);
    const message = String(error);
    expect(message).toMatch(/storage\.s3\.endpoint: Invalid URL, got "https:\/\/\*\*\*@ not a url" \(string\) \(from environment S3_ENDPOINT\)/);
    expect(message).toMatch(/encryption\.keys: .*got "\*\*\* \(malformed\)" \(string\) \(from command-line flag\)/);
    for (const secret of Object.values(SECRETS)) assertNotShown(message, secret, 'environment');
  });

  it('rejects a misspelt key under every object of the schema, naming it (strict everywhere)', async () => {
    const paths = objectPaths(z.toJSONSchema(PgdrillConfig, { io: 'input', unrepresentable: 'any' }) as JsonSchema);
    expect(paths).toEqual(expect.arrayContaining(['', 'storage.s3', 'report.signoff', 'drill.loginRoles.0', 'report.controls.0', 'backup.auditChain', 'drill.canaries']));
    for (const at of paths) {
      const config: Record<string, unknown> = {};
      const target = at === '' ? config : makePath(config, at.split('.'));
      const typo = 'secretAcessKy';
      target[typo] = SECRETS.s3Secret;
      const error = await loadConfig({ env: {}, cwd: dirWithConfig(JSON.stringify(config)) }).catch((e: unknown) => e);
      expect(error, at).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message, at).toContain(`${at || '(root)'}: Unrecognized key: "${typo}"`);
      expect(message, at).not.toContain(SECRETS.s3Secret);
    }
  });

  it('reads the S3 timeouts from S3_CONNECT_TIMEOUT_MS and S3_REQUEST_TIMEOUT_MS, with defaults, and names a bad value', async () => {
    const cwd = scratchDir('empty');
    const defaults = await loadConfig({ env: {}, cwd });
    expect(defaults.storage.s3).toMatchObject({ connectTimeoutMs: 10_000, requestTimeoutMs: 60_000 });
    const set = await loadConfig({ env: { S3_CONNECT_TIMEOUT_MS: '2500', S3_REQUEST_TIMEOUT_MS: '90000' }, cwd });
    expect(set.storage.s3).toMatchObject({ connectTimeoutMs: 2500, requestTimeoutMs: 90_000 });
    const error = await loadConfig({ env: { S3_REQUEST_TIMEOUT_MS: '60s' }, cwd }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/storage\.s3\.requestTimeoutMs: .*got "60s" .*\(from environment S3_REQUEST_TIMEOUT_MS\)/);
  });

  it('loads a TypeScript config file with defineConfig', async () => {
    const dir = scratchDir('ts');
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
  it('hides every secret (database password, keys, S3 credentials, signing key) but keeps key ids and hosts', async () => {
    const config = await loadConfig({
      env: {
        DATABASE_URL: `postgres://app:${SECRETS.dbPassword}@db.internal:5432/oslrs?sslmode=require&sslpassword=${SECRETS.sslPassword}`,
        PGDRILL_ENCRYPTION_KEYS: `${KEY_2026.id}:${KEY_2026.base64},${KEY_2025.id}:${KEY_2025.base64}`,
        S3_ACCESS_KEY: SECRETS.s3Access,
        S3_SECRET_KEY: SECRETS.s3Secret,
        S3_ENDPOINT: `https://minio:${SECRETS.endpointPassword}@minio.internal:9000`,
        PGDRILL_REPORT_SIGNING_KEY: SECRETS.signingKey,
      },
      cwd: dirWithConfig(JSON.stringify({ drill: { loginRoles: [{ name: 'oslrs_app', passwordEnv: 'APP_PASSWORD' }] } })),
    });
    expect(config.report.signingKey).toBe(SECRETS.signingKey);
    const printed = JSON.stringify(redactConfig(config));
    for (const secret of [...Object.values(SECRETS), KEY_2026.base64, KEY_2025.base64]) assertNotShown(printed, secret, 'printed config');
    expect(printed).toContain('k2026, k2025');
    expect(printed).toContain('db.internal');
    expect(printed).toContain('sslmode=require');
    expect(printed).toContain('"passwordEnv":"APP_PASSWORD"');
  });

  it('masks by name at any depth, so one rule serves errors and the printed config', () => {
    expect(redactSecrets({ a: { token: 't0ken-value', list: [{ password: 'pw-value', user: 'u' }] } })).toEqual({
      a: { token: '***', list: [{ password: '***', user: 'u' }] },
    });
    expect(redactSecrets('pw-value', ['storage', 's3', 'secretAccessKey'])).toBe('***');
    expect(redactSecrets('k1:not-a-key', ['encryption', 'keys'])).toBe('*** (malformed)');
    expect(redactSecrets('ENV_NAME', ['drill', 'canaries', 'passwordEnv'])).toBe('ENV_NAME');
    expect(redactSecrets('postgres://u:p%40ss@h/db?password=x&application_name=a')).toBe('postgres://u:***@h/db?password=***&application_name=a');
    expect(redactSecrets('s3://AKIAIOSFODNN7EXAMPLE:secret@bucket/x')).toBe('s3://***@bucket/x');
  });
});

// --- helpers -----------------------------------------------------------------------------------

const KEY_2026 = generateKey('k2026');
const KEY_2025 = generateKey('k2025');
const SIGNING_KEY = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** One real, distinct, non-empty value per kind of secret. */
const SECRETS = {
  encryptionKey: generateKey('k1').base64,
  s3Secret: 'wJalrXUtnFEMI-K7MDENG-bPxRfiCY-EXAMPLEKEY',
  s3Access: 'AKIAIOSFODNN7EXAMPLE',
  dbPassword: 'hunter2-Db-Passw0rd',
  sslPassword: 'ssl-Key-Passphrase-99',
  endpointPassword: 'minio-Endpoint-Secret-7',
  signingKey: SIGNING_KEY,
  token: 'ghp_0123456789abcdefghijABCDEFGHIJ',
};

/** The secret, and any 8 characters of it, are absent (a truncated "got …" could show a part). */
function assertNotShown(text: string, secret: string, context: string): void {
  const core = secret.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');
  for (let i = 0; i + 8 <= core.length; i += 4) expect(text, `${context}: ${core.slice(i, i + 8)}`).not.toContain(core.slice(i, i + 8));
}

function badConfigs(): Array<{ name: string; body: string; expected: RegExp }> {
  const keyring = `k1:${SECRETS.encryptionKey}`;
  return [
    // issue 11 item 3, as reported
    { name: 'unknown key beside encryption.keys', body: JSON.stringify({ encryption: { keys: keyring, allowUnencypted: false } }), expected: /encryption: Unrecognized key: "allowUnencypted" \(in pgdrill\.config\.json\)/ },
    {
      name: 'unknown key beside storage.s3 credentials',
      body: JSON.stringify({ storage: { url: 's3://bucket/x', s3: { accessKeyId: SECRETS.s3Access, secretAccessKey: SECRETS.s3Secret }, bogus: 1 } }),
      expected: /storage: Unrecognized key: "bogus"/,
    },
    { name: 'misspelt keys', body: JSON.stringify({ encryption: { kyes: keyring } }), expected: /encryption: Unrecognized key: "kyes"/ },
    { name: 'misspelt signing key', body: JSON.stringify({ report: { signinKy: SECRETS.signingKey } }), expected: /report: Unrecognized key: "signinKy"/ },
    { name: 'misspelt S3 secret', body: JSON.stringify({ storage: { s3: { secretAcessKey: SECRETS.s3Secret } } }), expected: /storage\.s3: Unrecognized key: "secretAcessKey"/ },
    { name: 'unknown token at the root', body: JSON.stringify({ apiToken: SECRETS.token }), expected: /\(root\): Unrecognized key: "apiToken" \(in pgdrill\.config\.json\)/ },
    { name: 'a keyring where the section belongs', body: JSON.stringify({ encryption: keyring }), expected: /encryption: .*expected object.*got a value of type string/ },
    { name: 'a bad signing key type', body: JSON.stringify({ report: { signingKey: [SECRETS.signingKey] } }), expected: /report\.signingKey: .*expected string.*got "\*\*\*" \(array\)/ },
    {
      name: 'an object printed whole',
      body: JSON.stringify({ drill: { loginRoles: { name: 'oslrs_app', password: SECRETS.dbPassword, token: SECRETS.token } } }),
      expected: /drill\.loginRoles: .*expected array.*got \{"name":"oslrs_app","password":"\*\*\*","token":"\*\*\*"\} \(object\)/,
    },
    {
      name: 'a database URL with a password',
      body: JSON.stringify({ databaseUrl: [`postgres://app:${SECRETS.dbPassword}@db/oslrs?password=${SECRETS.sslPassword}`] }),
      expected: /databaseUrl: .*got \["postgres:\/\/app:\*\*\*@db\/oslrs\?password=\*\*\*"\] \(array\)/,
    },
    // V8 quotes ten characters on each side of a JSON syntax error: here, part of the key
    { name: 'JSON syntax error inside a key', body: `{\n  "encryption": {\n    "keys": ${keyring}\n  }\n}`, expected: /Unexpected token 'k' in JSON at line 3 column 13/ },
  ];
}

type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; items?: JsonSchema; anyOf?: JsonSchema[]; propertyNames?: JsonSchema };

/** Dotted paths of every object in the schema (array elements as `.0`). */
function objectPaths(schema: JsonSchema, at = ''): string[] {
  // A record (pitr.options: pgBackRest's own option names) is an open map by design: its keys are checked by pattern instead.
  const own = schema.type === 'object' && schema.propertyNames === undefined ? [at] : [];
  const children = Object.entries(schema.properties ?? {}).flatMap(([key, child]) => objectPaths(child, at ? `${at}.${key}` : key));
  const items = schema.items ? objectPaths(schema.items, `${at}.0`) : [];
  const variants = (schema.anyOf ?? []).flatMap((variant) => objectPaths(variant, at));
  return [...new Set([...own, ...children, ...items, ...variants])];
}

/** Creates the objects (or one-element arrays, for numeric parts) along `parts`; returns the last. */
function makePath(root: Record<string, unknown>, parts: string[]): Record<string, unknown> {
  let node: Record<string, unknown> | unknown[] = root;
  parts.forEach((part, i) => {
    const nextIsIndex = /^\d+$/.test(parts[i + 1] ?? '');
    const child = nextIsIndex ? [] : {};
    (node as Record<string, unknown>)[part] ??= child;
    node = (node as Record<string, unknown>)[part] as Record<string, unknown> | unknown[];
  });
  return node as Record<string, unknown>;
}
