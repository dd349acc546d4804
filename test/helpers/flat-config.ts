/**
 * The one-vhost view of a Config, in the shape the CLI produced before a process could carry
 * several vhosts. The CLI tests written against that shape keep asserting exactly what they did:
 * a ucarp command line must still mean the same, field for field.
 */
import type { Config } from '../../lib/config.js';

export interface FlatConfig {
  interface: string;
  srcip: string;
  mcast: string;
  vhid: number;
  password: Buffer;
  preempt: boolean;
  neutral: boolean;
  vip: string;
  vipPrefix: number;
  vipLabel: string | undefined;
  manageVip: boolean;
  advbase: number;
  advskew: number;
  deadratio: number;
  upscript: string | undefined;
  downscript: string | undefined;
  xparam: string | undefined;
  shutdown: boolean;
  debug: boolean;
  facility: string;
  daemonize: boolean;
  ignoreIfState: boolean;
  noMcast: boolean;
  pidfile: string | undefined;
  scriptTimeoutMs: number;
}

export function flatConfig(config: Config): FlatConfig {
  if (config.vhosts.length !== 1) throw new Error(`expected one vhost, got ${config.vhosts.length}`);
  const v = config.vhosts[0]!;
  const p = config.process;
  if (v.vips.length !== 1) throw new Error(`expected one VIP, got ${v.vips.length}`);
  return {
    interface: v.interface,
    srcip: v.srcip.text,
    mcast: v.mcast.text,
    vhid: v.vhid,
    password: v.password,
    preempt: v.preempt,
    neutral: v.neutral,
    vip: v.vips[0]!.address.text,
    vipPrefix: v.vips[0]!.prefix,
    vipLabel: v.vipLabel,
    manageVip: v.manageVip,
    advbase: v.advbase,
    advskew: v.advskew,
    deadratio: v.deadratio,
    upscript: v.upscript,
    downscript: v.downscript,
    xparam: v.xparam,
    shutdown: v.shutdown,
    debug: p.debug,
    facility: p.facility,
    daemonize: p.daemonize,
    ignoreIfState: v.ignoreIfState,
    noMcast: v.noMcast,
    pidfile: p.pidfile,
    scriptTimeoutMs: v.scriptTimeoutMs,
  };
}

/** Every object of the config is frozen (the password Buffer cannot be). */
export function isDeeplyFrozen(config: Config): boolean {
  return (
    Object.isFrozen(config) &&
    Object.isFrozen(config.process) &&
    Object.isFrozen(config.vhosts) &&
    config.vhosts.every((v) => Object.isFrozen(v) && Object.isFrozen(v.vips) && v.vips.every((vip) => Object.isFrozen(vip) && Object.isFrozen(vip.address)))
  );
}
