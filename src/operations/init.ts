import { constants } from 'node:fs';
import { appendFile, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/index.ts';

// `pgdrill init`: the files a project needs to use pgdrill, from templates/init/. Never overwrites:
// a file that exists is skipped and reported.

const GITIGNORE_LINES = ['reports/', 'pgdrill-demo/', '.pgdrill/'];

export interface InitResult {
  /** Paths relative to the project, written now. */
  written: string[];
  /** Paths that existed and were left alone. */
  skipped: string[];
  /** Lines added to .gitignore (created when missing). */
  gitignoreAdded: string[];
}

const quote = (text: string): string => JSON.stringify(text);

export async function initProject(options: { cwd: string; organisation?: string; system?: string }): Promise<InitResult> {
  const from = path.join(PACKAGE_ROOT, 'templates/init');
  // The template leaves the identity commented out; given on the command line, it is written in.
  const identity = (text: string): string =>
    text
      .replace("// organisation: 'Your organisation',", options.organisation ? `organisation: ${quote(options.organisation)},` : '$&')
      .replace("// system: 'The system this database serves',", options.system ? `system: ${quote(options.system)},` : '$&');
  const files: Array<{ target: string; source: string; fill?: (text: string) => string }> = [
    { target: 'pgdrill.config.ts', source: 'pgdrill.config.ts', fill: identity },
    { target: 'drills/example.drill.ts', source: 'example.drill.ts' },
    { target: '.github/workflows/pgdrill-backup.yml', source: 'workflows/pgdrill-backup.yml' },
    { target: '.github/workflows/pgdrill-drill.yml', source: 'workflows/pgdrill-drill.yml' },
  ];
  const result: InitResult = { written: [], skipped: [], gitignoreAdded: [] };
  for (const file of files) {
    const target = path.join(options.cwd, file.target);
    await mkdir(path.dirname(target), { recursive: true });
    try {
      if (file.fill) await writeFile(target, file.fill(await readFile(path.join(from, file.source), 'utf8')), { flag: 'wx' });
      else await copyFile(path.join(from, file.source), target, constants.COPYFILE_EXCL);
      result.written.push(file.target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      result.skipped.push(file.target);
    }
  }
  const gitignore = path.join(options.cwd, '.gitignore');
  const existing = await readFile(gitignore, 'utf8').catch(() => '');
  const present = new Set(existing.split('\n').map((line) => line.trim()));
  result.gitignoreAdded = GITIGNORE_LINES.filter((line) => !present.has(line) && !present.has(line.replace(/\/$/, '')));
  if (result.gitignoreAdded.length > 0) {
    const separator = existing === '' || existing.endsWith('\n') ? '' : '\n';
    await appendFile(gitignore, `${separator}# pgdrill: drill reports, demo backups, local service state\n${result.gitignoreAdded.join('\n')}\n`);
  }
  return result;
}
