import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * pgdrill's own folder (package.json, templates/): two levels above this module from source
 * (`src/config/`) and in the bundled CLI (`dist/cli/`), three in the built modules (`dist/src/config/`).
 */
export const PACKAGE_ROOT: string = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const found = [path.resolve(here, '../..'), path.resolve(here, '../../..')].find((dir) => {
    const manifest = path.join(dir, 'package.json');
    return existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'pgdrill';
  });
  if (!found) throw new Error(`pgdrill's package.json was not found above ${here}; reinstall pgdrill`);
  return found;
})();

/**
 * Where pgdrill's own `src/`, `checks/` and `drills/` are: the package root when it runs from source
 * (this module is TypeScript), `dist/` when built (the bundled CLI's chunks sit elsewhere).
 */
export const CODE_ROOT: string = import.meta.url.endsWith('.ts') ? PACKAGE_ROOT : path.join(PACKAGE_ROOT, 'dist');

/** pgdrill's own version, recorded in every manifest and report. */
export const TOOL_VERSION: string = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
