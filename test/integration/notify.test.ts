// Notifications through real components: an SMTP server (smtp-server) on 127.0.0.1 read back with
// mailparser, an HTTP server on 127.0.0.1 for webhooks, the OSLRS fixture in an embedded
// PostgreSQL for the recipients query.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotifyConfig } from '../../src/config/index.ts';
import {
  createEmailNotifier,
  createNotifiers,
  createWebhookNotifier,
  notifyAll,
  resolveRecipients,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  type Notification,
} from '../../src/notify/index.ts';
import { backupSucceeded, drillFinished, escalation, jobFailed, monitorAlert } from '../helpers/notifications.ts';
import { REPO_ROOT, tempDir } from '../helpers/pgdrill.ts';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { startSmtpServer, type StartedSmtpServer } from '../helpers/smtp.ts';
import { startWebhookReceiver, type StartedWebhookReceiver } from '../helpers/webhook-receiver.ts';

const SMTP_USER = 'pgdrill-mailer';
const SMTP_PASSWORD = 'smtp-Pa55word-7f3c91';
const FROM = 'backups@registry.example';
const SUPER_ADMINS = "select email from users where role = 'super_admin' and is_active";

let smtp: StartedSmtpServer;
let receiver: StartedWebhookReceiver;
let source: SourceDatabase;
let pdfPath: string;

