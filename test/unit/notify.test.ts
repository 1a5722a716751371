import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, NotifyConfig, redactConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import {
  createNotifiers,
  notifyAll,
  notifyConfigFor,
  renderMessage,
  sanitizeNotification,
  scrubText,
  shouldSend,
  type Notification,
  type Notifier,
} from '../../src/notify/index.ts';
import { backupSucceeded, drillFinished, escalation, jobFailed, monitorAlert } from '../helpers/notifications.ts';
import { scratchDir } from '../helpers/scratch.ts';

const emptyDir = () => scratchDir('notify');

async function everyKind(): Promise<Notification[]> {
  return [
    backupSucceeded(),
    backupSucceeded({ recovered: true }),
    jobFailed(),
    jobFailed({ attempt: 4, final: true, severity: 'critical' }),
    await drillFinished('pass', '/srv/reports/2026-11/drill.pdf'),
    await drillFinished('fail', '/srv/reports/2026-11/drill.pdf', 'backups/drills/2026-11/drill.pdf'),
    ...(['warning', 'critical', 'page', 'recovered'] as const).map((level) => escalation({ level, consecutiveFailures: level === 'recovered' ? 3 : 2 })),
    monitorAlert(),
    monitorAlert({ state: 'resolved', severity: 'info' }),
    monitorAlert({ monitor: 'disk-free', severity: 'warning', detail: 'free space 12 % (limit 20 %)' }),
  ];
}

describe('shouldSend', () => {
  const config = (onSuccess: NotifyConfig['onSuccess']) => ({ onSuccess });

  it('sends a successful backup only as onSuccess says: never, after failures (the default) or always', () => {
    expect(NotifyConfig.parse({}).onSuccess).toBe('after-failure');
    const plain = backupSucceeded();
    const recovered = backupSucceeded({ recovered: true });
    expect([shouldSend(plain, config('never')), shouldSend(recovered, config('never'))]).toEqual([false, false]);
    expect([shouldSend(plain, config('after-failure')), shouldSend(recovered, config('after-failure'))]).toEqual([false, true]);
    expect([shouldSend(plain, config('always')), shouldSend(recovered, config('always'))]).toEqual([true, true]);
  });

  it('always sends failures, drills, escalations (recovery included) and monitor alerts', async () => {
    const others = (await everyKind()).filter((m) => m.kind !== 'backup-succeeded');
    for (const onSuccess of ['never', 'after-failure', 'always'] as const) {
      for (const message of others) expect(shouldSend(message, config(onSuccess)), `${message.kind} with ${onSuccess}`).toBe(true);
    }
  });
});

