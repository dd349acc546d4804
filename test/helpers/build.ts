// Vitest global setup: integration tests run the real bin/carpd, which runs dist/carpd.cjs (the
// bundle of dist/lib/); build both once per run so they never exercise stale JavaScript.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.json`], {
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [`${root}dist/scripts/bundle.js`], { stdio: 'inherit' });
}
