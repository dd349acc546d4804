/**
 * Replay protection for CARP (--replay-protect): a counter a receiver can check, and the check.
 *
 * The threat (issue 11): anyone on the segment can record a master's adverts and send them
 * again after it died. Their digests are valid forever, so every backup keeps hearing a master
 * and never takes over. CARP's HMAC covers the version, type, vhid, the VIPs and the 64-bit
 * counter, and nothing else: not the IPv4 source, not advbase or advskew. So the counter is the
 * only field a receiver can trust to tell a fresh advert from an old one.
 *
 * What ucarp does with it makes any check impossible (counter.ts): it sends a fresh random
 * counter with every advert until it hears someone, then adopts the sender's counter. So the
 * check applies to groups of carpd nodes that all run --replay-protect, and to no ucarp peer.
 *
 * The counter, 64 bits, most significant first:
 *
 *   | 48 bits: clock                                   | 16 bits: sender id |
 *     = max(previous clock + 1, wall-clock ms × 16)      = low 16 bits of our source address
 *
 *  - The clock part is wall-clock time in 1/16 ms, so a restarted sender starts above where it
 *    stopped without any state on disk: a restart takes far more than a millisecond. It is
 *    monotonic per sender whatever the clock does while the process runs: each advert takes
 *    at least the previous value + 1 (+1 is 1/16 ms, so a sender "borrows" from the future only
 *    when its clock stood still or went back). 48 bits of 1/16 ms last until the year 2527.
 *  - The sender id ties the counter, which the digest covers, to the sender. Receivers keep the
 *    last counter per id, not per source address: the source address is not authenticated, and
 *    per-address memory would let a replayer rewrite the source to a fresh address and be
 *    heard as a new sender. The id must also match the packet's source (its low 16 bits, the
 *    last two octets of an IPv4 address; distinct for every node of one subnet up to a /16),
 *    so a replay with a rewritten source is refused outright.
 *
 * The receiver's rule: a valid-digest advert is accepted only if its sender id matches its
 * source and its counter is above the last one accepted from that id; else the drop reason is
 * 'replayed'. The first advert from an id is accepted (there is nothing to compare with).
 * Memory is bounded: at most `maxSenders` ids, least recently heard forgotten first; only
 * holders of the password can create ids, so a flood cannot evict anyone.
 *
 * Limits and failure modes (README "Replay protection", man page):
 *  - Clock stepped back across a restart: a sender whose clock went back by D and that then
 *    restarts within D sends counters below its last, and every receiver drops its adverts as
 *    'replayed' for up to D (the backups take over: two masters until then). A step smaller
 *    than the restart takes (most NTP corrections) does no harm, nor does any step while the
 *    process runs. Restarting the receivers clears their memory.
 *  - A receiver's memory lives in its process: a carpd that (re)starts while a replay is under
 *    way takes the first replayed advert it hears, and the recorded ones after it, as fresh.
 *  - Every node of the vhost must run --replay-protect: a peer without it (carpd without the
 *    option, any ucarp) sends counters that do not carry its address, so its adverts are
 *    dropped and both nodes end up MASTER.
 *  - No freshness window against the receiver's own clock: that would make a node whose clock
 *    is off by more than the window drop its master's adverts, the same split brain, for good.
 */
import { intToIpv4 } from './ipv4.js';
import { addressFromKey } from '../net/address.js';

const SENDER_ID_BITS = 16n;
const SENDER_ID_MASK = (1n << SENDER_ID_BITS) - 1n;
const CLOCK_BITS = 48n;
const CLOCK_MASK = (1n << CLOCK_BITS) - 1n;
/** Clock ticks per wall-clock millisecond: 4 bits below the millisecond. */
const TICKS_PER_MS = 16;

/** Receivers remember this many senders per vhost by default (a group has a handful). */
export const DEFAULT_MAX_SENDERS = 64;

/**
 * The sender id of a source address: its low 16 bits (an IPv4 address as an unsigned or signed
 * 32-bit int, an IPv6 one as a bigint).
 */
