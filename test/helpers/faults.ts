// Faults real parts produce on demand, and what a run leaves behind:
// - a TCP server on 127.0.0.1 that accepts connections and never answers (a hung proxy, a
//   firewall that swallows packets after the handshake) — for a PostgreSQL source or an S3 endpoint;
// - the live processes of a tool (pg_dump, pg_restore) that belong to one run, found through /proc;
// - a folder whose entries cannot be deleted, even by root (a real EPERM from the file system).
import { readdir, readFile, chmod } from 'node:fs/promises';
import net from 'node:net';
import { execa } from 'execa';

export interface SilentServer {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** When each connection was accepted (Date.now()). */
  readonly acceptedAt: readonly number[];
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 that accepts every connection and never sends a byte. */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<net.Socket>();
  const acceptedAt: number[] = [];
  const server = net.createServer((socket) => {
    acceptedAt.push(Date.now());
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return acceptedAt.length;
    },
    acceptedAt,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `check` every `intervalMs` until it returns true; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface ProcessMatch {
  /** Every one of these must be in the process's argv. */
  argv?: readonly string[];
  /** Every one of these `NAME=value` pairs must be in its environment. */
  env?: Readonly<Record<string, string>>;
}

/**
 * Live (not zombie) processes whose executable name is `name` and that match: how a test finds the
 * pg_dump or pg_restore of its own run on a machine where other runs use the same tools.
 */
export async function liveProcesses(name: string, match: ProcessMatch = {}): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ...: comm may hold spaces and parentheses, so split at the last ')'.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (comm !== name || state === 'Z' || state === 'X') continue;
      const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      if (!(match.argv ?? []).every((arg) => argv.includes(arg))) continue;
      if (match.env) {
        const environ = (await readFile(`/proc/${entry}/environ`, 'utf8')).split('\0');
        if (!Object.entries(match.env).every(([key, value]) => environ.includes(`${key}=${value}`))) continue;
      }
      found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/**
 * Makes nothing in `dir` deletable (nor creatable) until the returned function is called: a real
 * EPERM from the file system. As root (who ignores modes) the immutable attribute (`chattr +i`),
 * otherwise mode 0500.
 */
export async function freezeDirectory(dir: string): Promise<() => Promise<void>> {
  if (process.getuid?.() === 0) {
    await execa('chattr', ['+i', dir]);
    return async () => {
      await execa('chattr', ['-i', dir]);
    };
  }
  await chmod(dir, 0o500);
  return () => chmod(dir, 0o700);
}
