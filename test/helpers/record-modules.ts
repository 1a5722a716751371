// Preloaded with `node --import` by the module-loading test: records every module the process
// resolves (imports and requires, static and dynamic) and writes the list, one URL per line, to
// $PGDRILL_MODULE_LOG when the process exits.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const loaded = new Set<string>();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    loaded.add(result.url);
    return result;
  },
});
process.on('exit', () => {
  if (process.env.PGDRILL_MODULE_LOG) writeFileSync(process.env.PGDRILL_MODULE_LOG, [...loaded].join('\n'));
});
