import type { PgdrillConfig } from './schema.ts';

/** Replaces the password of a postgres:// URL with `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const secret of ['password', 'sslpassword']) if (parsed.searchParams.has(secret)) parsed.searchParams.set(secret, '***');
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** The resolved config with every secret replaced, for `pgdrill config --print` and logs. */
export function redactConfig(config: PgdrillConfig): PgdrillConfig {
  const keyIds = config.encryption.keys?.split(',').map((entry) => entry.split(':')[0]?.trim() ?? '?');
  return {
    ...config,
    databaseUrl: config.databaseUrl && redactUrl(config.databaseUrl),
    storage: {
      ...config.storage,
      s3: {
        ...config.storage.s3,
        accessKeyId: config.storage.s3.accessKeyId && '***',
        secretAccessKey: config.storage.s3.secretAccessKey && '***',
      },
    },
    encryption: { ...config.encryption, keys: keyIds && `*** (${keyIds.length} key(s): ${keyIds.join(', ')}; first is active)` },
    report: { ...config.report, signingKey: config.report.signingKey && '***' },
  };
}
