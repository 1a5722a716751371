import type { FileSetConfig } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import { createStorageFromUrl, parseStorageUrl, type BackupStorage, type StorageOptions } from '../storage/index.ts';

// Where a file set's files are (and where `pgdrill restore --files` puts them back): a folder, or
// an S3 prefix with its own endpoint; its credentials come from the environment variables the
// configuration names, never from the configuration itself.

/** The S3 settings of a file set (endpoint, region, credentials read from the variables it names). */
export function fileSetS3Options(set: Pick<FileSetConfig, 'name' | 's3'>, env: NodeJS.ProcessEnv = process.env) {
  const s3 = set.s3;
  const read = (variable: string | undefined, what: string): string | undefined => {
    if (variable === undefined) return undefined;
    const value = env[variable];
    if (!value) {
      throw new ConfigError(`File set "${set.name}": environment variable ${variable} (backup.files[].s3.${what}) is not set`, {
        hint: `Set ${variable} to the source bucket's ${what === 'accessKeyIdEnv' ? 'access key id' : 'secret access key'}, or remove s3.${what} to use the SDK's default credentials`,
      });
    }
    return value;
  };
  const accessKeyId = read(s3?.accessKeyIdEnv, 'accessKeyIdEnv');
  const secretAccessKey = read(s3?.secretAccessKeyEnv, 'secretAccessKeyEnv');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError(`File set "${set.name}": s3.accessKeyIdEnv and s3.secretAccessKeyEnv go together`, { hint: 'Name both variables, or neither for the SDK default chain' });
  }
  return {
    endpoint: s3?.endpoint,
    region: s3?.region ?? 'us-east-1',
    forcePathStyle: s3?.forcePathStyle,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    listSortLimit: s3?.listSortLimit,
    listSortLimitSetting: `backup.files[].s3.listSortLimit of file set "${set.name}"`,
  };
}

/**
 * Opens a file set's location (`source`, or a restore's `--to`, named by `what` in errors) with the
 * set's S3 settings.
 */
export function openFileLocation(location: string, set: Pick<FileSetConfig, 'name' | 's3'>, what: string, options?: StorageOptions & { env?: NodeJS.ProcessEnv }): BackupStorage {
  let target;
  try {
    target = parseStorageUrl(location);
  } catch (error) {
    throw new ConfigError(`File set "${set.name}": ${what} is not a folder or s3:// location: ${(error as Error).message.replace(/\. Set PGDRILL_STORAGE.*$/s, '')}`, {
      hint: 'Use s3://bucket/prefix or a folder path',
    });
  }
  return createStorageFromUrl(location, target.kind === 's3' ? fileSetS3Options(set, options?.env) : { region: 'us-east-1' }, options);
}
