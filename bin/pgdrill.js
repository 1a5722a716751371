#!/usr/bin/env -S node --max-semi-space-size=1 --no-incremental-marking
// Runs the TypeScript CLI directly with Node's built-in type stripping (Node >= 22.18).
// Node options (also in package.json's scripts):
// --max-semi-space-size=1: backups stream through short-lived 1 MiB buffers, and a small young
//   generation collects them early, keeping the peak RSS flat (~130 MB instead of ~180 MB here)
//   at no measurable cost in speed.
// --no-incremental-marking: in a long-lived worker (larger heap) V8 otherwise starts incremental
//   marking every ~0.1 s while a backup streams, ~60 full collections per GB that cost 1.5–3 s of
//   CPU; without it the worker collects when the heap is full, like the CLI (one full GC per GB).
await import('../src/cli/main.ts');