/** A small valid PDF (one empty page). */
function writePdf(file: string): string {
  const objects = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>', '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>'];
  let body = '%PDF-1.4\n';
  const offsets = objects.map((object, i) => {
    const offset = body.length;
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
    return offset;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  writeFileSync(file, body);
  return file;
}

beforeAll(async () => {
  [smtp, receiver, source] = await Promise.all([startSmtpServer({ user: SMTP_USER, password: SMTP_PASSWORD }), startWebhookReceiver(), startSourceDatabase({ rows: 200 })]);
  pdfPath = writePdf(path.join(tempDir('notify-pdf'), 'drill-20261123T010000Z-oslrs.pdf'));
});
afterAll(async () => {
  await Promise.all([smtp?.stop(), receiver?.stop(), source?.stop()]);
});

function emailNotifier(overrides: Partial<Parameters<typeof createEmailNotifier>[0]> = {}) {
  return createEmailNotifier({ smtpUrl: smtp.url, password: SMTP_PASSWORD, from: FROM, to: ['ops@registry.example'], timeoutMs: 5_000, ...overrides });
}

async function sendOne(message: Notification, overrides: Partial<Parameters<typeof createEmailNotifier>[0]> = {}) {
  const before = smtp.mails.length;
  await emailNotifier(overrides).notify(message);
  return (await smtp.waitForMails(before + 1)).at(-1)!;
}

describe('loading', () => {
  it('importing src/notify loads neither nodemailer, handlebars nor pg: the backends load them on their first message', async () => {
    const log = path.join(tempDir('notify-modules'), 'modules.txt');
    // Building every kind of notifier is start-up work; nothing heavy may load for it.
    const script = [
      "const { createNotifiers } = await import('./src/notify/index.ts');",
      "const { NotifyConfig } = await import('./src/config/index.ts');",
      "const config = NotifyConfig.parse({ email: { smtpUrl: 'smtp://u@127.0.0.1:2525', from: 'a@example.org', to: ['b@example.org'] }, webhooks: [{ format: 'slack' }] });",
      "createNotifiers(config, { env: { PGDRILL_WEBHOOK_URL: 'http://127.0.0.1:9999/x' } });",
    ].join(' ');
    await execa('node', ['--import', path.join(REPO_ROOT, 'test/helpers/record-modules.ts'), '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: { PGDRILL_MODULE_LOG: log },
    });
    const urls = readFileSync(log, 'utf8').split('\n');
    expect(urls.some((url) => url.endsWith('/src/notify/index.ts'))).toBe(true);
    for (const heavy of ['/node_modules/nodemailer/', '/node_modules/handlebars/', '/node_modules/pg/']) expect(urls.filter((url) => url.includes(heavy)), heavy).toEqual([]);
  });
});

describe('e-mail over SMTP', () => {
  it('a successful backup: logs in with PGDRILL_SMTP_PASSWORD and sends size, duration and SHA-256 (seed 001 AC4)', async () => {
    const config = NotifyConfig.parse({ email: { smtpUrl: smtp.url, password: SMTP_PASSWORD, from: FROM, to: ['ops@registry.example', 'OPS@registry.example', 'dpo@registry.example'] } });
    const [email] = createNotifiers(config, { env: {} });
    const loginsBefore = smtp.logins.length;
    await email!.notify(backupSucceeded());
    const [mail] = (await smtp.waitForMails(1)).slice(-1);
    expect(smtp.logins.slice(loginsBefore)).toEqual([{ username: SMTP_USER, password: SMTP_PASSWORD }]);
    // Distinct recipients, compared without case.
    expect(mail!.envelopeTo).toEqual(['ops@registry.example', 'dpo@registry.example']);
    expect(mail!.parsed.from?.text).toBe(FROM);
    expect(mail!.parsed.subject).toBe('[pgdrill] Backup of oslrs succeeded: 2.87 GB in 4 min 12 s');
    expect(mail!.parsed.text).toContain('2.87 GB (2,871,402,113 bytes stored)');
    expect(mail!.parsed.text).toContain('Duration:  4 min 12 s');
    expect(mail!.parsed.text).toContain('SHA-256:   87b04e58961f9a99d853d4046a0b5b793e7c3e4bbd21f5aca8fb17c20cdb1d8b');
    expect(mail!.parsed.html).toContain('<code>87b04e58961f9a99d853d4046a0b5b793e7c3e4bbd21f5aca8fb17c20cdb1d8b</code>');
  });

  it('the last retry failed: the subject is CRITICAL and names the attempt (seed 001 AC5)', async () => {
    const mail = await sendOne(jobFailed({ attempt: 4, attempts: 4, final: true, severity: 'critical', error: 'pg_dump failed (exit code 1): server closed the connection unexpectedly' }));
    expect(mail.parsed.subject).toBe('[CRITICAL] Backup of oslrs FAILED after the last retry (attempt 4 of 4)');
    expect(mail.parsed.text).toContain('server closed the connection unexpectedly');
    expect(mail.parsed.text).toContain('Attempt:       4 of 4 (no retries left)');
  });

  it('a finished drill carries its PDF; a PDF over attachMaxBytes is named instead (seed 000 AC6)', async () => {
    const message = await drillFinished('pass', pdfPath, 'backups/drills/2026-11/drill-20261123T010000Z-oslrs.pdf');
    const attached = await sendOne(message);
    expect(attached.parsed.subject).toBe('[pgdrill] Restore drill of oslrs_prod: PASS');
    expect(attached.parsed.text).toMatch(/RTO: +20\.5 min \(target 30 min: met\)/);
    expect(attached.parsed.text).toContain('Next drill due: 23 Dec 2026');
    expect(attached.parsed.attachments).toHaveLength(1);
    expect(attached.parsed.attachments[0]).toMatchObject({ filename: 'drill-20261123T010000Z-oslrs.pdf', contentType: 'application/pdf' });
    expect(attached.parsed.attachments[0]!.content.subarray(0, 8).toString()).toBe('%PDF-1.4');

    const named = await sendOne(message, { attachMaxBytes: 100 });
    expect(named.parsed.attachments).toHaveLength(0);
    expect(named.parsed.text).toMatch(/The report drill-20261123T010000Z-oslrs\.pdf \(\d+ B\) is not attached: it is larger than the limit/);
    expect(named.parsed.text).toContain('stored beside the backups as backups/drills/2026-11/drill-20261123T010000Z-oslrs.pdf');
  });

  it('SMTP down: notifyAll returns after the configured tries and reports the notifier by name', async () => {
    const down = await startSmtpServer({ user: SMTP_USER, password: SMTP_PASSWORD });
    const email = emailNotifier({ smtpUrl: down.url });
    await down.stop();
    let calls = 0;
    const counted = { name: email.name, notify: (m: Notification) => ((calls += 1), email.notify(m)) };
    const failures: Array<{ name: string; message: string; attempts: number }> = [];
    const result = await notifyAll([counted], jobFailed({ final: true }), {
      attempts: 3,
      backoffMs: 10,
      onFailure: (name, error, attempts) => failures.push({ name, message: error.message, attempts }),
    });
    expect(calls).toBe(3);
    expect(result.delivered).toEqual([]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ name: 'email', attempts: 3 });
    expect(failures[0]!.message).toMatch(new RegExp(`email: sending through the SMTP server at 127\\.0\\.0\\.1:${down.port} failed \\(ESOCKET\\): connect ECONNREFUSED`));
    expect(failures[0]!.message).not.toContain(SMTP_PASSWORD);
  });

  it('a server that accepts and never greets fails within timeoutMs', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const started = Date.now();
      const error = await emailNotifier({ smtpUrl: `smtp://${SMTP_USER}@127.0.0.1:${port}`, timeoutMs: 300 })
        .notify(jobFailed())
        .catch((e: unknown) => e as Error);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((error as Error).message).toMatch(/SMTP server at 127\.0\.0\.1:\d+ failed \(ETIMEDOUT\)/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('with requireTls the password is never sent over plain SMTP', async () => {
    const loginsBefore = smtp.logins.length;
    const error = await emailNotifier({ requireTls: true })
      .notify(jobFailed())
      .catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(/SMTP server at 127\.0\.0\.1:\d+ failed/);
    expect(smtp.logins.length).toBe(loginsBefore);
  });
});

describe('recipients from the source database', () => {
  let expected: string[];

  beforeAll(async () => {
    const client = new pg.Client({ connectionString: source.url });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO users (email, full_name, role, password_hash, is_active, created_at) VALUES
           ('active.admin@registry.example', 'Active Admin', 'super_admin', 'x', true, '2026-01-01'),
           ('retired.admin@registry.example', 'Retired Admin', 'super_admin', 'x', false, '2026-01-01'),
           ('field.supervisor@registry.example', 'Supervisor', 'supervisor', 'x', true, '2026-01-01')`,
      );
      const { rows } = await client.query<{ email: string }>(`${SUPER_ADMINS} order by id`);
      expected = rows.map((r) => r.email);
    } finally {
      await client.end();
    }
  });

  it('the query picks the distinct active super admins, after the fixed list', async () => {
    const warnings: string[] = [];
    const list = ['ops@registry.example', 'Active.Admin@registry.example'];
    const addresses = await resolveRecipients({ list, query: `${SUPER_ADMINS} order by id`, databaseUrl: source.url, onWarning: (w) => warnings.push(w) });
    // The same address in another case is sent once, as first spelt.
    expect(addresses).toEqual([...list, ...expected.filter((e) => e !== 'active.admin@registry.example')]);
    expect(expected).toContain('active.admin@registry.example');
    expect(expected.length).toBeGreaterThan(1);
    expect(addresses).not.toContain('retired.admin@registry.example');
    expect(addresses).not.toContain('field.supervisor@registry.example');
    expect(warnings).toEqual([]);
  });

  it('e-mail reaches them through createNotifiers with the database URL', async () => {
    const config = NotifyConfig.parse({ email: { smtpUrl: smtp.url, password: SMTP_PASSWORD, from: FROM, recipientsQuery: SUPER_ADMINS } });
    const [email] = createNotifiers(config, { env: {}, databaseUrl: source.url });
    const before = smtp.mails.length;
    await email!.notify(escalation({ level: 'critical', consecutiveFailures: 2 }));
    const mail = (await smtp.waitForMails(before + 1)).at(-1)!;
    expect([...mail.envelopeTo].sort()).toEqual([...expected].sort());
    // The recipients are not printed in the body.
    for (const address of expected) expect(mail.parsed.text).not.toContain(address);
  });

  it('a failing or writing query falls back to the list, says why, and changes nothing', async () => {
    const warnings: string[] = [];
    const fallback = await resolveRecipients({ list: ['ops@registry.example'], query: 'select email from no_such_table', databaseUrl: source.url, onWarning: (w) => warnings.push(w) });
    expect(fallback).toEqual(['ops@registry.example']);
    expect(warnings[0]).toMatch(/the recipients query failed \(relation "no_such_table" does not exist\); using the 1 configured address\(es\) only/);

    const writes = [
      "update users set is_active = false where role = 'super_admin' returning email",
      "commit; update users set is_active = false where role = 'super_admin' returning email",
    ];
    for (const query of writes) {
      const problems: string[] = [];
      expect(await resolveRecipients({ list: ['ops@registry.example'], query, databaseUrl: source.url, onWarning: (w) => problems.push(w) })).toEqual(['ops@registry.example']);
      expect(problems[0], query).toMatch(/recipients query failed \((cannot execute UPDATE in a read-only transaction|cannot insert multiple commands into a prepared statement)\)/);
    }
    expect(await resolveRecipients({ query: `${SUPER_ADMINS} order by id`, databaseUrl: source.url })).toEqual(expected);

    const slow: string[] = [];
    expect(await resolveRecipients({ list: ['ops@registry.example'], query: 'select pg_sleep(5)::text', databaseUrl: source.url, timeoutMs: 300, onWarning: (w) => slow.push(w) })).toEqual(['ops@registry.example']);
    expect(slow[0]).toMatch(/canceling statement due to statement timeout/);
    expect(slow.join('\n')).not.toContain(source.url);
  });
});

describe('webhooks', () => {
  const HOOK_PATH = '/services/T0PGDRILL/B0PGDRILL/slackSecretToken42';
  const SIGNING_SECRET = 'whsec-7c1b2a9e4f00d3';
  const NOW = new Date('2026-11-23T01:05:00Z');

  /** The receiver's side, exactly as README "Notifications" documents it. */
  function verifyPgdrill(rawBody: string, headers: Record<string, string | undefined>, secret: string, nowSeconds = Date.now() / 1000) {
    const timestamp = headers['x-pgdrill-timestamp'];
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`);
    const given = Buffer.from(headers['x-pgdrill-signature'] ?? '');
    return Math.abs(nowSeconds - Number(timestamp)) <= 300 && given.length === expected.length && timingSafeEqual(given, expected);
  }

  async function deliver(notifier: ReturnType<typeof createWebhookNotifier>, message: Notification) {
    const before = receiver.requests.length;
    await notifier.notify(message);
    return receiver.requests.slice(before);
  }

  it('slack: { text, blocks } JSON posted to the URL', async () => {
    const [request] = await deliver(createWebhookNotifier({ url: receiver.url(HOOK_PATH), format: 'slack' }), jobFailed({ final: true, attempt: 4 }));
    expect(request).toMatchObject({ method: 'POST', path: HOOK_PATH });
    expect(request!.headers['content-type']).toBe('application/json');
    const body = JSON.parse(request!.body) as { text: string; blocks: Array<{ type: string; text: { type: string; text: string } }> };
    expect(body.text).toBe('[CRITICAL] Backup of oslrs FAILED after the last retry (attempt 4 of 4)');
    expect(body.blocks.map((b) => [b.type, b.text.type])).toEqual([
      ['section', 'mrkdwn'],
      ['section', 'mrkdwn'],
    ]);
    expect(body.blocks[1]!.text.text).toContain('pg_dump failed (exit code 1)');
  });

  it('json: the notification plus text, signed over timestamp and body; a wrong secret does not verify', async () => {
    const notifier = createWebhookNotifier({ url: receiver.url('/pgdrill'), format: 'json', secret: SIGNING_SECRET, now: () => NOW });
    const [request] = await deliver(notifier, backupSucceeded({ recovered: true }));
    const body = JSON.parse(request!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ kind: 'backup-succeeded', database: 'oslrs', recovered: true, backup: { sha256: '87b04e58961f9a99d853d4046a0b5b793e7c3e4bbd21f5aca8fb17c20cdb1d8b' } });
    expect(body.subject).toBe('[RECOVERED] Backup of oslrs succeeded again: 2.87 GB in 4 min 12 s');
    expect(body.text).toContain('SHA-256:');
    const headers = request!.headers as Record<string, string>;
    const timestamp = headers[TIMESTAMP_HEADER.toLowerCase()]!;
    expect(timestamp).toBe(String(NOW.getTime() / 1000));
    expect(headers[SIGNATURE_HEADER.toLowerCase()]).toMatch(/^sha256=[0-9a-f]{64}$/);
    const receivedAt = NOW.getTime() / 1000 + 2;
    expect(verifyPgdrill(request!.body, headers, SIGNING_SECRET, receivedAt)).toBe(true);
    expect(verifyPgdrill(request!.body, headers, 'whsec-wrong-secret', receivedAt)).toBe(false);
    expect(verifyPgdrill(request!.body.replace('"oslrs"', '"other"'), headers, SIGNING_SECRET, receivedAt)).toBe(false);
    // A replay an hour later is too old; with a fresh timestamp header its signature no longer matches.
    expect(verifyPgdrill(request!.body, headers, SIGNING_SECRET, receivedAt + 3600)).toBe(false);
    expect(verifyPgdrill(request!.body, { ...headers, [TIMESTAMP_HEADER.toLowerCase()]: String(receivedAt + 3600) }, SIGNING_SECRET, receivedAt + 3600)).toBe(false);
  });

  it('pagerduty: trigger for page, resolve for recovered with the same dedup_key; nothing for lower levels', async () => {
    const notifier = createWebhookNotifier({ url: receiver.url('/v2/enqueue'), format: 'pagerduty', routingKey: 'R0UTINGKEY0000000000000000000000' });
    expect(await deliver(notifier, escalation({ level: 'warning' }))).toEqual([]);
    expect(await deliver(notifier, escalation({ level: 'critical', consecutiveFailures: 2 }))).toEqual([]);
    expect(await deliver(notifier, jobFailed({ final: true }))).toEqual([]);
    expect(await deliver(notifier, monitorAlert({ severity: 'warning' }))).toEqual([]);

    const [trigger] = await deliver(notifier, escalation({ level: 'page', consecutiveFailures: 3, severity: 'critical' }));
    const [resolve] = await deliver(notifier, escalation({ level: 'recovered', consecutiveFailures: 3, severity: 'info' }));
    const triggered = JSON.parse(trigger!.body) as { routing_key: string; event_action: string; dedup_key: string; payload: Record<string, unknown> };
    expect(triggered).toMatchObject({
      routing_key: 'R0UTINGKEY0000000000000000000000',
      event_action: 'trigger',
      dedup_key: 'pgdrill/oslrs/backup',
      payload: { summary: '[PAGE] Backup of oslrs failed 3 times in a row', source: 'oslrs', severity: 'critical', timestamp: '2026-11-23T01:04:12.000Z' },
    });
    expect(JSON.parse(resolve!.body)).toEqual({ routing_key: 'R0UTINGKEY0000000000000000000000', event_action: 'resolve', dedup_key: 'pgdrill/oslrs/backup' });

    const [monitorTrigger] = await deliver(notifier, monitorAlert());
    const [monitorResolve] = await deliver(notifier, monitorAlert({ state: 'resolved', severity: 'info' }));
    expect(JSON.parse(monitorTrigger!.body)).toMatchObject({ event_action: 'trigger', dedup_key: 'pgdrill/oslrs/monitor:backup-age' });
    expect(JSON.parse(monitorResolve!.body)).toMatchObject({ event_action: 'resolve', dedup_key: 'pgdrill/oslrs/monitor:backup-age' });
  });

  it('a non-2xx answer fails naming the status and the host, never the URL path', async () => {
    receiver.answer(403, 'invalid_token');
    try {
      const error = await createWebhookNotifier({ url: receiver.url(HOOK_PATH), format: 'slack' })
        .notify(monitorAlert())
        .catch((e: unknown) => e as Error);
      expect((error as Error).message).toMatch(/^webhook slack \(127\.0\.0\.1:\d+\) answered 403 Forbidden: invalid_token$/);
      expect((error as Error).message).not.toContain('slackSecretToken42');
    } finally {
      receiver.answer(200, 'ok');
    }
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await createWebhookNotifier({ url: `http://127.0.0.1:${closedPort}${HOOK_PATH}`, format: 'slack' })
      .notify(monitorAlert())
      .catch((e: unknown) => e as Error);
    expect((unreachable as Error).message).toMatch(new RegExp(`^webhook slack \\(127\\.0\\.0\\.1:${closedPort}\\) could not be reached: fetch failed: connect ECONNREFUSED`));
    expect((unreachable as Error).message).not.toContain('slackSecretToken42');
  });
});

describe('no secret leaves in a message', () => {
  it('no body or header carries the SMTP password, a webhook URL path, the DATABASE_URL or its password', async () => {
    const databasePassword = decodeURIComponent(new URL(source.url).password);
    const env = {
      PGDRILL_WEBHOOK_URL: receiver.url('/services/T0LEAK/B0LEAK/leakyPathToken99'),
      PGDRILL_WEBHOOK_SECRET: 'whsec-leak-check-5521',
      PAGER_URL: receiver.url('/pager/leakyPagerPath77'),
      PAGER_KEY: 'PAGERKEYLEAK000000000000000000000',
    };
    const config = NotifyConfig.parse({
      email: { smtpUrl: smtp.url, password: SMTP_PASSWORD, from: FROM, to: ['ops@registry.example'] },
      webhooks: [{ format: 'json' }, { format: 'slack' }, { format: 'pagerduty', urlEnv: 'PAGER_URL', routingKeyEnv: 'PAGER_KEY' }],
    });
    const notifiers = createNotifiers(config, { env, databaseUrl: source.url });
    expect(notifiers.map((n) => n.name)).toEqual(['email', 'json', 'slack', 'pagerduty']);
    // Errors quoting every secret the service knows, as a careless error message might.
    const quoted = `connection to ${source.url} failed; password=${databasePassword}; smtp ${SMTP_PASSWORD}; hook ${env.PGDRILL_WEBHOOK_URL}`;
    const messages: Notification[] = [
      jobFailed({ final: true, attempt: 4, error: quoted }),
      escalation({ level: 'page', consecutiveFailures: 3, lastError: quoted }),
      monitorAlert({ detail: quoted }),
    ];
    const mailsBefore = smtp.mails.length;
    const requestsBefore = receiver.requests.length;
    for (const message of messages) {
      const result = await notifyAll(notifiers, message, { attempts: 1 });
      expect(result.failed).toEqual([]);
    }
    const mails = (await smtp.waitForMails(mailsBefore + messages.length)).slice(mailsBefore);
    const requests = receiver.requests.slice(requestsBefore);
    expect(requests.length).toBe(messages.length * 2 + 2);
    const sent = [...mails.map((m) => m.raw), ...requests.map((r) => `${JSON.stringify(r.headers)}\n${r.body}`)];
    const forbidden = [SMTP_PASSWORD, source.url, databasePassword, 'leakyPathToken99', 'leakyPagerPath77', env.PGDRILL_WEBHOOK_SECRET];
    for (const text of sent) for (const secret of forbidden) expect(text.includes(secret), `a message contains ${secret}`).toBe(false);
    // The routing key is PagerDuty's addressing, sent only in its own field.
    for (const text of sent.filter((t) => !t.includes('"routing_key"'))) expect(text).not.toContain(env.PAGER_KEY);
    expect(mails[0]!.parsed.text).toContain('connection to *** failed; password=***; smtp ***; hook ***');
  });
});
