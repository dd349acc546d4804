import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Config } from './config.js';
import { RateLimitedLog, SinkLogger, stderrSink, type Logger } from './log.js';
import { buildAdvertisement, CARP_TTL, IPPROTO_CARP, IPTOS_LOWDELAY } from './protocol/carp.js';
import { AdvertCounter } from './protocol/counter.js';
import { checkPacket, DropCounters, type DropReason, type InputContext } from './protocol/checks.js';
import { encodeIpv4Header, ipv4ToBytes, ipv4ToInt } from './protocol/ipv4.js';
import type { Clock } from './state/clock.js';
import { CarpMachine, type Effect, type MachineEvent, type TimerName } from './state/machine.js';
import { CarpTransport } from './net/transport.js';
import { VipManager } from './host/vip.js';
import { sendGratuitousArp } from './host/garp.js';
import { ScriptRunner } from './host/scripts.js';
import { LinkMonitor } from './host/link-monitor.js';
import { BroadcastGroupNeighbour } from './host/neigh.js';
import { acquireInstanceLock } from './host/instance-lock.js';
import { openSyslog } from './host/syslog.js';
import { daemonizeParent, isDaemonChild, notifyParentReady } from './host/daemonize.js';
import { createPidfile, removePidfile } from './host/pidfile.js';

/**
 * The shell around the pure core: it turns socket packets, timers, link changes and signals
 * into machine events, and carries out the effects the machine returns. Nothing in here
 * decides anything about the election.
 */

const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const;

/** Drop reasons that are normal on a shared segment and only interesting with --debug. */
const QUIET_DROPS: ReadonlySet<DropReason> = new Set(['own-packet', 'other-vhid', 'other-group', 'not-carp']);

const monotonic: Clock = { now: () => performance.now() };

/** After the interface was re-created: how often to retry opening the socket. */
const REOPEN_RETRY_MS = 1000;

export async function runDaemon(config: Config): Promise<number> {
  if (config.daemonize && !isDaemonChild()) return daemonizeParent();
  const daemon = new Daemon(config);
  return daemon.run();
}

class Daemon {
  private readonly logger: SinkLogger;
  private readonly limited: RateLimitedLog;
  private readonly machine: CarpMachine;
  private readonly counter = new AdvertCounter(randomBytes(8).readBigUInt64BE(0));
  private readonly drops = new DropCounters();
  private readonly inputContext: InputContext;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private readonly vip: VipManager;
  private readonly scripts: ScriptRunner;
  private link: LinkMonitor | undefined;
  /** --nomcast only: the neighbour entry that turns our adverts into broadcast frames. */
  private broadcastNeighbour: BroadcastGroupNeighbour | undefined;
  private transport: CarpTransport | undefined;
  /** VIP and ARP work runs one step at a time so a GARP never precedes the address it announces. */
  private hostQueue: Promise<unknown> = Promise.resolve();
  private readonly pendingGarps = new Set<Promise<boolean>>();
  private readonly garpCancel = new AbortController();
  private advertsSent = 0;
  private advertsReceived = 0;
  private sendErrors = 0;
  private stopping = false;
  /** Set once start-up is over; until then shutdown() leaves the cleanup to run(). */
  private started = false;
  private exitCode = 0;
  private resolveExit: ((code: number) => void) | undefined;
  private closeSyslog: (() => Promise<void>) | undefined;
  private releaseInstanceLock: (() => void) | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;

  constructor(private readonly config: Config) {
    this.logger = new SinkLogger(stderrSink(), config.debug);
    this.limited = new RateLimitedLog(this.logger, monotonic);
    this.machine = new CarpMachine(
      {
        advbase: config.advbase,
        advskew: config.advskew,
        deadratio: config.deadratio,
        preempt: config.preempt,
        neutral: config.neutral,
        downScriptOnExit: config.shutdown,
        srcAddress: ipv4ToInt(config.srcip),
      },
      monotonic,
    );
    this.inputContext = {
      srcip: ipv4ToInt(config.srcip),
      group: ipv4ToInt(config.mcast),
      vhid: config.vhid,
      password: config.password,
      vip: ipv4ToBytes(config.vip),
    };
    this.vip = new VipManager({
      interface: config.interface,
      vip: config.vip,
      prefix: config.vipPrefix,
      label: config.vipLabel,
      log: this.logger,
    });
    this.scripts = new ScriptRunner({ timeoutMs: config.scriptTimeoutMs, log: this.logger });
  }

