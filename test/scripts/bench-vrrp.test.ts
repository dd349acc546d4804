// The VRRP benchmark's plan, figures and report are pure; its numbers are only as good as these.
// The tcpdump and `ip -ts monitor` lines are the ones keepalived 2.2.7 and carpd produced in the lab.
import { describe, expect, it } from 'vitest';
import { parseAddressMonitor } from '../../scripts/bench/checks-figures.js';
import { outageWindow, vrrpRoundFigures, type VrrpRoundRecord } from '../../scripts/bench/vrrp-figures.js';
import { parseList, parseVrrpOptions, UsageError } from '../../scripts/bench/vrrp-options.js';
import { carpdArgs, estimateRunS, keepalivedConfig, pairOf, PAIR_IDS, protocolWaitMs, roundPlan, ROWS } from '../../scripts/bench/vrrp-plan.js';
import { formatVrrpTable, judgeTarget, targetVerdict, vrrpRows } from '../../scripts/bench/vrrp-report.js';
import type { VrrpRoundResult } from '../../scripts/bench/vrrp-round.js';
import { parseTcpdump } from '../../scripts/lab/capture.js';

const VIP = '198.18.0.50/24';

describe('the plan', () => {
  it('starts carpd as the brief writes a VRRP vhost: v2 with PASS at 1 s, v3 without at 0.1 s', () => {
    expect(carpdArgs({ index: 2, vip: VIP }, ROWS['stop-1s'].timing)).toEqual([
      '--interface=eth0', '--protocol=vrrp2', '--vhid=51', '--priority=80', '--advert-int=1', '--pass=secret12', '--addr=198.18.0.50/24',
    ]);
    expect(carpdArgs({ index: 1, vip: VIP }, ROWS['cut-100ms'].timing)).toEqual([
      '--interface=eth0', '--protocol=vrrp3', '--vhid=51', '--priority=100', '--advert-int=0.1', '--addr=198.18.0.50/24',
    ]);
  });

  it('writes the same group for keepalived', () => {
    const v2 = keepalivedConfig({ index: 1, vip: VIP }, ROWS['cut-1s'].timing);
    expect(v2).toMatch(/^ {2}vrrp_version 2$/m);
    expect(v2).toMatch(/^ {2}priority 100$/m);
    expect(v2).toMatch(/^ {2}virtual_router_id 51$/m);
    expect(v2).toMatch(/^ {2}advert_int 1$/m);
    expect(v2).toContain('    auth_type PASS\n    auth_pass secret12\n');
    expect(v2).toContain('    198.18.0.50/24 dev eth0\n');
    const v3 = keepalivedConfig({ index: 2, vip: VIP }, ROWS['stop-100ms'].timing);
    expect(v3).toMatch(/^ {2}vrrp_version 3$/m);
    expect(v3).toMatch(/^ {2}priority 80$/m);
    expect(v3).toMatch(/^ {2}advert_int 0\.1$/m);
    // VRRPv3 has no authentication; keepalived would ignore it with a warning.
    expect(v3).not.toContain('authentication');
  });

  it("has the protocol's wait: skew after priority 0, 3 × interval + skew after the last advert", () => {
    expect(protocolWaitMs(ROWS['stop-1s'])).toBe(687.5);
    expect(protocolWaitMs(ROWS['cut-1s'])).toBe(3687.5);
    expect(protocolWaitMs(ROWS['stop-100ms'])).toBeCloseTo(68.75, 9);
    expect(protocolWaitMs(ROWS['cut-100ms'])).toBeCloseTo(368.75, 9);
  });

  it('names pairs master first', () => {
    expect(pairOf('kc')).toEqual({ id: 'kc', master: 'keepalived', backup: 'carpd', label: 'keepalived → carpd' });
    expect(pairOf('cc').label).toBe('carpd pair');
    expect(PAIR_IDS).toEqual(['kk', 'cc', 'kc', 'ck']);
  });

  it('runs row by row, every pair once per round, rotated so none always goes first', () => {
    const plan = roundPlan(['stop-1s', 'cut-100ms'], ['kk', 'cc', 'kc'], 2);
    expect(plan.map((p) => `${p.row}:${p.pair}:${p.round}`)).toEqual([
      'stop-1s:kk:1', 'stop-1s:cc:1', 'stop-1s:kc:1',
      'stop-1s:cc:2', 'stop-1s:kc:2', 'stop-1s:kk:2',
      'cut-100ms:kk:1', 'cut-100ms:cc:1', 'cut-100ms:kc:1',
      'cut-100ms:cc:2', 'cut-100ms:kc:2', 'cut-100ms:kk:2',
    ]);
  });

  it('keeps the default run (4 rows × 2 pairs × 5 rounds) under the brief\'s ~6 minutes', () => {
    const s = estimateRunS(roundPlan(['stop-1s', 'cut-1s', 'stop-100ms', 'cut-100ms'], ['kk', 'cc'], 5));
    expect(s).toBeGreaterThan(180);
    expect(s).toBeLessThan(360);
  });
});

