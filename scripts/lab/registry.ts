// Last-resort teardown. Tests call destroy() in afterAll, but a crash, an uncaught exception,
// Ctrl-C during `npm run demo` or vitest killing a worker must not leave namespaces (and
// ucarp/carpd processes holding VIPs) behind. Each live lab registers its namespaces here; the
// handlers are installed while at least one lab exists and removed after the last is destroyed.
import { runSyncQuietly } from './command.js';

// Per lab, the namespaces it has actually created so far (a live set, filled during setup).
const liveNamespaces = new Map<string, ReadonlySet<string>>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

/** Kills every process in the namespaces and deletes them, synchronously (usable in 'exit'). */
export function destroyNamespacesSync(namespaces: Iterable<string>): void {
  for (const ns of namespaces) {
    for (const pid of runSyncQuietly('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  for (const ns of namespaces) runSyncQuietly('ip', ['netns', 'del', ns]);
}

function cleanupAll(): void {
  for (const namespaces of liveNamespaces.values()) destroyNamespacesSync([...namespaces]);
  liveNamespaces.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  cleanupAll();
  uninstall();
  // Listening to a signal cancels Node's default "exit"; re-raise it so the process still dies
  // with the conventional status, unless someone else also handles the signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', cleanupAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

export function registerLab(id: string, namespaces: ReadonlySet<string>): void {
  liveNamespaces.set(id, namespaces);
  install();
}

export function unregisterLab(id: string): void {
  liveNamespaces.delete(id);
  if (liveNamespaces.size === 0) uninstall();
}