  async run(): Promise<number> {
    const c = this.config;
    const log = this.logger;
    if (isDaemonChild() && c.facility !== 'none') {
      const syslog = openSyslog(c.facility, process.pid);
      this.closeSyslog = syslog.close;
      log.setSink(syslog.sink);
    } else if (isDaemonChild()) {
      log.setSink(() => {});
    } else {
      // A closed stderr (a log pipe that went away) must not become an uncaught EPIPE that
      // takes the VIP down with it: logging just stops.
      process.stderr.on('error', () => log.setSink(() => {}));
    }

    if (c.pidfile !== undefined) {
      const error = createPidfile(c.pidfile);
      if (error !== undefined) {
        log.error(error);
        return 1;
      }
    }

    // One carpd per (network namespace, interface, vhid): a second one would start by removing
    // the first one's VIP as "stale". Taken here, after --daemonize, by the long-lived process.
    const lock = acquireInstanceLock({ interface: c.interface, vhid: c.vhid });
    if (!lock.ok) {
      log.error(lock.message);
      if (c.pidfile !== undefined) removePidfile(c.pidfile);
      return 1;
    }
    this.releaseInstanceLock = lock.release;

    const exited = new Promise<number>((resolve) => {
      this.resolveExit = resolve;
    });
    this.installSignals();

    const failed = await this.startUp();
    if (failed !== undefined || this.stopping) {
      // A start-up failure, or a stop signal that arrived while we were starting: release
      // whatever was set up so far (shutdown() leaves that to us until start-up is over).
      await this.cleanup();
      return failed ?? this.exitCode;
    }
    this.started = true;
    log.info(
      `carpd ${c.vip} on ${c.interface} vhid ${c.vhid} from ${c.srcip}: advbase ${c.advbase}, advskew ${c.advskew}, ` +
        `deadratio ${c.deadratio}${c.preempt ? ', preempt' : ''}${c.noMcast ? ', broadcast' : ''}`,
    );
    this.dispatch({ type: 'start', linkUp: this.link?.up ?? true });
    if (isDaemonChild()) notifyParentReady();
    return exited;
  }

  /**
   * Everything before the election. Returns an exit status on failure. Checks `stopping`
   * after every await, because a SIGTERM may arrive during any of them.
   */
  private async startUp(): Promise<number | undefined> {
    const c = this.config;
    const log = this.logger;
    if (c.manageVip) {
      // A VIP left behind by a crashed run would answer ARP next to the real master's.
      const removed = await this.vip.removeStale();
      if (removed > 0) log.warn(`removed ${c.vip} left on ${c.interface} by an earlier run`);
      if (this.stopping) return undefined;
    }
    if (c.noMcast) {
      const neighbour = new BroadcastGroupNeighbour({ interface: c.interface, group: c.mcast, log });
      if (await neighbour.install()) this.broadcastNeighbour = neighbour;
      else log.error(`--nomcast: adverts will leave in multicast frames, not broadcast ones`);
      if (this.stopping) return undefined;
    }
    if (!this.openTransport()) return 1;
    if (!c.ignoreIfState) {
      this.link = new LinkMonitor({ interface: c.interface, log });
      this.link.on('change', (up) => this.onLinkChange(up));
      // The interface was deleted and created again (ifdown/ifup of a VLAN, a re-plugged NIC):
      // the old socket is bound to a device that no longer exists, deaf and mute. Drop it; a
      // new one is opened when the link comes up (the address may not be back before that).
      this.link.on('replaced', (ifindex) => {
        this.transport?.close();
        this.transport = undefined;
        log.warn(`${c.interface} was re-created (index ${ifindex}): the CARP socket will be reopened`);
      });
      this.link.on('error', (error) => log.error(`link monitor: ${errorText(error)}`));
      await this.link.start();
    }
    return undefined;
  }

