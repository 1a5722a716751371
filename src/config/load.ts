import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { ConfigError } from '../errors/index.ts';
import { redactSecrets } from './redact.ts';
import { PgdrillConfig, type PgdrillConfigInput } from './schema.ts';

/** Typed identity for `pgdrill.config.ts`: `export default defineConfig({ ... })`. */
export function defineConfig(config: PgdrillConfigInput): PgdrillConfigInput {
  return config;
}

type Parse = (raw: string) => unknown;
const asString: Parse = (raw) => raw;
/** Digits become a number; anything else stays a string, so the schema rejects it naming the variable. */
const asInteger: Parse = (raw) => (/^\d+$/.test(raw.trim()) ? Number(raw) : raw);
const asNumberList: Parse = (raw) => (/^\s*\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*\s*$/.test(raw) ? raw.split(',').map((n) => Number(n.trim())) : raw);
/** `a@x.org, b@y.org` → ['a@x.org', 'b@y.org'] (empty items dropped). */
const asList: Parse = (raw) => raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
const asBoolean: Parse = (raw) => (/^(1|true|yes|on)$/i.test(raw) ? true : /^(0|false|no|off)$/i.test(raw) ? false : raw);

/** Environment variables every command reads, and the config path each sets. */
export const ENVIRONMENT: ReadonlyArray<{ name: string; path: string; parse: Parse }> = [
  { name: 'DATABASE_URL', path: 'databaseUrl', parse: asString },
  { name: 'PGDRILL_STORAGE', path: 'storage.url', parse: asString },
  { name: 'PGDRILL_STORAGE_PREFIX', path: 'storage.prefix', parse: asString },
  { name: 'S3_ENDPOINT', path: 'storage.s3.endpoint', parse: asString },
  { name: 'S3_REGION', path: 'storage.s3.region', parse: asString },
  { name: 'S3_ACCESS_KEY', path: 'storage.s3.accessKeyId', parse: asString },
  { name: 'S3_SECRET_KEY', path: 'storage.s3.secretAccessKey', parse: asString },
  { name: 'S3_FORCE_PATH_STYLE', path: 'storage.s3.forcePathStyle', parse: asBoolean },
  { name: 'S3_REQUEST_CHECKSUM_CALCULATION', path: 'storage.s3.requestChecksumCalculation', parse: asString },
  { name: 'S3_RESPONSE_CHECKSUM_VALIDATION', path: 'storage.s3.responseChecksumValidation', parse: asString },
  { name: 'S3_CONNECT_TIMEOUT_MS', path: 'storage.s3.connectTimeoutMs', parse: asInteger },
  { name: 'S3_REQUEST_TIMEOUT_MS', path: 'storage.s3.requestTimeoutMs', parse: asInteger },
  { name: 'PGDRILL_ENCRYPTION_KEYS', path: 'encryption.keys', parse: asString },
  { name: 'PGDRILL_ALLOW_UNENCRYPTED', path: 'encryption.allowUnencrypted', parse: asBoolean },
  { name: 'PGDRILL_SANDBOX', path: 'sandbox.kind', parse: asString },
  { name: 'PGDRILL_SANDBOX_IMAGE', path: 'sandbox.image', parse: asString },
  { name: 'PGDRILL_PG_BINDIR', path: 'sandbox.binDir', parse: asString },
  { name: 'PGDRILL_PG_BINDIR', path: 'backup.binDir', parse: asString },
  { name: 'PUPPETEER_EXECUTABLE_PATH', path: 'report.chromiumPath', parse: asString },
  { name: 'PGDRILL_REPORT_SIGNING_KEY', path: 'report.signingKey', parse: asString },
  { name: 'PGDRILL_REPORTS_DIR', path: 'report.outDir', parse: asString },
  { name: 'REDIS_URL', path: 'service.redisUrl', parse: asString },
  { name: 'PGDRILL_STATE_DIR', path: 'service.stateDir', parse: asString },
  { name: 'PGDRILL_RETRY_BACKOFF', path: 'service.retryBackoffSeconds', parse: asNumberList },
  { name: 'PGDRILL_API_TOKENS', path: 'service.api.tokens', parse: asList },
  { name: 'PGDRILL_API_PASSWORD_HASH', path: 'service.api.passwordHash', parse: asString },
  { name: 'PGDRILL_API_PUBLIC_URL', path: 'service.api.publicUrl', parse: asString },
  { name: 'PGDRILL_SMTP_URL', path: 'notify.email.smtpUrl', parse: asString },
  { name: 'PGDRILL_SMTP_PASSWORD', path: 'notify.email.password', parse: asString },
  { name: 'PGDRILL_MAIL_FROM', path: 'notify.email.from', parse: asString },
  { name: 'PGDRILL_NOTIFY_EMAIL', path: 'notify.email.to', parse: asList },
  { name: 'PGDRILL_NOTIFY_ON_SUCCESS', path: 'notify.onSuccess', parse: asString },
  { name: 'PGDRILL_WEBHOOK_FORMAT', path: 'notify.webhookFormat', parse: asString },
];

type Layer = { name: string; values: Record<string, unknown>; describe(pathKey: string): string };

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    node = (typeof next === 'object' && next !== null ? next : (node[part] = {})) as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function hasPath(source: Record<string, unknown>, dotted: string): boolean {
  let node: unknown = source;
  for (const part of dotted.split('.')) {
    if (typeof node !== 'object' || node === null || !(part in node)) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return node !== undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Later layers win; objects merge key by key, arrays and scalars replace. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? merge(out[key] as Record<string, unknown>, value) : value;
  }
  return out;
}

