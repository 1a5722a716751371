// A real SMTP server on 127.0.0.1 (npm smtp-server) that requires a login and keeps every message
// it accepts, parsed with mailparser, for tests of e-mail notifications.
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** RCPT TO addresses of the SMTP envelope. */
  envelopeTo: string[];
  /** The message exactly as it arrived. */
  raw: string;
  parsed: ParsedMail;
}

export interface StartedSmtpServer {
  port: number;
  /** `smtp://{user}@127.0.0.1:{port}` (no password: that goes in PGDRILL_SMTP_PASSWORD). */
  url: string;
  mails: ReceivedMail[];
  /** Every login attempt: the user and password the client sent. */
  logins: Array<{ username: string; password: string }>;
  /** Resolves when `count` messages have arrived. */
  waitForMails(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

export async function startSmtpServer(options: { user: string; password: string }): Promise<StartedSmtpServer> {
  const mails: ReceivedMail[] = [];
  const logins: StartedSmtpServer['logins'] = [];
  const server = new SMTPServer({
    // Plain SMTP on loopback: no STARTTLS (its self-signed certificate would fail verification).
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push({ username: auth.username ?? '', password: auth.password ?? '' });
      if (auth.username === options.user && auth.password === options.password) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (parsed) => {
            mails.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address), raw, parsed });
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://${encodeURIComponent(options.user)}@127.0.0.1:${port}`,
    mails,
    logins,
    async waitForMails(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (mails.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} mail(s), got ${mails.length}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return mails.slice(0, count);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
