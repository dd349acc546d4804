/**
 * The process layer: what one carpd process owns whatever number of virtual hosts it carries —
 * the log sink, the pidfile and instance locks, signals (fanned out to every vhost), the control
 * socket and the metrics endpoint, reload, and the exit status. It builds one Link per interface
 * and one VirtualHost per vhost and wires them; it decides nothing about the election.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { linkKey, lockKey, lockOptions, sameVhostConfig, sourceFromLink, vhostFamily, type Config, type VhostConfig } from '../config.js';
import type { ControlTarget, DaemonSnapshot, ReloadResult } from '../control/types.js';
import { errorText } from '../errors.js';
import { HostBatcher } from '../host/batch.js';
import { HealthHub } from './health.js';
import { daemonizeParent, isDaemonChild, notifyParentReady } from '../host/daemonize.js';
import { Launcher, useLauncher } from '../host/launcher.js';
import { HostIo, useHostIo } from '../host/host-io.js';
import { VipGuardian } from '../host/guardian.js';
import { acquireInstanceLock, instanceLockPath } from '../host/instance-lock.js';
import { LinkMonitor } from '../host/link-monitor.js';
import { BroadcastGroupNeighbour } from '../host/neigh.js';
import { createPidfile, removePidfile } from '../host/pidfile.js';
import { currentNetnsId } from '../host/run-dir.js';
import { openSyslog } from '../host/syslog.js';
import { RateLimitedLog, SinkLogger, stderrSink, type Logger } from '../log.js';
import type { LimiterTimers } from '../log/limiter.js';
import { CarpTransport } from '../net/transport.js';
import { Ipv6Socket } from '../net/ipv6-socket.js';
import { LinkLocalSource } from '../host/link-local.js';
import { IPPROTO_CARP } from '../protocol/constants.js';
import type { Clock } from '../state/clock.js';
import { GroupWiring } from './groups.js';
import { createHostPort } from './host.js';
import { Link, type OpenSocket, type OpenSocket6 } from './link.js';
import { realTimers } from './ports.js';
import { VirtualHost } from './vhost.js';

const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const;

const monotonic: Clock = { now: () => performance.now() };

/**
 * How many vhosts look for stale VIPs at once at start: their listings and removals are
 * gathered into one `ip` call each (lib/host/batch.ts), so this only bounds memory.
 */
const STALE_SCAN_CONCURRENCY = 256;

export type ReloadParse = { readonly ok: true; readonly config: Config } | { readonly ok: false; readonly message: string };

export interface RunOptions {
  /** carpd's version, for status output. */
  readonly version: string;
  /** Parses the config file again (`carpd reload`, SIGHUP with a sectioned config). */
  readonly reloadConfig?: () => ReloadParse;
}

export async function runDaemon(config: Config, options: RunOptions): Promise<number> {
  if (config.process.daemonize && !isDaemonChild()) return daemonizeParent();
  return new Daemon(config, options).run();
}

/** Prefixes a vhost's lines with its name when the process carries named vhosts. */
function namedLogger(base: Logger, prefix: string): Logger {
  if (prefix === '') return base;
  return {
    debug: (m) => base.debug(prefix + m),
    info: (m) => base.info(prefix + m),
    warn: (m) => base.warn(prefix + m),
    error: (m) => base.error(prefix + m),
  };
}

/**
 * The rate limiter's window timers. Unref'd: a summary still pending never keeps the process
 * alive (cleanup flushes them anyway).
 */
