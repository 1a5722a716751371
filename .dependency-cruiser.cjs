// Module boundaries of pgdrill, checked by `pnpm lint` (docs/architecture.md, "Module map").
// - No import cycle anywhere (type-only imports included).
// - Floors: a module imports only modules on its own floor or below (lower floors never know
//   about drills, reports, the service or the CLI).
// - Front doors: code outside a module imports it through its index.ts (or a named public entry),
//   so a module's index decides what loads with it.

/** Lowest floor first. */
const FLOORS = [
  ['errors', 'format', 'lifecycle'],
  ['config', 'crypto', 'storage', 'pgtools', 'redistools', 'streams'],
  ['catalog', 'inspect', 'files'],
  ['dump', 'retention', 'restore', 'sandbox', 'evidence', 'pitr'],
  ['report', 'notify', 'check', 'health'],
  ['drill', 'operations'],
  ['cli', 'service', 'api'],
];

/** Public entries besides each module's index.ts. */
const PUBLIC_ENTRIES = [
  // vitest's drill project loads these by path (vitest.config.ts) and drill files import the test API.
  '^src/drill/test\\.ts$',
  '^src/drill/global-setup\\.ts$',
  // bin/pgdrill.js starts the CLI.
  '^src/cli/main\\.ts$',
];

const group = (modules) => `^src/(${modules.join('|')})/`;

const floorRules = FLOORS.slice(0, -1).map((floor, index) => ({
  name: `floor-${index}-looks-up`,
  comment: `${floor.join(', ')} must not import modules of a higher floor`,
  severity: 'error',
  from: { path: group(floor) },
  to: { path: group(FLOORS.slice(index + 1).flat()) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles make load order fragile and defeat lazy loading',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...floorRules,
    {
      name: 'front-door-in-src',
      comment: "Import another module through its index.ts, so its front decides what loads",
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$', ...PUBLIC_ENTRIES] },
    },
    {
      name: 'front-door-outside-src',
      comment: 'checks/, drills/, bin/ and scripts/ use the public faces of src/ modules',
      severity: 'error',
      from: { path: '^(checks|drills|bin|scripts|fixtures)/' },
      to: { path: '^src/', pathNot: ['^src/[^/]+/index\\.ts$', ...PUBLIC_ENTRIES] },
    },
    {
      name: 'unknown-module',
      comment: 'Every folder in src/ has a floor in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: [group(FLOORS.flat())] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // dist/ is the build's output (the bench's restore library imports it): lint the sources only.
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
