// Child process for the signal tests: starts an embedded sandbox, prints where it lives as one
// JSON line, then idles until a signal arrives (the sandbox registry's handler must clean up and
// exit 130 / 143).
import { startEmbeddedSandbox } from '../../src/sandbox/index.ts';

const sandbox = await startEmbeddedSandbox({ major: 15 });
console.log(JSON.stringify({ rootDir: sandbox.rootDir, dataDir: sandbox.dataDir, pid: sandbox.pid, port: sandbox.connection.port }));
setInterval(() => undefined, 60_000);