  /**
   * Link events reach the machine through here: after the interface was re-created, "up" is
   * passed on only once a new socket is open — until then the machine stays as after a link
   * loss, and we retry every second (the address may come back after the link).
   */
  private onLinkChange(up: boolean): void {
    clearTimeout(this.reopenTimer);
    if (this.stopping) return;
    if (up && this.transport === undefined) {
      if (!this.openTransport((msg) => this.limited.warn('reopen', msg))) {
        this.reopenTimer = setTimeout(() => {
          if (this.link?.up) this.onLinkChange(true);
        }, REOPEN_RETRY_MS);
        return;
      }
      this.logger.warn(`CARP socket reopened on ${this.config.interface}`);
    }
    this.dispatch({ type: 'link', up });
  }

  /** Opens (or re-opens, after the interface was re-created) the CARP socket. */
  private openTransport(report: (message: string) => void = (m) => this.logger.error(m)): boolean {
    const c = this.config;
    this.transport?.close();
    this.transport = undefined;
    try {
      const transport = new CarpTransport({ interface: c.interface, srcip: c.srcip, group: c.mcast });
      transport.on('packet', (datagram) => this.onDatagram(datagram));
      transport.on('error', (error) => {
        // raw-socket closes a socket after an error: without it we can neither hear nor
        // advertise, so give the VIP up and exit non-zero (a supervisor restarts us).
        this.logger.error(`CARP socket error on ${c.interface}: ${errorText(error)}`);
        void this.shutdown('socket failure', 1);
      });
      this.transport = transport;
      return true;
    } catch (error) {
      const hint = /not permitted|EPERM|EACCES/i.test(errorText(error))
        ? ' (carpd needs root, or CAP_NET_RAW and CAP_NET_ADMIN)'
        : '';
      report(`cannot open the CARP socket on ${c.interface}: ${errorText(error)}${hint}`);
      return false;
    }
  }

  // ---- inputs ---------------------------------------------------------------------------

  private dispatch(event: MachineEvent): void {
    let effects: Effect[];
    try {
      effects = this.machine.handle(event);
    } catch (error) {
      // The machine is pure and total; reaching this is a bug, and the safe reaction is to
      // give the address up rather than keep running in an unknown state.
      this.logger.error(`internal error handling ${event.type}: ${errorText(error)}`);
      void this.shutdown('internal error', 70);
      return;
    }
    for (const effect of effects) this.apply(effect);
  }

  private onDatagram(datagram: Buffer): void {
    // Nothing a packet carries may escape this handler.
    try {
      const result = checkPacket(datagram, this.inputContext);
      if (!result.ok) {
        this.drops.increment(result.reason);
        if (QUIET_DROPS.has(result.reason)) {
          this.logger.debug(`dropped advert: ${result.reason}: ${result.detail}`);
        } else {
          // Keyed by the detail (which names the sender), so a second misconfigured peer is
          // not hidden behind the first.
          this.limited.warn(`drop:${result.reason}:${result.detail}`, `dropped advert: ${result.reason}: ${result.detail}`);
        }
        return;
      }
      this.advertsReceived++;
      const ad = result.advert;
      // As ucarp does: adopt the sender's counter (there is no replay protection in ucarp's
      // CARP, and counters that move together keep mixed groups consistent).
      this.counter.adopt(ad.counter);
      this.logger.debug(
        `advert from ${result.src}: vhid ${ad.vhid} advbase ${ad.advbase} advskew ${ad.advskew} counter ${ad.counter}`,
      );
      this.dispatch({
        type: 'advert',
        src: result.src,
        srcAddress: result.srcInt,
        advbase: ad.advbase,
        advskew: ad.advskew,
      });
    } catch (error) {
      this.limited.warn('datagram-handler', `error handling a datagram: ${errorText(error)}`);
    }
  }

