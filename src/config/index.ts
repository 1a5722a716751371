export {
  API_TOKEN_ENTRY,
  EMAIL_ADDRESS,
  FileSetConfig,
  NotifyConfig,
  NotifyOverride,
  PgdrillConfig,
  PitrConfig,
  smtpUrlProblem,
  WebhookConfig,
  type PgdrillConfigInput,
} from './schema.ts';
export { loadConfig, defineConfig, ENVIRONMENT, type LoadConfigOptions } from './load.ts';
export { redactConfig, redactSecrets, redactUrl } from './redact.ts';
export { CODE_ROOT, PACKAGE_ROOT, TOOL_VERSION } from './version.ts';
