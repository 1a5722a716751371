import { readFileSync } from 'node:fs';

/** pgdrill's own version, recorded in every manifest and report. */
export const TOOL_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