export function senderIdOfIpv4(srcInt: number | bigint): number {
  return typeof srcInt === 'bigint' ? Number(srcInt & 0xffffn) : srcInt & 0xffff;
}

/** The sender id a counter carries. */
export function counterSenderId(counter: bigint): number {
  return Number(counter & SENDER_ID_MASK);
}

/** The wall-clock time (ms since the epoch) a counter's clock part stands for. */
export function counterTimeMs(counter: bigint): number {
  return Number(counter >> SENDER_ID_BITS) / TICKS_PER_MS;
}

function describeCounter(counter: bigint): string {
  const ms = counterTimeMs(counter);
  // Out of Date's range only for a counter that is not one of ours at all.
  const when = Number.isFinite(ms) && ms <= 8.64e15 ? new Date(Math.floor(ms)).toISOString() : 'beyond any date';
  return `${counter} (${when})`;
}

/** The low two octets as they appear in an IPv4 address, for messages: "0.1" for x.y.0.1. */
function idText(id: number): string {
  return intToIpv4(id).split('.').slice(2).join('.');
}

/**
 * The sending side: a counter monotonic per sender, above the last one even across a restart
 * (as long as the wall clock did not go back by more than the restart took). Never adopts a
 * received counter: that would let the slowest clock of the group set ours, and lower it.
 */
export class TimedCounter {
  #clock = 0n;
  readonly #senderId: bigint;

  /** `senderId`: senderIdOfIpv4(--srcip). */
  constructor(senderId: number) {
    if (!Number.isInteger(senderId) || senderId < 0 || senderId > 0xffff) {
      throw new RangeError(`sender id must be an integer 0..65535, got ${senderId}`);
    }
    this.#senderId = BigInt(senderId);
  }

  /** The counter for the next advert; `nowMs` is the wall clock (ms since the epoch). */
  next(nowMs: number): bigint {
    const fromClock = BigInt(Math.max(0, Math.floor(nowMs * TICKS_PER_MS))) & CLOCK_MASK;
    const following = (this.#clock + 1n) & CLOCK_MASK;
    this.#clock = fromClock > following ? fromClock : following;
    return (this.#clock << SENDER_ID_BITS) | this.#senderId;
  }
}

/** Why an advert was refused, for the 'replayed' drop's log line. */
export interface Replayed {
  readonly detail: string;
}

/**
 * The receiving side: the last counter accepted from each sender id, at most `maxSenders` of
 * them (least recently heard forgotten first).
 */
export class ReplayGuard {
  /** Map iteration order is insertion order: re-inserting on every hit keeps it LRU. */
  readonly #last = new Map<number, bigint>();

  constructor(readonly maxSenders: number = DEFAULT_MAX_SENDERS) {
    if (!Number.isInteger(maxSenders) || maxSenders < 1) throw new RangeError(`maxSenders must be a positive integer, got ${maxSenders}`);
  }

  /**
   * Checks a valid-digest advert from `srcInt` (IPv4, 32-bit) with `counter`; remembers it when
   * accepted. Returns undefined to accept, or why it was refused.
   */
  admit(srcInt: number | bigint, counter: bigint): Replayed | undefined {
    const src = addressFromKey(srcInt).text;
    const id = counterSenderId(counter);
    if (id !== senderIdOfIpv4(srcInt)) {
      return {
        detail:
          `from ${src}: counter ${counter} names sender x.x.${idText(id)}, not ${src}: a replayed advert with a rewritten source, ` +
          'or a peer that does not run --replay-protect (ucarp cannot)',
      };
    }
    const last = this.#last.get(id);
    if (last !== undefined && counter <= last) {
      return {
        detail:
          `from ${src}: counter ${describeCounter(counter)} is not above the last one heard from it, ${describeCounter(last)}: ` +
          "a replayed advert, or the sender's clock went back across a restart",
      };
    }
    this.#last.delete(id);
    this.#last.set(id, counter);
    if (this.#last.size > this.maxSenders) this.#last.delete(this.#last.keys().next().value!);
    return undefined;
  }

  /** How many senders are remembered. */
  get size(): number {
    return this.#last.size;
  }
}
