// Last-resort teardown. Tests call destroy() in afterAll, but a crash, an uncaught exception,
// Ctrl-C during `npm run demo` or vitest killing a worker must not leave namespaces (and
// ucarp/carpd processes holding VIPs) behind. Each live namespace set registers a synchronous
// clean-up here; the handlers are installed while at least one set exists and removed after
// the last is destroyed.

// Per live set, the function that kills its processes and deletes its namespaces synchronously
// (usable in 'exit', where nothing asynchronous runs any more). Keyed by the function itself,
// not the set's name: a second set given a taken name must not unregister the first.
const liveSets = new Set<() => void>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

function cleanupAll(): void {
  for (const destroySync of liveSets) destroySync();
  liveSets.clear();
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

export function registerLab(destroySync: () => void): void {
  liveSets.add(destroySync);
  install();
}

export function unregisterLab(destroySync: () => void): void {
  liveSets.delete(destroySync);
  if (liveSets.size === 0) uninstall();
}