  private installSignals(): void {
    for (const sig of SHUTDOWN_SIGNALS) {
      process.on(sig, () => {
        void this.shutdown(`${sig}`, 0);
      });
    }
    process.on('SIGUSR1', () => this.logger.info(this.statusLine()));
    // A bug must not leave the VIP answering on a host that stopped advertising: log it, give
    // the address up with the usual shutdown path, exit 70 (EX_SOFTWARE).
    const fatal = (what: string) => (error: unknown) => {
      this.logger.error(`${what}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`.replace(/\n\s*/g, ' | '));
      void this.shutdown('internal error', 70);
    };
    process.on('uncaughtException', fatal('uncaught exception'));
    process.on('unhandledRejection', fatal('unhandled rejection'));
    process.on('SIGUSR2', () => this.dispatch({ type: 'stepDown' }));
  }

  private statusLine(): string {
    const s = this.machine.status();
    const c = this.config;
    const drops = Object.entries(this.drops.snapshot())
      .filter(([, n]) => n > 0)
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ');
    return (
      `${s.state} on ${c.interface} id ${c.vhid} vip ${c.vip}` +
      `${s.linkUp ? '' : ' (link down)'}${s.steppingDown ? ' (stepping down)' : ''}` +
      ` - adverts sent ${this.advertsSent}, received ${this.advertsReceived}, dropped ${this.drops.total()}` +
      `${drops ? ` (${drops})` : ''}${this.sendErrors ? `, send errors ${this.sendErrors}` : ''}` +
      `${s.lastMaster ? `, last master ${s.lastMaster}` : ''}`
    );
  }

  // ---- effects --------------------------------------------------------------------------

  private apply(effect: Effect): void {
    const c = this.config;
    switch (effect.type) {
      case 'sendAdvert':
        void this.sendAdvert(effect.advbase, effect.advskew);
        break;
      case 'addVip':
        if (c.manageVip) {
          this.onHostQueue(async () => {
            // A MASTER without its address serves nobody while its adverts keep the backups
            // quiet: give MASTER up (bow-out, 3 s hold), then contend again as usual.
            if (!(await this.vip.add()) && this.machine.currentState === 'MASTER') {
              this.dispatch({ type: 'stepDown', reason: `cannot add ${c.vip} to ${c.interface}` });
            }
          });
        }
        break;
      case 'removeVip':
        if (c.manageVip) this.onHostQueue(() => this.vip.remove());
        break;
      case 'garp':
        if (c.manageVip) {
          // arping binds to the VIP, so it goes after the `ip addr add` queued before it.
          this.onHostQueue(async () => this.startGarp());
        } else {
          // The up-script adds the address (ucarp style): announce it once the script is done.
          this.onHostQueue(async () => {
            await this.scripts.idle();
            if (this.machine.currentState === 'MASTER') this.startGarp();
          });
        }
        break;
      case 'runScript': {
        const script = effect.script === 'up' ? c.upscript : c.downscript;
        const args = [c.interface, c.vip, ...(c.xparam !== undefined ? [c.xparam] : [])];
        // Requested even without a script: a missing up-script still cancels a queued down.
        const request = () => this.scripts.request(effect.script, script, args);
        // After the VIP change it follows, so an up-script finds the address in place.
        if (c.manageVip) this.onHostQueue(async () => request());
        else request();
        break;
      }
      case 'armTimer': {
        this.clearTimer(effect.timer);
        const handle = setTimeout(() => {
          this.timers.delete(effect.timer);
          this.dispatch({ type: 'timer', timer: effect.timer });
        }, effect.delayMs);
        this.timers.set(effect.timer, handle);
        break;
      }
      case 'cancelTimer':
        this.clearTimer(effect.timer);
        break;
      case 'transition':
        this.logger.warn(`${effect.from} -> ${effect.to} (${effect.reason})`);
        break;
      case 'log':
        // A rival that never yields makes the machine say the same thing once per advert.
        if (effect.level === 'warn') this.limited.warn(`machine:${effect.message}`, effect.message);
        else this.logger[effect.level](effect.message);
        break;
    }
  }