describe('message templates', () => {
  it('render every kind: a one-line subject, text and HTML with no template syntax left', async () => {
    for (const message of await everyKind()) {
      const rendered = await renderMessage(message, message.kind === 'drill-finished' ? { report: { fileName: 'drill.pdf', sizeBytes: 2048, attached: true, limitBytes: 10_000_000 } } : {});
      for (const [part, text] of Object.entries(rendered)) {
        expect(text, `${message.kind} ${part}`).not.toMatch(/\{\{|\}\}/);
        expect(text.trim(), `${message.kind} ${part}`).not.toBe('');
      }
      expect(rendered.subject).not.toMatch(/\n/);
      expect(rendered.text).toContain(rendered.subject);
      expect(rendered.html).toMatch(/^<!doctype html>/);
      expect(rendered.text).toContain('Sent by pgdrill');
    }
  });

  it('backup succeeded: size, duration, SHA-256, key and tier (seed 001 AC4)', async () => {
    const { subject, text } = await renderMessage(backupSucceeded());
    expect(subject).toBe('[pgdrill] Backup of oslrs succeeded: 2.87 GB in 4 min 12 s');
    expect(text).toContain('2.87 GB (2,871,402,113 bytes stored)');
    expect(text).toContain('SHA-256:   87b04e58961f9a99d853d4046a0b5b793e7c3e4bbd21f5aca8fb17c20cdb1d8b');
    expect(text).toContain('Key:       backups/daily/2026-11-23-oslrs.dump.zst.enc');
    expect(text).toContain('Tier:      daily');
    expect((await renderMessage(backupSucceeded({ recovered: true }))).subject).toMatch(/^\[RECOVERED\] Backup of oslrs succeeded again/);
  });

  it('job failed: the attempt and retries left; after the last retry the subject is CRITICAL (seed 001 AC5)', async () => {
    const retried = await renderMessage(jobFailed());
    expect(retried.subject).toBe('[pgdrill] Backup of oslrs failed (attempt 2 of 4, 2 retries left)');
    expect(retried.text).toContain('pg_dump failed (exit code 1): connection refused');
    const final = await renderMessage(jobFailed({ attempt: 4, final: true }));
    expect(final.subject).toBe('[CRITICAL] Backup of oslrs FAILED after the last retry (attempt 4 of 4)');
    expect(final.text).toContain('No retry is left');
  });

  it('drill finished: verdict, RTO/RPO against targets, failed checks, next drill, the report attached or named (seed 000 AC6)', async () => {
    const failed = await drillFinished('fail', '/srv/reports/2026-11/drill.pdf', 'backups/drills/2026-11/drill.pdf');
    const named = await renderMessage(failed, { report: { fileName: 'drill.pdf', sizeBytes: 12_000_000, attached: false, limitBytes: 10_000_000 } });
    expect(named.subject).toBe('[CRITICAL] Restore drill of oslrs_prod: FAIL (3 checks failed)');
    expect(named.text).toContain('RTO:       41.1 min (target 30 min: MISSED)');
    expect(named.text).toMatch(/RPO: +1\.8 h \(target 24 h: met\)/);
    expect(named.text).toContain('  - Row counts reconcile');
    expect(named.text).toContain('Next drill due: 23 Dec 2026');
    expect(named.text).toContain('The report drill.pdf (12.0 MB) is not attached: it is larger than the limit for attachments (notify.email.attachMaxBytes, 10.0 MB).');
    expect(named.text).toContain('It is stored beside the backups as backups/drills/2026-11/drill.pdf.');
    const passed = await renderMessage(await drillFinished('pass', 'x.pdf'), { report: { fileName: 'x.pdf', sizeBytes: 2048, attached: true, limitBytes: 10_000_000 } });
    expect(passed.subject).toBe('[pgdrill] Restore drill of oslrs_prod: PASS');
    expect(passed.text).toContain('The report is attached: x.pdf (2.05 kB).');
  });

  it('escalation and monitor subjects name the level and the state', async () => {
    const subjects = await Promise.all(
      [
        escalation({ level: 'warning', consecutiveFailures: 1 }),
        escalation({ level: 'page', consecutiveFailures: 3 }),
        escalation({ level: 'recovered', consecutiveFailures: 3 }),
        monitorAlert(),
        monitorAlert({ state: 'resolved', severity: 'info' }),
      ].map(async (m) => (await renderMessage(m)).subject),
    );
    expect(subjects).toEqual([
      '[WARNING] Backup of oslrs failed 1 time in a row',
      '[PAGE] Backup of oslrs failed 3 times in a row',
      '[RECOVERED] Backup of oslrs succeeded again after 3 failures in a row',
      '[CRITICAL] oslrs: newest backup is too old',
      '[RESOLVED] oslrs: newest backup is too old',
    ]);
  });

  it('escapes HTML in the HTML body only', async () => {
    const rendered = await renderMessage(jobFailed({ error: 'relation "<script>alert(1)</script>" does not exist' }));
    expect(rendered.html).toContain('&lt;script&gt;');
    expect(rendered.html).not.toContain('<script>');
    expect(rendered.text).toContain('"<script>alert(1)</script>"');
  });
});

describe('scrubbing', () => {
  it('keeps connection strings, conninfo passwords, webhook paths and addresses out of text', () => {
    const text = [
      'could not connect to postgres://app:S3cr3t%21pw@db.internal:5432/oslrs?sslmode=require',
      'conninfo host=db password=hunter2-long user=app',
      'POST https://hooks.slack.com/services/T000/B000/XXXXSECRET failed',
      'user ada.obi@oslrs.example is locked',
      'report at file:///srv/reports/x.pdf',
    ].join('\n');
    const out = scrubText(text, ['ExtraSecretValue']);
    for (const secret of ['S3cr3t', 'hunter2-long', 'XXXXSECRET', 'T000/B000', 'ada.obi', '/oslrs?']) expect(out).not.toContain(secret);
    expect(out).toContain('postgres://db.internal:5432/...');
    expect(out).toContain('password=***');
    expect(out).toContain('https://hooks.slack.com/...');
    expect(out).toContain('[e-mail address]');
    expect(out).toContain('file:///srv/reports/x.pdf');
    expect(scrubText('the key is ExtraSecretValue', ['ExtraSecretValue'])).toBe('the key is ***');
  });

  it('scrubs every string of a notification before any notifier renders it', async () => {
    const message = jobFailed({ error: 'pg_dump: connection to postgres://u:pw-123456@h/db failed' });
    expect(sanitizeNotification(message).error).toBe('pg_dump: connection to postgres://h/... failed');
    const lines: string[] = [];
    const [console] = createNotifiers(NotifyConfig.parse({}), { env: {}, console: (line) => lines.push(line) });
    await console!.notify(message);
    expect(lines.join('\n')).not.toContain('pw-123456');
  });
});

