/**
 * Values built on first use and kept by key: what a takeover sends (netlink message, ARP frame,
 * sockaddr) is built ahead or once, so the takeover itself only sends. Up to `max` keys; past
 * that everything is dropped and built again as needed, so an interface re-created again and
 * again (a new index each time) cannot grow it for ever.
 */
export class Kept<V> {
  private readonly values = new Map<string, V>();

  constructor(private readonly max = 256) {}

  get(key: string, build: () => V): V {
    let value = this.values.get(key);
    if (value === undefined) {
      if (this.values.size >= this.max) this.values.clear();
      value = build();
      this.values.set(key, value);
    }
    return value;
  }
}
