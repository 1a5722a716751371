#!/usr/bin/env node
// Runs the TypeScript CLI directly with Node's built-in type stripping (Node >= 22.12).
await import('../src/cli/main.ts');
