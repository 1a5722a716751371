import { parseKeyring } from '../crypto/index.ts';
import type { PgdrillConfig } from './schema.ts';

// One rule for every place a configuration value is shown (`pgdrill config --print`, validation
// errors): a field is secret by its name, wherever it sits and whatever its value is, so a secret
// under a misspelt parent, inside an array or inside an object printed whole is still hidden. URLs
// are shown with their credentials masked.

const MASK = '***';

/** Names that hold secrets (key, keys, password, secret, token, signingKey, secretAccessKey, accessKeyId, …). */
const SECRET_NAME = /secret|passw|passphrase|token|credential|private|keys?$|keyid$/i;
/** `passwordEnv` and the like hold the name of an environment variable, not its value. */
const VARIABLE_NAME = /Env$/;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !VARIABLE_NAME.test(name);
}

/**
 * A URL with its credentials and every secret-named query parameter (`password=`, `sslpassword=`,
 * …) replaced by `***`. A postgres:// URL keeps its user (a role name); any other scheme loses the
 * whole `user:password@` (in `s3://key:secret@bucket` the user is an access key). Text that is not
 * a URL comes back unchanged.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)@/i, (_, scheme: string, userinfo: string) => {
      const user = userinfo.split(':')[0]!;
      if (!/^postgres(ql)?$/i.test(scheme)) return `${scheme}://${MASK}@`;
      return `${scheme}://${user === userinfo ? user : `${user}:${MASK}`}@`;
    })
    .replace(/([?&])([^=&#]+)=([^&#]*)/g, (param, separator: string, name: string) => (isSecretName(safe(name)) ? `${separator}${name}=${MASK}` : param));
}

function safe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A keyring spec shown by its key ids when it parses (ids are not secret), else only that it is malformed. */
function describeKeyring(spec: string): string {
  try {
    const ids = [...parseKeyring(spec).keys.keys()];
    return `${MASK} (${ids.length} key(s): ${ids.join(', ')}; first is active)`;
  } catch {
    return `${MASK} (malformed)`;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `value` as it may be shown, given the config path it sits at (e.g. `['storage', 's3']`): every
 * field with a secret name is masked (an encryption keyring keeps its key ids), every string has
 * URL credentials masked; objects and arrays are redacted member by member.
 */
export function redactSecrets(value: unknown, path: readonly PropertyKey[] = []): unknown {
  if (value === undefined || value === null) return value;
  const name = path.findLast((part): part is string => typeof part === 'string');
  if (name !== undefined && isSecretName(name)) return name === 'keys' && typeof value === 'string' ? describeKeyring(value) : MASK;
  if (typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value)) return value.map((item, index) => redactSecrets(item, [...path, index]));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactSecrets(item, [...path, key])]));
  return value;
}

/** The resolved config with every secret replaced, for `pgdrill config --print` and logs. */
export function redactConfig(config: PgdrillConfig): PgdrillConfig {
  return redactSecrets(config) as PgdrillConfig;
}
