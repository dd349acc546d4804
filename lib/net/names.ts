/**
 * The kernel's rules for interface names and address labels, in one place: the CLI reports a
 * breach as a usage error, the host layer refuses one as a wiring bug; both ask here.
 */

/** IFNAMSIZ - 1: the kernel's limit for device names and address labels alike. */
export const MAX_IFNAME_BYTES = 15;

/**
 * What the Linux kernel accepts as a device name (dev_valid_name): 1..15 bytes (IFNAMSIZ - 1),
 * not "." or "..", no '/', ':' or whitespace.
 */
export function isValidInterfaceName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name !== '' &&
    Buffer.byteLength(name) <= MAX_IFNAME_BYTES &&
    name !== '.' &&
    name !== '..' &&
    !/[/:\s]/.test(name)
  );
}

/**
 * An `ip addr ... label` value for `iface`: iproute2 refuses a label that does not start with the
 * device name, and the kernel stores at most 15 bytes; spaces and '/' would not survive `ip`'s
 * own parsing. Returns undefined when the label is fine, else what it must be.
 */
export function labelProblem(label: string, iface: string): string | undefined {
  const ok =
    typeof label === 'string' &&
    label.startsWith(iface) &&
    Buffer.byteLength(label) <= MAX_IFNAME_BYTES &&
    !/[\s/]/.test(label);
  return ok ? undefined : `a label starting with "${iface}", at most ${MAX_IFNAME_BYTES} characters, no spaces or "/"`;
}
