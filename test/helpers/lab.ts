// Vitest glue for the network lab. Integration tests need root and `ip netns`; without them
// they must fail loudly, never skip or pass, so a run without privileges cannot look green.
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { Lab, NamespaceSet, type LabOptions } from '../../scripts/lab/lab.js';

export { Lab, NamespaceSet } from '../../scripts/lab/lab.js';

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

/**
 * One lab per test, created in beforeEach and destroyed in afterEach: no test inherits the
 * daemons, addresses, ARP entries or link states of the one before, so a failure cannot
 * cascade. Costs the lab's set-up (a fraction of a second) per test.
 */
export function useFreshLab(o: LabOptions): () => Lab {
  let lab: Lab | undefined;
  beforeEach(async () => {
    requireRoot();
    lab = await Lab.create(o);
  });
  afterEach(async () => {
    const done = lab;
    lab = undefined;
    await done?.destroy();
  });
  return () => {
    if (!lab) throw new Error('useFreshLab(): the lab does not exist (beforeEach failed or has not run)');
    return lab;
  };
}

/**
 * Namespaces for a test file that builds its own topology (a bare veth pair, a bridge with other
 * names): the same NamespaceSet the lab uses, so the same names (carpd-lab-*), address guard and
 * clean-up. Created in beforeAll (after the root check), destroyed in afterAll.
 */
export function useNamespaceSet(): () => NamespaceSet {
  let set: NamespaceSet | undefined;
  beforeAll(() => {
    requireRoot();
    set = new NamespaceSet();
  });
  afterAll(async () => {
    await set?.destroy();
  });
  return () => {
    if (!set) throw new Error('useNamespaceSet(): the namespaces do not exist (beforeAll failed or has not run)');
    return set;
  };
}

export { waitFor } from '../../scripts/lab/wait.js';
