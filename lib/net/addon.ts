import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * carpd's native addon (native/addon.cc): the raw IPv6 socket (lib/net/ipv6-socket.ts) and the
 * host socket for rtnetlink and packet frames (lib/net/host-socket.ts). Loaded on first use,
 * so a carpd that needs neither (IPv4 with --host-io=commands) runs where it was not built.
 */

/** Where node-gyp puts the addon, relative to the package root. */
const ADDON_PATH = join('build', 'Release', 'carpd_native.node');

let addon: unknown;

/**
 * The package root: the nearest directory above this module with a package.json. This file
 * runs from lib/net (tests), dist/lib/net (a checkout) and /usr/lib/carpd/dist/lib/net (the
 * .deb), so a fixed number of '..' would be wrong in one of them.
 */
function packageRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

/** The addon, typed as the caller uses it; `purpose` names what needs it in the error. */
export function loadAddon<T>(purpose: string): T {
  if (addon !== undefined) return addon as T;
  const root = packageRoot();
  const path = join(root, ADDON_PATH);
  if (!existsSync(path)) {
    throw new Error(`${purpose} needs carpd's native addon ${path}, which was not built: run npm ci in ${root}`);
  }
  try {
    addon = createRequire(import.meta.url)(path);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new Error(`carpd's native addon ${path} does not load (${reason}): run npm rebuild in ${root}`);
  }
  return addon as T;
}
