/**
 * The 64-bit advertisement counter.
 *
 * What ucarp does (carp_prepare_ad and packethandler in carp.c):
 *  - Until it has received one valid advert, it draws a fresh random 64-bit counter for
 *    *every* advert it sends (its "init counter" flag is cleared only on receipt). Captured
 *    from ucarp 1.5.2 (test/fixtures/golden/ucarp-vhid42-love-*.json): three consecutive
 *    adverts carry unrelated counters.
 *  - After a valid advert, it adopts the sender's counter and from then on sends counter + 1
 *    per advert, wrapping 2^64-1 to 0 (ucarp-takeover-*.json: the backup that takes over
 *    sends the old master's last counter + 1, + 2, + 3).
 *  - Nobody checks the counter: ucarp's receive path has no replay check, it only feeds the
 *    counter into the digest. Any counter is accepted by every ucarp peer.
 *
 * carpd starts from one random value (injected by the caller, so this stays pure) and counts
 * up from it, the behaviour ucarp has after its first receipt and that the protocol intends
 * (a monotonic counter is what makes a replay check possible at all). Because receivers do
 * not check it, this is indistinguishable to ucarp peers. Adoption is kept as ucarp does it,
 * so a carpd that took over continues the sequence the old master was sending.
 *
 * With --replay-protect a vhost uses replay.ts's TimedCounter instead, which adopts nothing and
 * which its peers check.
 */
const UINT64_MAX = (1n << 64n) - 1n;

function checkCounter(what: string, n: bigint): void {
  if (typeof n !== 'bigint' || n < 0n || n > UINT64_MAX) {
    throw new RangeError(`${what} must be a bigint 0..2^64-1, got ${String(n)}`);
  }
}

export class AdvertCounter {
  #value: bigint;
  /** True until the first advert is sent or a counter is adopted: the next advert carries #value itself. */
  #fresh = true;

  constructor(initial: bigint) {
    checkCounter('initial counter', initial);
    this.#value = initial;
  }

  /** The counter for the next advert to send. The first call returns the initial value. */
  next(): bigint {
    if (this.#fresh) {
      this.#fresh = false;
    } else {
      this.#value = this.#value === UINT64_MAX ? 0n : this.#value + 1n;
    }
    return this.#value;
  }

  /** Take over the counter of a valid advert just received: the next advert sends received + 1. */
  adopt(received: bigint): void {
    checkCounter('received counter', received);
    this.#value = received;
    this.#fresh = false;
  }

  /** The counter most recently sent or adopted (the initial value before either). */
  get value(): bigint {
    return this.#value;
  }
}
