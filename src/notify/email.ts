import { stat } from 'node:fs/promises';
import type { Transporter } from 'nodemailer';
import path from 'node:path';
import { EMAIL_ADDRESS, smtpUrlProblem } from '../config/index.ts';
import { ConfigError, PgdrillError } from '../errors/index.ts';
import { resolveRecipients } from './recipients.ts';
import { renderMessage } from './render.ts';
import { sanitizeNotification, scrubText } from './sanitize.ts';
import type { Notification, Notifier } from './types.ts';
import type { ReportFile } from './view.ts';

export interface EmailNotifierOptions {
  /** `smtp://user@host:587` (STARTTLS when offered) or `smtps://user@host:465`; never with a password. */
  smtpUrl: string;
  /** Password of the URL's user (PGDRILL_SMTP_PASSWORD). */
  password?: string;
  from: string;
  /** Fixed recipients. */
  to?: readonly string[];
  /** SQL run read-only against `databaseUrl` for more recipients (see resolveRecipients). */
  recipientsQuery?: string;
  databaseUrl?: string;
  /** A drill's PDF larger than this is named instead of attached (default 10 MB). */
  attachMaxBytes?: number;
  /** Refuse to send without TLS; default: when a password goes to a host other than this machine. */
  requireTls?: boolean;
  /** Connect, greeting and idle limit of the SMTP conversation (default 30 s). */
  timeoutMs?: number;
  /** Limit of the recipients query (default 5 s). */
  queryTimeoutMs?: number;
  /** Name in logs and metrics (default `email`). */
  name?: string;
  templatesDir?: string;
  /** More strings never to show in a message (a database URL, webhook URLs, …). */
  secrets?: readonly string[];
  /** Told about problems that do not stop the message (a failing recipients query, rejected recipients). */
  onWarning?: (message: string) => void;
}

/** Default of onWarning: one line on stderr (the service passes its logger instead). */
export const warnOnStderr = (message: string): void => {
  process.stderr.write(`pgdrill: ${message}\n`);
};

interface SmtpTarget {
  host: string;
  port: number;
  secure: boolean;
  user: string | undefined;
}

function parseSmtpUrl(url: string): SmtpTarget {
  const problem = smtpUrlProblem(url);
  if (problem) throw new ConfigError(`The SMTP URL (PGDRILL_SMTP_URL, notify.email.smtpUrl) cannot be used: ${problem}`);
  const parsed = new URL(url);
  const secure = parsed.protocol === 'smtps:';
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port ? Number(parsed.port) : secure ? 465 : 587,
    secure,
    user: parsed.username ? decodeURIComponent(parsed.username) : undefined,
  };
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);

/** The drill's PDF as the message will carry it, or undefined when there is none. */
async function reportFile(message: Notification, limitBytes: number): Promise<(ReportFile & { path: string }) | undefined> {
  if (message.kind !== 'drill-finished' || !message.pdfPath) return undefined;
  const sizeBytes = await stat(message.pdfPath).then(
    (info) => info.size,
    () => null,
  );
  return { path: message.pdfPath, fileName: path.basename(message.pdfPath), sizeBytes, attached: sizeBytes !== null && sizeBytes <= limitBytes, limitBytes };
}

/**
 * E-mail over SMTP (nodemailer, loaded on the first message). Each message goes to the fixed
 * recipients plus those the recipients query returns; a drill's PDF is attached up to
 * `attachMaxBytes`, else named. Throws on delivery failure (notifyAll retries and reports it).
 */
export function createEmailNotifier(options: EmailNotifierOptions): Notifier {
  const target = parseSmtpUrl(options.smtpUrl);
  if (options.password && !target.user) {
    throw new ConfigError('An SMTP password is set (PGDRILL_SMTP_PASSWORD) but the SMTP URL names no user', { hint: 'Write the URL as smtp://user@host:587' });
  }
  if (!EMAIL_ADDRESS.test(options.from)) {
    throw new ConfigError('The sender address (PGDRILL_MAIL_FROM, notify.email.from) is not an e-mail address', { hint: 'Set it like backups@example.org' });
  }
  if (!options.to?.length && !options.recipientsQuery) {
    throw new ConfigError('E-mail notifications have no recipients', { hint: 'Set PGDRILL_NOTIFY_EMAIL (comma-separated) or notify.email.recipientsQuery' });
  }
  if (options.recipientsQuery && !options.databaseUrl) {
    throw new ConfigError('notify.email.recipientsQuery needs the source database URL', { hint: 'Set DATABASE_URL (or the database\'s url/urlEnv in a fleet)' });
  }
  const name = options.name ?? 'email';
  const where = `${target.host}:${target.port}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const limitBytes = options.attachMaxBytes ?? 10_000_000;
  const requireTls = options.requireTls ?? (options.password !== undefined && !target.secure && !isLoopback(target.host));
  const secrets = [...(options.password ? [options.password] : []), ...(options.databaseUrl ? [options.databaseUrl] : []), ...(options.secrets ?? [])];
  const warn = options.onWarning ?? warnOnStderr;
  let transport: Promise<Transporter> | undefined;

  const openTransport = async () => {
    const nodemailer = await import('nodemailer');
    return nodemailer.createTransport({
      host: target.host,
      port: target.port,
      secure: target.secure,
      requireTLS: requireTls,
      auth: target.user ? { user: target.user, pass: options.password } : undefined,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      logger: false,
    });
  };

  return {
    name,
    async notify(message: Notification): Promise<void> {
      const recipients = await resolveRecipients({
        list: options.to,
        query: options.recipientsQuery,
        databaseUrl: options.databaseUrl,
        timeoutMs: options.queryTimeoutMs,
        onWarning: warn,
      });
      if (recipients.length === 0) {
        throw new PgdrillError(`${name}: no recipient for this message (the configured list is empty and the recipients query returned no address)`, {
          hint: 'Set PGDRILL_NOTIFY_EMAIL as a fallback, or fix notify.email.recipientsQuery',
        });
      }
      const report = await reportFile(message, limitBytes);
      if (report && report.sizeBytes === null) warn(`${name}: the drill report ${report.fileName} cannot be read; the message names it without attaching it`);
      const rendered = await renderMessage(sanitizeNotification(message, secrets), { report, templatesDir: options.templatesDir });
      transport ??= openTransport();
      try {
        const info = await (await transport).sendMail({
          from: options.from,
          to: recipients,
          subject: rendered.subject,
          text: rendered.text,
          html: rendered.html,
          attachments: report?.attached ? [{ filename: report.fileName, path: report.path, contentType: 'application/pdf' }] : [],
        });
        const rejected = (info as { rejected?: unknown[] }).rejected?.length ?? 0;
        if (rejected) warn(`${name}: the SMTP server at ${where} refused ${rejected} of ${recipients.length} recipient(s)`);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        throw new PgdrillError(`${name}: sending through the SMTP server at ${where} failed${typeof code === 'string' ? ` (${code})` : ''}: ${scrubText((error as Error).message, secrets)}`, {
          hint: 'Check PGDRILL_SMTP_URL, PGDRILL_SMTP_PASSWORD and that the server is reachable',
        });
      }
    },
  };
}
