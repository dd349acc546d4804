// Vitest glue for the network lab. Integration tests need root and `ip netns`; without them
// they must fail loudly, never skip or pass, so a run without privileges cannot look green.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { Lab, type LabOptions } from '../../scripts/lab/lab.js';

export { Lab } from '../../scripts/lab/lab.js';

const ROOT_MESSAGE = 'integration tests need root and `ip netns`: run as root (sudo npm test)';

/** Throws when not root or when a namespace cannot be created (e.g. inside a restricted container). */
export function requireRoot(): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error(`${ROOT_MESSAGE} (running as uid ${process.getuid?.() ?? 'unknown'})`);
  }
  const probe = `carpd-lab-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? String(err);
    throw new Error(`${ROOT_MESSAGE}: \`ip netns add\` failed: ${stderr}`);
  }
  execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
}

/** Creates a lab, runs fn, and destroys the lab whatever happens. */
export async function withLab<T>(o: LabOptions, fn: (lab: Lab) => Promise<T>): Promise<T> {
  requireRoot();
  const lab = await Lab.create(o);
  try {
    return await fn(lab);
  } finally {
    await lab.destroy();
  }
}

/**
 * One lab for a whole test file: created in beforeAll, destroyed in afterAll (the lab itself
 * also cleans up on process exit and SIGINT/SIGTERM). Call the returned function inside tests.
 */
export function useLab(o: LabOptions): () => Lab {
  let lab: Lab | undefined;
  beforeAll(async () => {
    requireRoot();
    lab = await Lab.create(o);
  });
  afterAll(async () => {
    await lab?.destroy();
  });
  return () => {
    if (!lab) throw new Error('useLab(): the lab does not exist (beforeAll failed or has not run)');
    return lab;
  };
}

export { waitFor } from '../../scripts/lab/wait.js';
