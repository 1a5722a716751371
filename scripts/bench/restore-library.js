// What the restore candidate (restore-candidate.js) uses of the built package (dist/src). `pnpm
// bench` bundles this file as `pnpm build` bundles the CLI, so the candidate's process pays what
// an installed pgdrill's drill and `pgdrill restore` pay (they run from the bundle).
export { loadConfig } from '../../dist/src/config/index.js';
export { loadKeyring } from '../../dist/src/crypto/index.js';
export { listBackups } from '../../dist/src/catalog/index.js';
export { fetchBackup, restoreFetched } from '../../dist/src/restore/index.js';
export { startEmbeddedSandbox } from '../../dist/src/sandbox/index.js';
export { openStorage } from '../../dist/src/storage/index.js';