export interface LoadConfigOptions {
  /** Values from command-line flags, already shaped like the config (highest precedence). */
  flags?: PgdrillConfigInput;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Explicit config file (`--config`); default `pgdrill.config.ts|js|mjs|json` in cwd, or PGDRILL_CONFIG. */
  configFile?: string;
}

const CONFIG_FILES = ['pgdrill.config.ts', 'pgdrill.config.mjs', 'pgdrill.config.js', 'pgdrill.config.json'];

/** V8 quotes this many characters on each side of an unexpected token in JSON. */
const JSON_CONTEXT = 10;

/**
 * A JSON syntax error without the text V8 quotes around the bad token (it may be part of a key or
 * password), with the token's line and column instead.
 */
function jsonSyntaxError(source: string, error: Error): Error {
  const quoted = /^(.*), (\.\.\.)?"(.*)"(\.\.\.)? is not valid JSON$/s.exec(error.message);
  if (!quoted) return error;
  const [, what, cutBefore, snippet = '', cutAfter] = quoted;
  const position = cutBefore ? source.indexOf(snippet) + JSON_CONTEXT : cutAfter ? snippet.length - JSON_CONTEXT : -1;
  const lines = source.slice(0, Math.max(position, 0)).split('\n');
  const where = position >= 0 ? ` at line ${lines.length} column ${lines.at(-1)!.length + 1}` : '';
  return new Error(`${what} in JSON${where}`);
}

async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  try {
    let value: unknown;
    if (file.endsWith('.json')) {
      const source = await readFile(file, 'utf8');
      try {
        value = JSON.parse(source);
      } catch (error) {
        throw jsonSyntaxError(source, error as Error);
      }
    } else {
      value = ((await import(pathToFileURL(file).href)) as { default?: unknown }).default ?? {};
    }
    if (!isPlainObject(value)) throw new Error(file.endsWith('.json') ? 'it does not hold a JSON object' : 'its default export is not an object');
    return value;
  } catch (error) {
    throw new ConfigError(`Cannot load config file ${file}: ${(error as Error).message}`, {
      hint: 'Fix the file or pass another with --config',
      cause: error,
    });
  }
}

/**
 * The offending value as it may be shown (see redactSecrets). An unrecognized key's value is never
 * shown: a misspelt name may hold a secret that no name rule recognises, so the message names the
 * key only. Nor is a scalar where a section belongs: it may be a value typed one level too high
 * (`"encryption": "id:key"`).
 */
function describeValue(issue: z.core.$ZodIssue, value: unknown): string | undefined {
  if (issue.code === 'unrecognized_keys') return undefined;
  if (value === undefined) return 'nothing';
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (issue.code === 'invalid_type' && issue.expected === 'object') return `a value of type ${type}`;
  const text = JSON.stringify(redactSecrets(value, issue.path));
  return `${text.length > 80 ? `${text.slice(0, 77)}...` : text} (${type})`;
}

function formatIssues(issues: readonly z.core.$ZodIssue[], layers: Layer[]): string {
  return issues
    .map((issue) => {
      const key = issue.path.join('.');
      // An unknown key is found where it was written, by its own path.
      const written = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]].join('.') : key;
      const layer = [...layers].reverse().find((l) => hasPath(l.values, written));
      let got: unknown = undefined;
      if (layer) {
        got = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], layer.values);
      }
      const shown = describeValue(issue, got);
      const from = layer ? ` (${shown === undefined ? 'in' : 'from'} ${layer.describe(key)})` : '';
      return `  - ${key || '(root)'}: ${issue.message}${shown === undefined ? '' : `, got ${shown}`}${from}`;
    })
    .join('\n');
}

/**
 * Resolves the configuration: flag > environment > config file > defaults, validated by one zod
 * schema. Errors name the key, the value (secrets redacted), where it came from and what is expected.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<PgdrillConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();

  const fileName = options.configFile ?? env.PGDRILL_CONFIG;
  const file = fileName ? path.resolve(cwd, fileName) : CONFIG_FILES.map((f) => path.join(cwd, f)).find((f) => existsSync(f));
  if (fileName && !existsSync(file!)) {
    throw new ConfigError(`Config file ${file} does not exist`, { hint: 'Check --config / PGDRILL_CONFIG' });
  }
  const layers: Layer[] = [];
  if (file) {
    layers.push({ name: 'file', values: await readConfigFile(file), describe: () => path.basename(file) });
  }
  const envValues: Record<string, unknown> = {};
  for (const entry of ENVIRONMENT) {
    const raw = env[entry.name];
    if (raw !== undefined && raw !== '') setPath(envValues, entry.path, entry.parse(raw));
  }
  layers.push({
    name: 'env',
    values: envValues,
    describe: (key) => `environment ${ENVIRONMENT.find((e) => e.path === key)?.name ?? ''}`.trim(),
  });
  layers.push({ name: 'flags', values: (options.flags ?? {}) as Record<string, unknown>, describe: () => 'command-line flag' });

  const merged = layers.reduce<Record<string, unknown>>((acc, layer) => merge(acc, layer.values), {});
  const result = PgdrillConfig.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(`Invalid configuration:\n${formatIssues(result.error.issues, layers)}`, {
      hint: 'Fix the values above (see README "Configuration")',
    });
  }
  return result.data;
}