describe('options', () => {
  it('defaults to 5 rounds of kk and cc over every row', () => {
    const o = parseVrrpOptions([]);
    expect(o).toMatchObject({ rounds: 9, pairs: ['kk', 'cc'], rows: ['stop-1s', 'cut-1s', 'stop-100ms', 'cut-100ms'], json: undefined, quick: false });
    expect(parseVrrpOptions(['--quick']).rounds).toBe(2);
    expect(parseVrrpOptions(['--quick', '--rounds', '3']).rounds).toBe(3);
  });

  it('keeps the rows in the plan\'s order and the pairs in the order given', () => {
    const o = parseVrrpOptions(['--rows', 'cut-100ms,stop-1s', '--pairs', 'ck,kk']);
    expect(o.rows).toEqual(['stop-1s', 'cut-100ms']);
    expect(o.pairs).toEqual(['ck', 'kk']);
  });

  it.each([
    [['--pairs', 'kk,xx']],
    [['--pairs', 'kk,kk']],
    [['--rows', '']],
    [['--rounds', '0']],
    [['--bogus']],
  ])('refuses %j with one line', (argv) => {
    expect(() => parseVrrpOptions(argv)).toThrow(UsageError);
  });

  it('names the option, the accepted names and the value in the message', () => {
    expect(() => parseList('pairs', 'kx', PAIR_IDS)).toThrow(
      'bench-vrrp: --pairs must be a comma-separated list of distinct names from kk, cc, kc, ck, got "kx"',
    );
  });
});

describe('the client outage', () => {
  it('is the longest silence that ends after the fault, with its ends', () => {
    expect(outageWindow([0, 5, 10, 15, 700, 705], 12, 800)).toEqual({ startMs: 15, endMs: 700, ms: 685, recovered: true });
  });

  it('ignores a longer silence wholly before the fault', () => {
    expect(outageWindow([0, 500, 505, 600], 550, 700)).toEqual({ startMs: 505, endMs: 600, ms: 95, recovered: true });
  });

  it('is a lower bound, not recovered, when no reply came after the fault', () => {
    expect(outageWindow([0, 5, 10], 12, 1000)).toEqual({ startMs: 10, endMs: undefined, ms: 990, recovered: false });
    expect(outageWindow([], 12, 1000)).toEqual({ startMs: 12, endMs: undefined, ms: 988, recovered: false });
  });
});

// A clean stop at advert_int 1, as keepalived 2.2.7 put it on the wire (times shifted to t = 1000 s).
const CAPTURE = `1000.000000 02:00:00:00:00:01 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 54: (tos 0xc0, ttl 255, id 2, offset 0, flags [none], proto VRRP (112), length 40)
    198.18.0.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 100, authtype simple, intvl 1s, length 20, addrs: 198.18.0.50 auth "secret12"
1000.010000 02:00:00:00:00:01 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 54: (tos 0xc0, ttl 255, id 3, offset 0, flags [none], proto VRRP (112), length 40)
    198.18.0.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 0, authtype simple, intvl 1s, length 20, addrs: 198.18.0.50 auth "secret12"
1000.700000 02:00:00:00:00:02 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 54: (tos 0xc0, ttl 255, id 1, offset 0, flags [none], proto VRRP (112), length 40)
    198.18.0.2 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 80, authtype simple, intvl 1s, length 20, addrs: 198.18.0.50 auth "secret12"
1000.710000 02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Ethernet (len 6), IPv4 (len 4), Request who-has 198.18.0.50 (ff:ff:ff:ff:ff:ff) tell 198.18.0.50, length 28
`;

