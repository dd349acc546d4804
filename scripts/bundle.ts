// `npm run build` (after tsc): carpd as one file, dist/carpd.cjs, plus V8's code cache for it,
// dist/carpd.cjs.cache. bin/carpd runs the bundle when it is there (dist/lib/ stays the fallback
// and what the tests import).
//
// Why: loading ~400 small ES modules (carpd's own, yargs's, execa's and their dependencies) cost
// carpd about 100 ms of CPU before it did anything, a third of its start to listening; one
// CommonJS file compiled from a code cache costs a fraction of that (see `npm run bench:startup`).
// CommonJS rather than ESM because Node 20 can only feed a code cache to a vm.Script.
//
// Two of yargs's dependencies, cliui and string-width, only lay out yargs's own help screens,
// which carpd never shows (it prints its own help, and yargs's messages are one line); their
// top-level code builds an emoji regex and an Intl.Segmenter, ~20 ms at every start. In the
// bundle they are initialised on first use instead, which is never.
//
// The code cache is made by running `bin/carpd --help` with CARPD_WRITE_CODE_CACHE=1, so it
// holds what the command line needs and was made with the V8 flags bin/carpd sets. V8 checks
// it against its own version, those flags and the source: a cache that does not fit is ignored
// and the bundle compiles as usual, a few ms slower.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BUNDLE = join(ROOT, 'dist', 'carpd.cjs');
export const CODE_CACHE = `${BUNDLE}.cache`;

/** Importers whose use of these modules waits until it is called. */
const DEFERRED: Readonly<Record<string, RegExp>> = {
  cliui: /node_modules\/yargs\/lib\/platform-shims\//,
  'string-width': /node_modules\/yargs\/lib\/platform-shims\//,
};

/**
 * Replaces `import x from 'cliui'` (in yargs's shim) with a function that requires the real
 * module on its first call. esbuild bundles a require() of an ES module as a lazily run
 * initialiser, so the real module's top level runs then, not at start.
 */
const deferModules: Plugin = {
  name: 'carpd-defer-modules',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${Object.keys(DEFERRED).join('|')})$`) }, async (args) => {
      const importer = DEFERRED[args.path];
      if (args.pluginData === 'real' || importer === undefined || !importer.test(args.importer)) return undefined;
      const real = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'real' });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path, namespace: 'carpd-deferred' };
    });
    b.onLoad({ filter: /.*/, namespace: 'carpd-deferred' }, (args) => ({
      // Every use in yargs is a call of the default export.
      contents:
        `let real;\n` +
        `export default function deferred(...args) {\n` +
        `  real ??= require(${JSON.stringify(args.path)}).default;\n` +
        `  return real(...args);\n` +
        `}\n`,
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

export async function bundle(): Promise<void> {
  rmSync(CODE_CACHE, { force: true });
  await build({
    entryPoints: [join(ROOT, 'lib', 'cli', 'main.ts')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // The native addon is loaded from node_modules, as before.
    external: ['raw-socket'],
    // import.meta does not exist in CommonJS: carpd (finding its package.json) and yargs (its
    // locale directory) get the bundle's own URL instead.
    banner: { js: `var __carpdImportMetaUrl = require('node:url').pathToFileURL(__filename).href;` },
    define: { 'import.meta.url': '__carpdImportMetaUrl' },
    plugins: [deferModules],
    // Names kept and no minification: a stack trace in a log should still read.
    legalComments: 'none',
    logLevel: 'warning',
  });
  const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'carpd'), '--help'], {
    env: { ...process.env, CARPD_WRITE_CODE_CACHE: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (run.status !== 0 || !existsSync(CODE_CACHE)) {
    throw new Error(`bin/carpd --help did not write ${CODE_CACHE} (exit ${String(run.status)})`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  bundle().catch((error: unknown) => {
    process.stderr.write(`bundle: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
