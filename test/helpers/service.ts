// `pgdrill serve|worker` as a child process, with its JSON log collected (the service writes pino
// lines): tests wait for log lines to know what it did.
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { REPO_ROOT } from './pgdrill.ts';

const BIN = path.join(REPO_ROOT, 'bin/pgdrill.js');

export interface Service {
  process: ResultPromise;
  /** JSON log lines so far. */
  lines(): Array<Record<string, unknown>>;
  /** Everything it printed so far. */
  text(): string;
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Starts `pgdrill serve|worker` in `cwd` with only `env` (plus PATH and HOME) and collects its log. */
export function startService(command: 'serve' | 'worker', cwd: string, env: Record<string, string>, args: string[] = []): Service {
  const child = execa('node', [BIN, command, ...args], {
    cwd,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env },
    extendEnv: false,
    reject: false,
    buffer: false,
  });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const lines = () =>
    text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    process: child,
    lines,
    text: () => text,
    async waitFor(match, timeoutMs = 120_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = lines().find(match);
        if (found) return found;
        if (Date.now() > until) throw new Error(`no matching log line within ${timeoutMs} ms; log:\n${text.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}