// ip prints local time; build the lines from the same local time the parser reads back.
function monitorLine(timeMs: number, deleted: boolean): string {
  const d = new Date(timeMs);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000`;
  return `[${stamp}] ${deleted ? 'Deleted ' : ''}2: eth0    inet 198.18.0.50/24 scope global secondary eth0`;
}

function record(over: Partial<VrrpRoundRecord> = {}): VrrpRoundRecord {
  return {
    row: ROWS['stop-1s'],
    vip: '198.18.0.50',
    faultAtMs: 1_000_005,
    master: { address: '198.18.0.1', mac: '02:00:00:00:00:01' },
    backup: { address: '198.18.0.2', mac: '02:00:00:00:00:02' },
    masterAddresses: parseAddressMonitor(monitorLine(1_000_012, true)),
    backupAddresses: parseAddressMonitor(monitorLine(1_000_705, false)),
    packets: parseTcpdump(CAPTURE),
    replyTimesMs: [999_995, 1_000_000, 1_000_004, 1_000_715, 1_000_720],
    pingStoppedMs: 1_001_100,
    ...over,
  };
}

describe("a round's figures", () => {
  it('times a clean stop from the fault and splits the backup\'s share off the skew time', () => {
    const f = vrrpRoundFigures(record());
    expect(f.vipOnBackupMs).toBe(700);
    expect(f.pingsBackMs).toBe(710);
    expect(f.outageMs).toBe(711);
    expect(f.pingRecovered).toBe(true);
    expect(f.vipOffMasterMs).toBe(7);
    expect(f.resignMs).toBe(5);
    expect(f.resignToVipMs).toBe(695);
    // 695 − 687.5: of which 690 − 687.5 before its advert, then 5 ms to the address.
    expect(f.beyondProtocolMs).toBe(7.5);
    expect(f.advertLatenessMs).toBe(2.5);
    expect(f.advertToVipMs).toBe(5);
    expect(f.vipToGarpMs).toBe(5);
    expect(f.garpMs).toBe(705);
    expect(f.backupAdvertMs).toBe(695);
    expect(f.faultPhaseMs).toBe(5);
  });

  it('times a link cut from the master\'s last advert, the priority-0 advert playing no part', () => {
    const cut = record({ row: ROWS['cut-1s'], packets: parseTcpdump(CAPTURE).filter((p) => !p.line.includes('prio 0')), faultAtMs: 996_300 });
    const f = vrrpRoundFigures(cut);
    expect(f.resignMs).toBeUndefined();
    expect(f.lastAdvertToVipMs).toBe(705);
    expect(f.beyondProtocolMs).toBe(705 - 3687.5);
  });

  it('counts an advert the master got out while the cut ran as its last one', () => {
    // The fault came at 999.998 s, the advert at 1000.000 s still went out: the backup times from it.
    const f = vrrpRoundFigures(record({ row: ROWS['cut-1s'], faultAtMs: 999_998 }));
    expect(f.lastAdvertToVipMs).toBe(705);
    expect(f.faultPhaseMs).toBe(-2);
  });

  it("takes the backup's GARP as the VIP's time when ip monitor reported the address later", () => {
    // ip read the event 2 ms after the GARP from the VIP reached the client (its own wake-up).
    const f = vrrpRoundFigures(record({ backupAddresses: parseAddressMonitor(monitorLine(1_000_712, false)) }));
    expect(f.vipOnBackupMs).toBe(705);
    expect(f.monitorLagMs).toBe(2);
    expect(f.vipToGarpMs).toBe(0);
    expect(f.advertToVipMs).toBe(10);
    // On time, ip's event is the figure and its lag 0.
    expect(vrrpRoundFigures(record()).monitorLagMs).toBe(0);
  });

  it('does not take a GARP alone as the VIP added', () => {
    const f = vrrpRoundFigures(record({ backupAddresses: [] }));
    expect(f.garpMs).toBe(705);
    expect(f.vipOnBackupMs).toBeUndefined();
  });

  it('leaves out what did not happen', () => {
    const f = vrrpRoundFigures(record({ backupAddresses: [], packets: [], replyTimesMs: [999_995, 1_000_000] }));
    expect(f.vipOnBackupMs).toBeUndefined();
    expect(f.beyondProtocolMs).toBeUndefined();
    expect(f.pingsBackMs).toBeUndefined();
    expect(f.pingRecovered).toBe(false);
    expect(f.outageMs).toBe(1100);
  });
});

function round(pair: 'kk' | 'cc', vip: number | undefined, outage: number, n: number): VrrpRoundResult {
  const figures = vrrpRoundFigures(record());
  return {
    row: 'stop-1s', pair, round: n, problems: [], settled: true, settleMs: 5000, readyMs: [], faultAtMs: 0, faultCommandMs: 0,
    figures: { ...figures, vipOnBackupMs: vip, outageMs: outage }, backupTakeovers: 1, spurious: 0, ping: { sent: 1, received: 1 }, logs: [],
  };
}

describe('the report', () => {
  it('judges carpd\'s median against keepalived\'s, and fails a carpd round without a figure', () => {
    expect(judgeTarget([700, 690, 710], [695, 705, 700])).toEqual({ met: true, marginMs: 0 });
    expect(judgeTarget([701, 702, 703], [700, 700, 700])).toEqual({ met: false, marginMs: 2 });
    expect(judgeTarget([690, undefined], [700, 700])).toEqual({ met: false, marginMs: undefined });
    expect(judgeTarget([], [700])).toEqual({ met: undefined, marginMs: undefined });
    expect(judgeTarget([690], [undefined])).toEqual({ met: undefined, marginMs: undefined });
  });

  it('calls a client figure level when it is above keepalived\'s by no more than its resolution, and says so', () => {
    expect(judgeTarget([705, 706], [700, 700], 10)).toEqual({ met: true, marginMs: 5.5, level: true });
    expect(judgeTarget([711, 711], [700, 700], 10)).toEqual({ met: false, marginMs: 11 });
    expect(judgeTarget([690, 690], [700, 700], 10)).toEqual({ met: true, marginMs: -10 });
    // The VIP's figures have no such allowance.
    expect(judgeTarget([700.2], [700.1])).toEqual({ met: false, marginMs: expect.closeTo(0.1, 9) });
    const rounds = [round('kk', 690, 700, 1), round('cc', 690, 706, 1)];
    const rows = vrrpRows(['stop-1s'], ['kk', 'cc'], rounds);
    expect(rows.find((r) => r.metric === 'client outage (longest ping gap)')!.target).toEqual({
      text: "carpd ≤ keepalived: level within the pings' 10 ms (+6.0 ms)", met: true, level: true,
    });
    expect(targetVerdict(rows)).toBe("target (carpd ≤ keepalived in every row): met in all 2 headline figures (1 of them level within the pings' resolution, not below)");
  });

  it('times a link cut from the master\'s last advert, not from the bench\'s fault', () => {
    const cut = (pair: 'kk' | 'cc', lastAdvertToVip: number, vip: number): VrrpRoundResult => {
      const r = round(pair, vip, 400, 1);
      return { ...r, row: 'cut-100ms', figures: { ...r.figures, lastAdvertToVipMs: lastAdvertToVip, pingsBackMs: 375 } };
    };
    // carpd's fault fell earlier after the advert (its fault → VIP is longer), its timer did not.
    const rows = vrrpRows(['cut-100ms'], ['kk', 'cc'], [cut('kk', 369.4, 368.2), cut('cc', 369.2, 368.9)]);
    const headline = rows.filter((r) => r.target !== undefined).map((r) => r.metric);
    expect(headline).toEqual(["master's last advert → VIP on the backup (master-down 369 ms)", 'fault → backup answers pings']);
    expect(rows[0]!.target!.met).toBe(true);
    const fault = rows.find((r) => r.metric.startsWith('fault → VIP on the backup'))!;
    expect(fault.target).toBeUndefined();
    expect(fault.cells.cc?.median).toBe(368.9);
  });

  it('gives each row median and max per pair, the ratio, and the target on the headline figures', () => {
    const rounds = [round('kk', 690, 700, 1), round('kk', 700, 720, 2), round('cc', 720, 710, 1), round('cc', 760, 800, 2)];
    const rows = vrrpRows(['stop-1s', 'cut-1s'], ['kk', 'cc'], rounds);
    // No rounds of cut-1s: no section for it.
    expect(new Set(rows.map((r) => r.section))).toEqual(new Set(['stop-1s']));
    const vip = rows.find((r) => r.metric === 'fault → VIP on the backup')!;
    expect(vip.cells.kk).toEqual({ n: 2, median: 695, min: 690, max: 700 });
    expect(vip.cells.cc).toEqual({ n: 2, median: 740, min: 720, max: 760 });
    expect(vip.ratio).toBeCloseTo(740 / 695, 9);
    expect(vip.target).toEqual({ text: 'carpd ≤ keepalived: NOT met (+45.0 ms)', met: false });
    const outage = rows.find((r) => r.metric === 'client outage (longest ping gap)')!;
    expect(outage.target?.met).toBe(false);
    // Sub-parts get no ratio.
    expect(rows.find((r) => r.metric.includes('address add'))!.ratio).toBeUndefined();
    const table = formatVrrpTable(['kk', 'cc'], rows);
    expect(table).toContain('clean stop (SIGTERM), VRRPv2 PASS, advert_int 1');
    expect(table).toMatch(/fault → VIP on the backup +695 ms \/ 700 ms +740 ms \/ 760 ms +1\.065 +carpd ≤ keepalived: NOT met/);
    expect(targetVerdict(rows)).toMatch(/^target \(carpd ≤ keepalived in every row\): NOT met in 2 of 2: stop-1s fault → VIP on the backup NOT met \(\+45\.0 ms\)/);
  });

  it('says when a run cannot judge the target', () => {
    const rows = vrrpRows(['stop-1s'], ['kk'], [round('kk', 690, 700, 1)]);
    expect(rows.every((r) => r.target === undefined)).toBe(true);
    expect(targetVerdict(rows)).toMatch(/not judged/);
    const met = vrrpRows(['stop-1s'], ['kk', 'cc'], [round('kk', 700, 700, 1), round('cc', 690, 690, 1)]);
    expect(targetVerdict(met)).toBe('target (carpd ≤ keepalived in every row): met in all 2 headline figures');
  });
});
