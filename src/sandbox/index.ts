// Sandboxes: throwaway PostgreSQL servers that drills and tests restore into.
//   startSandbox('auto' | 'docker' | 'embedded', options) → Sandbox; sandbox.stop() when done.
// Every live sandbox is also stopped on SIGINT/SIGTERM (exit 130/143) and at process exit.
import { startDockerSandbox, dockerImageFor, isDockerAvailable, isDockerImageAvailable } from './docker.ts';
import { startEmbeddedSandbox } from './embedded.ts';
import type { EmbeddedSandboxOptions } from './embedded.ts';
import type { Sandbox } from './types.ts';

export type { Sandbox, SandboxConnection, SandboxKind, SandboxOptions } from './types.ts';
export type { EmbeddedSandbox, EmbeddedSandboxOptions } from './embedded.ts';
export type { DockerSandbox } from './docker.ts';
export type { PostgresBinaries, PostgresBinary } from './binaries.ts';
export { startEmbeddedSandbox } from './embedded.ts';
export { startDockerSandbox, isDockerAvailable, isDockerImageAvailable, dockerImageFor, SANDBOX_LABEL } from './docker.ts';
export { findPostgresBinaries } from './binaries.ts';
export { stopAllSandboxes, liveSandboxCount } from './registry.ts';
export { startRedisSandbox, type RedisSandbox } from './redis.ts';

export type SandboxChoice = 'auto' | 'docker' | 'embedded';

/**
 * Which kind `auto` resolves to: docker when an engine answers and the image is local or can be
 * pulled, else embedded.
 */
export async function resolveSandboxKind(kind: SandboxChoice, options: Pick<EmbeddedSandboxOptions, 'image' | 'major'>): Promise<'docker' | 'embedded'> {
  if (kind !== 'auto') return kind;
  if (!(await isDockerAvailable())) return 'embedded';
  return (await isDockerImageAvailable(dockerImageFor(options))) ? 'docker' : 'embedded';
}

/** Starts a sandbox of the given kind (`auto`: see resolveSandboxKind). */
export async function startSandbox(kind: SandboxChoice, options: EmbeddedSandboxOptions): Promise<Sandbox> {
  return (await resolveSandboxKind(kind, options)) === 'docker' ? startDockerSandbox(options) : startEmbeddedSandbox(options);
}
