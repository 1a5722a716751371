import { defineCheck } from '../src/check/index.ts';
import { describeExtensions } from '../src/inspect/index.ts';

export default defineCheck({
  id: 'extensions',
  title: 'The sandbox offers every extension the backup needs',
  description: "Each extension recorded in the manifest (pg_extension in the backup's snapshot) is available in the sandbox (pg_available_extensions), checked before restoring; another version is a warning.",
  needsDatabase: false,
  pointInTime: "a physical restore carries the cluster's catalog as it was; there is no manifest of extensions to compare with",
  async run({ manifest, state }) {
    if (!manifest.extensions) return { status: 'skip', summary: 'the manifest records no extensions (taken before pgdrill recorded them)' };
    const ext = state.extensions;
    if (!ext) return { status: 'skip', summary: 'not compared: no sandbox was started' };
    const evidence = { required: ext.required, missing: ext.missing, versionDifferences: ext.versionDifferences };
    if (ext.missing.length > 0) return { status: 'fail', summary: `missing in the sandbox: ${describeExtensions(ext.missing)}`, evidence };
    const all = `${ext.required.length} extension(s) available in the sandbox (${ext.required.map((e) => e.name).join(', ')})`;
    if (ext.versionDifferences.length > 0) {
      const differing = ext.versionDifferences.map((d) => `${d.name} ${d.source} in the backup, ${d.target} in the sandbox`).join('; ');
      return { status: 'warn', summary: `${all}; other version: ${differing}`, evidence };
    }
    return { status: 'pass', summary: `${all}, same versions`, evidence };
  },
});
