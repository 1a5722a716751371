#!/usr/bin/env -S node --max-semi-space-size=1
// Runs the TypeScript CLI directly with Node's built-in type stripping (Node >= 22.18).
// --max-semi-space-size=1 (also in package.json's scripts): backups stream through short-lived
// 1 MiB buffers, and a small young generation collects them early, keeping the peak RSS flat
// (~130 MB instead of ~180 MB here) at no measurable cost in speed.
await import('../src/cli/main.ts');