describe('notify configuration', () => {
  it('reads the simple case from the environment; the SMTP password is redacted when shown', async () => {
    const config = await loadConfig({
      cwd: emptyDir(),
      env: {
        PGDRILL_SMTP_URL: 'smtp://backup@mail.example.org:587',
        PGDRILL_SMTP_PASSWORD: 'smtp-password-1234',
        PGDRILL_MAIL_FROM: 'backups@example.org',
        PGDRILL_NOTIFY_EMAIL: 'ops@example.org, dpo@example.org,',
        PGDRILL_NOTIFY_ON_SUCCESS: 'always',
        PGDRILL_WEBHOOK_FORMAT: 'slack',
      },
    });
    expect(config.notify).toMatchObject({
      onSuccess: 'always',
      webhookFormat: 'slack',
      email: { smtpUrl: 'smtp://backup@mail.example.org:587', from: 'backups@example.org', to: ['ops@example.org', 'dpo@example.org'], attachMaxBytes: 10_000_000 },
    });
    expect(JSON.stringify(redactConfig(config))).not.toContain('smtp-password-1234');
  });

  it('refuses a password in PGDRILL_SMTP_URL without echoing it, naming where to put it', async () => {
    const error = await loadConfig({ cwd: emptyDir(), env: { PGDRILL_SMTP_URL: 'smtp://backup:pw-in-url-999@mail.example.org:587' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/notify\.email\.smtpUrl: a password in the URL is refused; give it in PGDRILL_SMTP_PASSWORD/);
    expect((error as Error).message).toContain('from environment PGDRILL_SMTP_URL');
    expect((error as Error).message).not.toContain('pw-in-url-999');
  });

  it('rejects a recipient that is not an address, and an unknown webhook key', async () => {
    const bad = await loadConfig({ cwd: emptyDir(), env: { PGDRILL_NOTIFY_EMAIL: 'ops@example.org,not-an-address' } }).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/notify\.email\.to\.1: expected an e-mail address/);
    const dir = emptyDir();
    writeFileSync(path.join(dir, 'pgdrill.config.json'), JSON.stringify({ notify: { webhooks: [{ format: 'slack', secretEnv: 'X' }] } }));
    const strict = await loadConfig({ cwd: dir, env: {} }).catch((e: unknown) => e);
    expect((strict as Error).message).toMatch(/notify\.webhooks\.0: Unrecognized key: "secretEnv"/);
  });

  it('a database of a fleet overrides recipients, webhooks and onSuccess; the SMTP server is shared', () => {
    const top = NotifyConfig.parse({ email: { smtpUrl: 'smtp://mail.example.org', from: 'b@example.org', to: ['ops@example.org'] }, webhooks: [{ format: 'slack' }] });
    const config = {
      notify: top,
      databases: [
        { name: 'registry', notify: { email: { to: ['registry-admins@example.org'] }, webhooks: [], onSuccess: 'always' as const } },
        { name: 'archive' },
      ],
    };
    const registry = notifyConfigFor(config, 'registry');
    expect(registry.email).toMatchObject({ smtpUrl: 'smtp://mail.example.org', from: 'b@example.org', to: ['registry-admins@example.org'] });
    expect(registry.webhooks).toEqual([]);
    expect(registry.onSuccess).toBe('always');
    expect(notifyConfigFor(config, 'archive')).toEqual(top);
    expect(notifyConfigFor({ notify: top }, 'anything')).toBe(top);
    expect(() => notifyConfigFor(config, 'nope')).toThrow(/No database named "nope".*registry, archive/);
  });

  it('createNotifiers builds what is configured and names what is missing (exit 3)', () => {
    const email = { smtpUrl: 'smtp://backup@mail.example.org:587', password: 'pw-12345', from: 'b@example.org', to: ['ops@example.org'] };
    const names = (config: object, env: NodeJS.ProcessEnv = {}) => createNotifiers(NotifyConfig.parse(config), { env }).map((n) => n.name);
    expect(names({})).toEqual([]);
    expect(names({ email })).toEqual(['email']);
    // The simple webhook: PGDRILL_WEBHOOK_URL, format json by default (signed), or PGDRILL_WEBHOOK_FORMAT.
    expect(names({}, { PGDRILL_WEBHOOK_URL: 'https://hooks.example.org/x', PGDRILL_WEBHOOK_SECRET: 'k'.repeat(32) })).toEqual(['json']);
    expect(names({ webhookFormat: 'slack' }, { PGDRILL_WEBHOOK_URL: 'https://hooks.example.org/x' })).toEqual(['slack']);
    expect(names({ webhooks: [] }, { PGDRILL_WEBHOOK_URL: 'https://hooks.example.org/x' })).toEqual([]);
    expect(
      names({ webhooks: [{ format: 'slack' }, { format: 'slack', urlEnv: 'OPS_SLACK' }, { format: 'pagerduty' }] }, { PGDRILL_WEBHOOK_URL: 'https://a.example/x', OPS_SLACK: 'https://b.example/y', PGDRILL_PAGERDUTY_ROUTING_KEY: 'r'.repeat(32) }),
    ).toEqual(['slack', 'slack-2', 'pagerduty']);

    const failure = (config: object, env: NodeJS.ProcessEnv = {}) => {
      try {
        createNotifiers(NotifyConfig.parse(config), { env });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).exitCode).toBe(3);
        return (error as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(failure({}, { PGDRILL_WEBHOOK_URL: 'https://hooks.example.org/x' })).toMatch(/webhook json: the environment variable PGDRILL_WEBHOOK_SECRET is not set/);
    expect(failure({ webhooks: [{ format: 'slack' }] })).toMatch(/webhook slack: the environment variable PGDRILL_WEBHOOK_URL is not set/);
    expect(failure({ webhooks: [{ format: 'pagerduty' }] })).toMatch(/PGDRILL_PAGERDUTY_ROUTING_KEY is not set/);
    expect(failure({ email: { ...email, from: undefined } })).toMatch(/no sender address.*PGDRILL_MAIL_FROM/);
    expect(failure({ email: { ...email, to: [] } })).toMatch(/no recipients.*PGDRILL_NOTIFY_EMAIL/);
    expect(failure({ email: { ...email, to: undefined, recipientsQuery: 'select email from users' } })).toMatch(/recipientsQuery needs the source database URL/);
    expect(failure({ email: { to: ['ops@example.org'] } })).toMatch(/no SMTP server.*PGDRILL_SMTP_URL/);
    expect(failure({ email: { ...email, smtpUrl: 'smtp://mail.example.org' } })).toMatch(/password is set .* names no user/);
  });
});

describe('notifyAll', () => {
  /** A fake: fails its first `failures` calls. Real notifiers cannot be told to fail a given number of times. */
  function flakyNotifier(name: string, failures: number): Notifier & { calls: number } {
    const notifier = {
      name,
      calls: 0,
      async notify() {
        notifier.calls += 1;
        if (notifier.calls <= failures) throw new Error(`${name} failure ${notifier.calls}`);
      },
    };
    return notifier;
  }

  it('retries each notifier on its own and reports the ones that failed every try, without throwing', async () => {
    const recovers = flakyNotifier('recovers', 2);
    const broken = flakyNotifier('broken', Infinity);
    const reported: Array<[string, string, number]> = [];
    const result = await notifyAll([recovers, broken], jobFailed(), {
      attempts: 3,
      backoffMs: 1,
      onFailure: (name, error, attempts) => {
        reported.push([name, error.message, attempts]);
        throw new Error('a broken handler is ignored');
      },
    });
    expect(recovers.calls).toBe(3);
    expect(broken.calls).toBe(3);
    expect(result.delivered).toEqual(['recovers']);
    expect(result.failed.map((f) => f.notifier)).toEqual(['broken']);
    expect(reported).toEqual([['broken', 'broken failure 3', 3]]);
  });

  it('stops retrying when its signal aborts', async () => {
    const broken = flakyNotifier('broken', Infinity);
    const controller = new AbortController();
    controller.abort();
    const result = await notifyAll([broken], jobFailed(), { attempts: 5, backoffMs: 60_000, signal: controller.signal });
    expect(broken.calls).toBe(1);
    expect(result.failed[0]).toMatchObject({ notifier: 'broken', attempts: 1 });
  });
});