  private clearTimer(timer: TimerName): void {
    const handle = this.timers.get(timer);
    if (handle !== undefined) clearTimeout(handle);
    this.timers.delete(timer);
  }

  /**
   * arping -c 1 puts its frame on the wire at once but exits only a second later, so it is not
   * awaited where it would hold up a VIP change or a script; shutdown waits for stragglers.
   */
  private startGarp(): void {
    const c = this.config;
    const sent = sendGratuitousArp({
      interface: c.interface,
      vip: c.vip,
      log: this.logger,
      cancelSignal: this.garpCancel.signal,
    });
    this.pendingGarps.add(sent);
    void sent.finally(() => this.pendingGarps.delete(sent));
  }

  private onHostQueue(task: () => Promise<unknown>): void {
    this.hostQueue = this.hostQueue.then(task).catch((error: unknown) => {
      this.logger.error(`host operation failed: ${errorText(error)}`);
    });
  }

  private async sendAdvert(advbase: number, advskew: number): Promise<void> {
    const c = this.config;
    if (!this.transport) return;
    const counter = this.counter.next();
    const payload = buildAdvertisement({ vhid: c.vhid, advbase, advskew, counter, password: c.password, vip: c.vip });
    const header = encodeIpv4Header({
      tos: IPTOS_LOWDELAY,
      id: randomBytes(2).readUInt16BE(0),
      dontFragment: true,
      ttl: CARP_TTL,
      protocol: IPPROTO_CARP,
      src: c.srcip,
      dst: c.mcast,
      payloadLength: payload.length,
    });
    try {
      await this.transport.send(Buffer.concat([header, payload]));
      this.advertsSent++;
      this.logger.debug(`advert sent: advbase ${advbase} advskew ${advskew} counter ${counter}`);
    } catch (error) {
      this.sendErrors++;
      this.limited.warn('send-error', `cannot send advert on ${c.interface}: ${errorText(error)}`);
    }
  }

  // ---- shutdown -------------------------------------------------------------------------

  private async shutdown(why: string, code: number): Promise<void> {
    if (this.stopping) {
      // A second signal: the operator is waiting on us, and the only thing that can take
      // long is a script. Kill it.
      this.logger.warn(`${why} received while stopping: killing any running script`);
      this.scripts.close();
      return;
    }
    this.stopping = true;
    this.exitCode = code;
    this.logger.info(`${why}: stopping`);
    if (!this.started) return; // run() is mid-start-up; it sees `stopping` and cleans up
    try {
      // The bow-out advert and the VIP removal come out of the machine like any other effect.
      const effects = this.machine.handle({ type: 'shutdown' });
      const sends: Promise<void>[] = [];
      for (const effect of effects) {
        if (effect.type === 'sendAdvert') sends.push(this.sendAdvert(effect.advbase, effect.advskew));
        else this.apply(effect);
      }
      await Promise.all(sends);
    } catch (error) {
      this.logger.error(`error while stopping: ${errorText(error)}`);
    } finally {
      await this.cleanup();
      this.resolveExit?.(this.exitCode);
    }
  }

  /**
   * Leaves nothing behind: timers, VIP, arping, link monitor, socket, neighbour entry, then the
   * down-script (which may take up to --script-timeout) and last the pidfile, so the pidfile
   * names a live process for as long as anything of ours runs.
   */
  private async cleanup(): Promise<void> {
    for (const timer of [...this.timers.keys()]) this.clearTimer(timer);
    clearTimeout(this.reopenTimer);
    if (this.config.manageVip) this.onHostQueue(() => this.vip.remove());
    await this.hostQueue;
    // Any arping still lingering has long sent its frame; the VIP is gone now anyway.
    this.garpCancel.abort();
    await Promise.all(this.pendingGarps);
    this.link?.stop();
    this.transport?.close();
    await this.broadcastNeighbour?.remove();
    await this.scripts.idle();
    if (this.config.pidfile !== undefined) removePidfile(this.config.pidfile);
    this.releaseInstanceLock?.();
    await this.closeSyslog?.();
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
