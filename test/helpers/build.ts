// Vitest global setup: integration tests run the real bin/carpd, which loads dist/; build it
// once per run so they never exercise stale JavaScript.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.json`], {
    stdio: 'inherit',
  });
}