const limiterTimers: LimiterTimers = {
  set: (delayMs, fire) => setTimeout(fire, delayMs).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

const openRawSocket: OpenSocket = (o) => {
  const transport = new CarpTransport({ interface: o.interface, srcip: o.srcip, groups: o.groups });
  transport.on('packet', o.onPacket);
  transport.on('error', o.onError);
  return transport;
};

/**
 * The IPv6 socket of a link (lib/net/ipv6-socket.ts, carpd's addon): protocol 112, hop limit
 * 255, the groups joined on the interface; the adverts leave from the link-local address
 * LinkLocalSource finds, unless the vhost names its own --srcip.
 */
const openIpv6Socket: OpenSocket6 = (o) => {
  const socket = new Ipv6Socket({ interface: o.interface, protocol: IPPROTO_CARP });
  try {
    for (const group of o.groups) socket.join(group);
  } catch (error) {
    socket.close();
    throw error;
  }
  socket.on('packet', o.onPacket);
  socket.on('error', o.onError);
  const linkLocal = new LinkLocalSource(o.interface);
  return {
    send: (payload, to, src) => socket.send(payload, to, src),
    join: (group) => socket.join(group),
    close: () => socket.close(),
    source: () => linkLocal.current(),
  };
};

class Daemon implements ControlTarget {
  private config: Config;
  private readonly logger: SinkLogger;
  private readonly limited: RateLimitedLog;
  /** Each vhost's own limiter (its lines carry its name), flushed when it goes. */
  private readonly vhostLimited = new WeakMap<VirtualHost, RateLimitedLog>();
  private readonly links = new Map<string, Link>();
  private readonly vhosts = new Map<string, VirtualHost>();
  private readonly locks = new Map<VirtualHost, () => void>();
  private readonly groups = new GroupWiring();
  private readonly neighbours = new Map<string, BroadcastGroupNeighbour>();
  private readonly startedAt = new Date().toISOString();
  private stopping = false;
  /** Set once start-up is over; until then shutdown() leaves the cleanup to run(). */
  private started = false;
  private exitCode = 0;
  private resolveExit: ((code: number) => void) | undefined;
  private closeSyslog: (() => Promise<void>) | undefined;
  private closeControl: (() => Promise<void>) | undefined;
  private closeMetrics: (() => Promise<void>) | undefined;
  private reloading: Promise<ReloadResult> | undefined;
  /** Cuts short the arpings of a batch at the final stop (frames are long out by then). */
  private readonly garpCancel = new AbortController();
  private readonly batcher: HostBatcher;
  private readonly health: HealthHub;
  /** Takes the VIPs down should this process be killed without a chance to (lib/host/guardian.ts). */
  private readonly guardian: VipGuardian;
  /** Starts ip and arping for us (lib/host/launcher.ts). */
  private launcher: Launcher | undefined;
  /** carpd's netlink and packet sockets for the VIPs and their ARPs (lib/host/host-io.ts). */
  private hostIo: HostIo | undefined;
  private ipId = randomBytes(2).readUInt16BE(0);

  constructor(
    config: Config,
    private readonly options: RunOptions,
  ) {
    this.config = config;
    this.logger = new SinkLogger(stderrSink(), config.process.debug);
    this.limited = new RateLimitedLog(this.logger, monotonic, { timers: limiterTimers });
    this.batcher = new HostBatcher({ log: this.logger, cancelSignal: this.garpCancel.signal });
    this.health = new HealthHub(this.logger, config.process.scriptUser);
    const syslogFacility = isDaemonChild() && config.process.facility !== 'none' ? config.process.facility : undefined;
    this.guardian = new VipGuardian({ log: this.logger, ...(syslogFacility !== undefined ? { facility: syslogFacility } : {}) });
  }

  async run(): Promise<number> {
    const p = this.config.process;
    const log = this.logger;
    if (isDaemonChild() && p.facility !== 'none') {
      const syslog = openSyslog(p.facility, process.pid);
      this.closeSyslog = syslog.close;
      log.setSink(syslog.sink);
    } else if (isDaemonChild()) {
      log.setSink(() => {});
    } else {
      // A closed stderr (a log pipe that went away) must not become an uncaught EPIPE that
      // takes the VIP down with it: logging just stops.
      process.stderr.on('error', () => log.setSink(() => {}));
    }

    if (p.pidfile !== undefined) {
      const error = createPidfile(p.pidfile);
      if (error !== undefined) {
        log.error(error);
        return 1;
      }
    }

    const vhosts = this.config.vhosts.map((c) => this.createVhost(c));
    // One carpd per (network namespace, interface, vhid): a second one would start by removing
    // the first one's VIP as "stale". Taken here, after --daemonize, by the long-lived process.
    const locked = this.lockAll(vhosts);
    if (locked !== undefined) {
      log.error(locked);
      if (p.pidfile !== undefined) removePidfile(p.pidfile);
      return 1;
    }

    // Started now, while the heap is small: it forks ip and arping for us (lib/host/launcher.ts).
    this.launcher = new Launcher((reason) => log.warn(`${reason}: carpd starts ip and arping itself from now on`));
    useLauncher(this.launcher);
    // CARPD_HOST_IO=commands: ip and arping, as before carpd had its own sockets for them.
    if (process.env.CARPD_HOST_IO !== 'commands') {
      this.hostIo = HostIo.open(log);
      useHostIo(this.hostIo);
    }
    // Forked now rather than during the first takeover (see VipGuardian).
    if (this.config.vhosts.some((c) => c.manageVip)) this.guardian.prepare();

    const exited = new Promise<number>((resolve) => {
      this.resolveExit = resolve;
    });
    this.installSignals();

    const failed = await this.startUp(vhosts);
    if (failed !== undefined || this.stopping) {
      // A start-up failure, or a stop signal that arrived while we were starting: release
      // whatever was set up so far (shutdown() leaves that to us until start-up is over).
      await this.cleanup();
      return failed ?? this.exitCode;
    }
    this.started = true;
    for (const vhost of vhosts) this.startVhost(vhost);
    if (isDaemonChild()) notifyParentReady();
    return exited;
  }

  // ---- building and starting vhosts ----------------------------------------------------

  private createVhost(config: VhostConfig): VirtualHost {
    const prefix = this.config.process.sectioned ? `[${config.name}] ` : '';
    const log = namedLogger(this.logger, prefix);
    let vhost: VirtualHost | undefined;
    const link = this.linkFor(config);
    const limited = new RateLimitedLog(log, monotonic, { timers: limiterTimers });
    vhost = new VirtualHost(config, {
      clock: monotonic,
      timers: realTimers,
      host: createHostPort(
        config,
        log,
        this.batcher,
        (kind, outcome) => vhost?.recordScript(kind, outcome),
        { guardian: this.guardian, lockPath: instanceLockPath(lockOptions(config)) },
        this.config.process.scriptUser,
      ),
      adverts: link.advertPort(),
      log,
      debug: this.config.process.debug,
      limited,
      wallClock: () => Date.now(),
      randomCounter: () => randomBytes(8).readBigUInt64BE(0),
      // The IP id of a DF datagram identifies no fragments; a counter from a random start does
      // (Linux counts too) and spares a trip to the CSPRNG per advert.
      randomIpId: () => (this.ipId = (this.ipId + 1) & 0xffff),
      onInternalError: (message) => {
        this.logger.error(message);
        void this.shutdown('internal error', 70);
      },
      onOwnTransition: this.groups.onOwnTransition,
      onAbilityChange: this.groups.onAbilityChange,
    });
    this.vhostLimited.set(vhost, limited);
    return vhost;
  }

  private linkFor(config: VhostConfig): Link {
    const key = linkKey(config);
    let link = this.links.get(key);
    if (link === undefined) {
      const iface = config.interface;
      const followsCarrier = this.config.vhosts.some((v) => linkKey(v) === key && !v.ignoreIfState);
      link = new Link(
        iface,
        {
        openSocket: openRawSocket,
        openSocket6: openIpv6Socket,
        ...(followsCarrier ? { createMonitor: () => new LinkMonitor({ interface: iface, log: this.logger }) } : {}),
        timers: realTimers,
        clock: monotonic,
        log: this.logger,
        limited: this.limited,
        onFatal: (reason) => void this.shutdown(reason, 1),
        },
        vhostFamily(config),
      );
      this.links.set(key, link);
    }
    return link;
  }

  /** undefined when every vhost got its lock; else the first problem (and nothing is held). */
  private lockAll(vhosts: readonly VirtualHost[]): string | undefined {
    const taken: VirtualHost[] = [];
    for (const vhost of vhosts) {
      const lock = acquireInstanceLock(lockOptions(vhost.config));
      if (!lock.ok) {
        for (const t of taken) this.unlock(t);
        return lock.message;
      }
      this.locks.set(vhost, lock.release);
      taken.push(vhost);
    }
    return undefined;
  }

  private unlock(vhost: VirtualHost): void {
    this.locks.get(vhost)?.();
    this.locks.delete(vhost);
  }

  /**
   * Everything before the election. Returns an exit status on failure. Checks `stopping`
   * after every await, because a SIGTERM may arrive during any of them.
   */
  private async startUp(vhosts: readonly VirtualHost[]): Promise<number | undefined> {
    for (const vhost of vhosts) {
      this.vhosts.set(vhost.name, vhost);
      this.links.get(linkKey(vhost.config))!.attach(vhost);
      this.groups.add(vhost);
    }
    await inBatches(vhosts, STALE_SCAN_CONCURRENCY, (vhost) => vhost.removeStaleVips());
    if (this.stopping) return undefined;
    await this.installNeighbours(vhosts);
    if (this.stopping) return undefined;
    for (const link of this.links.values()) {
      if (!(await link.start())) return 1;
      if (this.stopping) return undefined;
    }
    if (!(await this.startControl())) return 1;
    return undefined;
  }

  private startVhost(vhost: VirtualHost): void {
    const c = vhost.config;
    const link = this.links.get(linkKey(c))!;
    const vips = c.vips.map((v) => v.address.text).join(', ');
    // VRRP names its id and timing its own way; CARP's line is ucarp's as before.
    const vrrp = c.protocol !== 'carp';
    const id = vrrp ? `${c.protocol} vrid ${c.vhid}` : `vhid ${c.vhid}`;
    const timing = vrrp
      ? `priority ${c.priority}, advert-int ${c.advertIntCs / 100} s${c.password.length > 0 ? ', PASS' : ''}`
      : `advbase ${c.advbase}, advskew ${c.advskew}`;
    const unicast = c.peers.length > 0 ? `, unicast to ${c.peers.map((p) => p.text).join(', ')}` : '';
    // The start-up line first, then the machine's INIT -> BACKUP, as before there were vhosts.
    if (this.config.process.sectioned) {
      this.logger.info(
        `[${c.name}] ${vips} on ${c.interface} ${id} from ${sourceFromLink(c) ? 'its link-local address' : c.srcip.text}: ${timing}` +
          `${c.group !== undefined ? `, group ${c.group}` : ''}${c.preempt ? ', preempt' : ''}${unicast}`,
      );
    } else {
      this.logger.info(
        `carpd ${vips} on ${c.interface} ${id} from ${sourceFromLink(c) ? 'its link-local address' : c.srcip.text}: ${timing}, ` +
          `${vrrp ? '' : `deadratio ${c.deadratio}`}${c.preempt ? `${vrrp ? '' : ', '}preempt` : ''}${c.noMcast ? ', broadcast' : ''}${unicast}`.replace(/, $/, ''),
      );
    }
    vhost.start(link.initialCarrier(vhost));
    // Checks start now, their first results decide (until then the vhost does not claim).
    this.health.follow(vhost);
    // A member whose link is down at start holds its group back, as a later loss would.
    if (!link.initialCarrier(vhost)) this.groups.onAbilityChange(vhost, false);
    else if (this.groups.isHeld(vhost)) vhost.dispatch({ type: 'groupHold', held: true, reason: `group ${c.group}: a member's link is down` });
  }

  /** --nomcast: one neighbour entry per interface and group that a broadcast vhost uses. */
  private async installNeighbours(vhosts: readonly VirtualHost[]): Promise<void> {
    for (const vhost of vhosts) {
      const c = vhost.config;
      const key = `${c.interface}/${c.mcast.text}`;
      if (!c.noMcast || this.neighbours.has(key)) continue;
      const neighbour = new BroadcastGroupNeighbour({ interface: c.interface, group: c.mcast.text, log: this.logger });
      if (await neighbour.install()) this.neighbours.set(key, neighbour);
      else this.logger.error(`--nomcast: adverts will leave in multicast frames, not broadcast ones`);
    }
  }

  private async startControl(): Promise<boolean> {
    try {
      const { startControlServer } = await import('../control/server.js');
      const server = await startControlServer({ target: this, netnsId: currentNetnsId(), pid: process.pid, log: this.logger });
      this.closeControl = server.close;
    } catch (error) {
      // Status is a convenience: a daemon that cannot offer it still protects the VIP.
      this.logger.warn(`control socket unavailable (carpd status and reload will not reach this daemon): ${errorText(error)}`);
    }
    const metrics = this.config.process.metrics;
    if (metrics !== undefined) {
      try {
        const { startMetricsServer } = await import('../control/metrics.js');
        const server = await startMetricsServer({ host: metrics.host, port: metrics.port, target: this, log: this.logger });
        this.closeMetrics = server.close;
        this.logger.info(`metrics on http://${metrics.host.includes(':') ? `[${metrics.host}]` : metrics.host}:${server.port}/metrics`);
      } catch (error) {
        this.logger.error(`--metrics ${metrics.host}:${metrics.port}: ${errorText(error)}`);
        return false;
      }
    }
    return true;
  }

  // ---- signals and control --------------------------------------------------------------

  private installSignals(): void {
    for (const sig of SHUTDOWN_SIGNALS) {
      process.on(sig, () => {
        // With a sectioned config SIGHUP re-reads it, as keepalived's does; for a command
        // line (or a flat file) it keeps ucarp's meaning: stop.
        if (sig === 'SIGHUP' && this.config.process.sectioned && this.options.reloadConfig !== undefined) {
          void this.reload().then((result) => (result.ok ? this.logger.info(result.message) : this.logger.error(result.message)));
          return;
        }
        void this.shutdown(`${sig}`, 0);
      });
    }
    process.on('SIGUSR1', () => {
      for (const vhost of this.vhosts.values()) {
        const line = vhost.statusLine(this.links.get(linkKey(vhost.config))?.dropSnapshot());
        this.logger.info(this.config.process.sectioned ? `[${vhost.name}] ${line}` : line);
      }
    });
    // A bug must not leave the VIP answering on a host that stopped advertising: log it, give
    // the address up with the usual shutdown path, exit 70 (EX_SOFTWARE).
    const fatal = (what: string) => (error: unknown) => {
      this.logger.error(`${what}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`.replace(/\n\s*/g, ' | '));
      void this.shutdown('internal error', 70);
    };
    process.on('uncaughtException', fatal('uncaught exception'));
    process.on('unhandledRejection', fatal('unhandled rejection'));
    process.on('SIGUSR2', () => {
      for (const vhost of this.vhosts.values()) vhost.dispatch({ type: 'stepDown' });
    });
  }

  snapshot(): DaemonSnapshot {
    return {
      pid: process.pid,
      version: this.options.version,
      configFile: this.config.process.configFile ?? null,
      startedAt: this.startedAt,
      vhosts: [...this.vhosts.values()].map((v) => v.snapshot(this.health.tracksOf(v))),
      links: [...this.links.values()].map((link) => ({ interface: link.name, family: link.family, up: link.up, drops: { ...link.dropSnapshot() } })),
      checks: this.health.checkSnapshots(),
    };
  }

  /** `carpd reload` and SIGHUP: one at a time. */
  reload(): Promise<ReloadResult> {
    this.reloading ??= this.applyReload().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /**
   * Re-reads the config file. Unchanged vhosts are not touched (no missed advert, no address
   * event); changed ones restart (bow-out, release, start as BACKUP); removed ones bow out and
   * release their VIPs; new ones start. A file with an error, or one that changes process
   * settings, changes nothing.
   */
  private async applyReload(): Promise<ReloadResult> {
    const reloadConfig = this.options.reloadConfig;
    if (reloadConfig === undefined || this.config.process.configFile === undefined) {
      return { ok: false, message: 'nothing to reload: carpd was started without --config' };
    }
    if (!this.started || this.stopping) return { ok: false, message: 'carpd is starting or stopping: try again' };
    const parsed = reloadConfig();
    if (!parsed.ok) return { ok: false, message: `reload refused, nothing changed: ${parsed.message}` };
    const next = parsed.config;
    const changedSetting = processSettingChange(this.config, next);
    if (changedSetting !== undefined) {
      return { ok: false, message: `reload refused, nothing changed: ${changedSetting} cannot change while carpd runs: restart it` };
    }

    const keep = new Set<string>();
    const added: VhostConfig[] = [];
    for (const c of next.vhosts) {
      const current = this.vhosts.get(c.name);
      if (current !== undefined && sameVhostConfig(current.config, c)) keep.add(c.name);
      else added.push(c);
    }
    const removed = [...this.vhosts.values()].filter((v) => !keep.has(v.name));
    const changed = added.filter((c) => this.vhosts.has(c.name)).length;

    // Locks for the new vhosts first: if one is held by another carpd, nothing changes. A vhid
    // moving from a removed vhost to an added one is ours already.
    const freed = new Set(removed.map((v) => lockKey(v.config)));
    const newLocks: Array<() => void> = [];
    for (const c of added) {
      if (freed.has(lockKey(c))) continue;
      const lock = acquireInstanceLock(lockOptions(c));
      if (!lock.ok) {
        for (const release of newLocks) release();
        return { ok: false, message: `reload refused, nothing changed: ${lock.message}` };
      }
      newLocks.push(lock.release);
    }

    // The new vhosts, and the sockets of interfaces no vhost used before, come first: an
    // interface whose socket cannot be opened refuses the reload before anything has changed.
    const previous = this.config;
    this.config = next;
    const newLinks = [...new Set(added.map(linkKey))].filter((key) => !this.links.has(key));
    const fresh = added.map((c) => this.createVhost(c));
    for (const key of newLinks) {
      const link = this.links.get(key)!;
      const iface = link.name;
      for (const vhost of fresh) if (linkKey(vhost.config) === key) link.attach(vhost);
      if (!(await link.start())) {
        for (const other of newLinks) {
          this.links.get(other)?.close();
          this.links.delete(other);
        }
        this.config = previous;
        for (const release of newLocks) release();
        return { ok: false, message: `reload refused, nothing changed: cannot open the CARP socket on ${iface}` };
      }
    }
    const reused = (v: VirtualHost) => added.some((c) => lockKey(c) === lockKey(v.config));
    await Promise.all(removed.map((v) => this.retire(v, !reused(v))));
    for (const vhost of fresh) {
      this.vhosts.set(vhost.name, vhost);
      // On an existing link only now, after the vhost it replaces (same vhid) has gone.
      if (!newLinks.includes(linkKey(vhost.config))) this.links.get(linkKey(vhost.config))!.attach(vhost);
      this.groups.add(vhost);
    }
    // The new vhosts' locks: the ones acquired above, or the retired vhosts' (kept, not released).
    let lockIndex = 0;
    for (const vhost of fresh) {
      const key = lockKey(vhost.config);
      const inherited = this.inheritedLocks.get(key);
      if (inherited !== undefined) {
        this.locks.set(vhost, inherited);
        this.inheritedLocks.delete(key);
      } else {
        this.locks.set(vhost, newLocks[lockIndex++]!);
      }
    }
    await inBatches(fresh, STALE_SCAN_CONCURRENCY, (v) => v.removeStaleVips());
    await this.installNeighbours(fresh);
    for (const vhost of fresh) this.startVhost(vhost);
    // Links nobody uses any more.
    for (const [name, link] of this.links) {
      if (link.vhosts.length === 0) {
        link.close();
        this.links.delete(name);
      }
    }
    const message =
      `reloaded ${next.process.configFile}: ${keep.size} unchanged, ${added.length - changed} added, ` +
      `${removed.length - changed} removed, ${changed} changed`;
    this.logger.info(message);
    return { ok: true, message };
  }

  /** Locks of retired vhosts whose (interface, vhid) a reload hands to a new vhost. */
  private readonly inheritedLocks = new Map<string, () => void>();

  /** Stops one vhost for good (reload): bow-out, VIPs released, lock released or handed on. */
  private async retire(vhost: VirtualHost, releaseLock: boolean): Promise<void> {
    this.vhosts.delete(vhost.name);
    this.groups.remove(vhost);
    await this.health.unfollow(vhost);
    await vhost.shutdown();
    await vhost.drain();
    this.links.get(linkKey(vhost.config))?.detach(vhost);
    this.vhostLimited.get(vhost)?.flush();
    const release = this.locks.get(vhost);
    this.locks.delete(vhost);
    if (release === undefined) return;
    if (releaseLock) release();
    else this.inheritedLocks.set(lockKey(vhost.config), release);
  }

  // ---- shutdown -------------------------------------------------------------------------

  private async shutdown(why: string, code: number): Promise<void> {
    if (this.stopping) {
      // A second signal: the operator is waiting on us, and the only thing that can take
      // long is a script. Kill it.
      this.logger.warn(`${why} received while stopping: killing any running script`);
      for (const vhost of this.vhosts.values()) vhost.killScripts();
      return;
    }
    this.stopping = true;
    this.exitCode = code;
    if (!this.started) {
      this.logger.info(`${why}: stopping`);
      return; // run() is mid-start-up; it sees `stopping` and cleans up
    }
    try {
      if (this.reloading !== undefined) await this.reloading;
      // Every vhost bows out at once, before anything else (the log line included): the
      // backups' skew time starts when they hear it. Each bow-out leaves within its shutdown()
      // call, before the call's first await.
      const stopped = Promise.all([...this.vhosts.values()].map((v) => v.shutdown()));
      this.logger.info(`${why}: stopping`);
      // No check may fault a vhost now (a stopped machine takes no more events anyway).
      await this.health.stop();
      await stopped;
    } catch (error) {
      this.logger.error(`error while stopping: ${errorText(error)}`);
    } finally {
      await this.cleanup();
      this.resolveExit?.(this.exitCode);
    }
  }

  /**
   * Leaves nothing behind: timers, VIPs, arping, link monitors, sockets, neighbour entries, then
   * the down-scripts (which may take up to --script-timeout) and last the pidfile and locks, so
   * the pidfile names a live process for as long as anything of ours runs.
   */
  private async cleanup(): Promise<void> {
    const vhosts = [...this.vhosts.values()];
    await this.health.stop();
    for (const vhost of vhosts) vhost.releaseHost();
    // Any arping still lingering has long sent its frame; the VIPs are going now anyway.
    this.garpCancel.abort();
    await Promise.all(vhosts.map((v) => v.drain()));
    for (const link of this.links.values()) link.close();
    for (const neighbour of this.neighbours.values()) await neighbour.remove();
    await Promise.all(vhosts.map((v) => v.scriptsIdle()));
    // The VIPs are down (the vhosts' host queues are drained): the guardian has nothing to do.
    await this.guardian.close();
    await this.closeControl?.();
    await this.closeMetrics?.();
    useLauncher(undefined);
    this.launcher?.close();
    useHostIo(undefined);
    this.hostIo?.close();
    if (this.config.process.pidfile !== undefined) removePidfile(this.config.process.pidfile);
    for (const release of [...this.locks.values(), ...this.inheritedLocks.values()]) release();
    // What the rate limiter still holds back (a flood's last window) is written before the log closes.
    for (const vhost of vhosts) this.vhostLimited.get(vhost)?.flush();
    this.limited.flush();
    await this.closeSyslog?.();
  }
}

/** The first process setting that differs, named as its option; undefined when none does. */
function processSettingChange(a: Config, b: Config): string | undefined {
  const p = a.process;
  const q = b.process;
  if (p.debug !== q.debug) return 'debug';
  if (p.facility !== q.facility) return 'facility';
  if (p.daemonize !== q.daemonize) return 'daemonize';
  if (p.pidfile !== q.pidfile) return 'pidfile';
  if (JSON.stringify(p.metrics) !== JSON.stringify(q.metrics)) return 'metrics';
  if (p.sectioned !== q.sectioned) return 'the file\'s layout (sections or none)';
  return undefined;
}

async function inBatches<T>(items: readonly T[], size: number, run: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map(run));
  }
}
