// The vhosts benchmark's arithmetic, parsers and options are pure; its figures are only as good as these.
import { describe, expect, it } from 'vitest';
import { advertTimesByVhid, intervalErrors, lastAdvertBefore, percentile, summariseJitter } from '../../scripts/bench/jitter.js';
import { parseDaemons, parseVhostCounts, parseVhostsOptions, UsageError } from '../../scripts/bench/multi-options.js';
import {
  carpdConfigText,
  carpdFlatArgs,
  failoverTargetMs,
  MAX_VHOSTS,
  nominalIntervalMs,
  perMinute,
  ucarpArgs,
  vhostPlan,
  vhostVip,
} from '../../scripts/bench/multi-plan.js';
import { formatValue, formatVhostsTable, vhostsRows } from '../../scripts/bench/multi-report.js';
import type { MultiRunResult } from '../../scripts/bench/multi.js';
import { descendants, kbField, parseStat, ticksBetween, totals, type TreeSample } from '../../scripts/bench/proc-tree.js';
import { parseTcpdump, type CapturedPacket } from '../../scripts/lab/capture.js';
import { CLIENT_OCTET, MAX_HOSTS, MAX_VIPS, VIP_BASE } from '../../scripts/lab/safety.js';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, k) => k + 1);

  it.each([
    [hundred, 99, 99],
    [hundred, 50, 50],
    [hundred, 100, 100],
    [hundred, 1, 1],
    [[5], 99, 5],
    [[3, 1, 2], 50, 2],
    // 99 % of 10 values is 9.9: the 10th (largest) value, never an interpolated one.
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99, 10],
    [[10, 1, Number.NaN, 5], 50, 5],
  ] as const)('%j at p%d is %d', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it('is undefined for no values and refuses a percentile outside (0, 100]', () => {
    expect(percentile([], 99)).toBeUndefined();
    expect(() => percentile([1], 0)).toThrow(/percentile must be in \(0, 100\], received 0/);
    expect(() => percentile([1], 101)).toThrow(/received 101/);
  });
});

function advert(timeMs: number, vhid: number, srcIp = '198.18.0.1', advbase = 1): CapturedPacket {
  return {
    timeMs,
    srcMac: '02:00:00:00:00:01',
    dstMac: '01:00:5e:00:00:12',
    kind: 'carp',
    srcIp,
    dstIp: '224.0.0.18',
    carp: { version: 2, type: 'advertise', vhid, advbase, advskew: 0, authlen: 7, counter: 0n },
    line: '',
  };
}

describe('advert jitter', () => {
  it('groups adverts per vhid from one source, in time order, bow-outs and other hosts left out', () => {
    const packets = [
      advert(2_000, 2),
      advert(1_000, 1),
      advert(1_003, 2),
      advert(2_001, 1),
      advert(1_500, 1, '198.18.0.2'),
      advert(2_500, 1, '198.18.0.1', 255),
      { ...advert(1_200, 3), kind: 'arp' as const, carp: undefined },
    ];
    expect([...advertTimesByVhid(packets, '198.18.0.1')]).toEqual([
      [2, [1_003, 2_000]],
      [1, [1_000, 2_001]],
    ]);
    // The window is [from, to).
    expect([...advertTimesByVhid(packets, '198.18.0.1', 1_001, 2_001)]).toEqual([[2, [1_003, 2_000]]]);
  });

  it('is |interval − nominal| per pair of consecutive adverts of the same vhid, never across vhids', () => {
    const times = new Map([
      [1, [0, 1_002, 2_000, 3_010]],
      [2, [500, 1_499]],
    ]);
    expect(intervalErrors(times, 1_000)).toEqual([2, 2, 10, 1]);
  });

  it('summarises p50, p99, max, the mean interval and missed adverts', () => {
    // vhid 1: 99 intervals of 1000 ms ± 1; vhid 2: one advert missing (a 2000 ms interval).
    const vhid1 = Array.from({ length: 100 }, (_, k) => k * 1_000 + (k % 2));
    const times = new Map([
      [1, vhid1],
      [2, [0, 1_000, 3_000]],
    ]);
    const s = summariseJitter(times, 1_000);
    expect(s).toMatchObject({ vhids: 2, intervals: 101, nominalMs: 1_000, p50Ms: 1, maxMs: 1_000, missedAdverts: 1 });
    expect(s.p99Ms).toBe(1);
    expect(s.meanIntervalMs).toBeCloseTo((99_001 + 3_000) / 101, 6);
    expect(summariseJitter(new Map(), 1_000)).toMatchObject({ vhids: 0, intervals: 0, p99Ms: undefined, maxMs: undefined, meanIntervalMs: undefined });
  });

  it('works on tcpdump text as the lab captures it', () => {
    const text = [
      '1700000000.100000 02:00:00:00:00:01 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 70: (tos 0x10, ttl 255, id 1, offset 0, flags [DF], proto VRRP (112), length 56)',
      '    198.18.0.1 > 224.0.0.18: CARPv2-advertise 36: vhid=7 advbase=1 advskew=0 authlen=7 counter=1',
      '1700000001.104000 02:00:00:00:00:01 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 70: (tos 0x10, ttl 255, id 2, offset 0, flags [DF], proto VRRP (112), length 56)',
      '    198.18.0.1 > 224.0.0.18: CARPv2-advertise 36: vhid=7 advbase=1 advskew=0 authlen=7 counter=2',
      '',
    ].join('\n');
    const s = summariseJitter(advertTimesByVhid(parseTcpdump(text), '198.18.0.1'), 1_000);
    expect(s.intervals).toBe(1);
    expect(s.p99Ms).toBeCloseTo(4, 3);
  });

  it('finds each vhid\'s last advert strictly before the cut', () => {
    const times = new Map([
      [1, [100, 1_100, 2_100]],
      [2, [600, 1_600]],
      [3, [2_500]],
    ]);
    expect([...lastAdvertBefore(times, 2_100)]).toEqual([
      [1, 1_100],
      [2, 1_600],
    ]);
  });
});

describe('/proc parsing', () => {
  // Field 2 may hold spaces and parentheses; ppid is field 4, utime..cstime 14..17.
  const stat = '4242 (node (carpd) x) S 4200 4242 4200 0 -1 4194560 1000 0 0 0 37 12 3 4 20 0 11 0 555 1000000 9000 18446744073709551615';

  it('reads pid, comm, ppid and the CPU fields from /proc/<pid>/stat', () => {
    expect(parseStat(stat)).toEqual({ pid: 4242, comm: 'node (carpd) x', ppid: 4200, utime: 37, stime: 12, cutime: 3, cstime: 4 });
    expect(() => parseStat('garbage')).toThrow(/not a \/proc\/<pid>\/stat line/);
    expect(() => parseStat('1 (x) S 0')).toThrow(/field 14 is not a number/);
  });

  it('reads kB fields from status and smaps_rollup', () => {
    const status = 'Name:\tnode\nVmHWM:\t   70000 kB\nVmRSS:\t   65432 kB\nThreads:\t11\n';
    expect(kbField(status, 'VmRSS')).toBe(65_432);
    expect(kbField(status, 'VmHWM')).toBe(70_000);
    expect(kbField(status, 'VmSwap')).toBeUndefined();
    expect(kbField('Rss:    5000 kB\nPss:    1234 kB\nPss_Anon:  800 kB\n', 'Pss')).toBe(1_234);
  });

  it('collects every descendant of the roots, and only those', () => {
    // 10 is carpd (child 11: setpriv→ip monitor, grandchild 12); 20 is someone else's.
    const parentOf = new Map([
      [1, 0],
      [10, 1],
      [11, 10],
      [12, 11],
      [20, 1],
      [21, 20],
      [30, 1],
    ]);
    expect(descendants([10], parentOf)).toEqual([10, 11, 12]);
    expect(descendants([10, 30], parentOf)).toEqual([10, 11, 12, 30]);
    // A root that has exited is not in the table and brings nothing.
    expect(descendants([99], parentOf)).toEqual([]);
  });

  it('sums a tree and counts the CPU between two samples, reaped children included', () => {
    const p = (pid: number, comm: string, ticks: number, rssKb: number) => ({ pid, comm, ticks, rssKb, pssKb: rssKb / 2, schedNs: ticks * 1e7 });
    const before: TreeSample = { atMs: 0, processes: [p(10, 'node', 100, 60_000), p(11, 'ip', 2, 3_000), p(12, 'arping', 1, 1_000)] };
    // arping (1 tick then, 3 at its end) was reaped by node: node's ticks now hold its 3 in cutime.
    const after: TreeSample = { atMs: 20_000, processes: [p(10, 'node', 100 + 5 + 3, 61_000), p(11, 'ip', 2, 3_000)] };
    expect(ticksBetween(before, after)).toBe(5 + 3 - 1);
    expect(totals(after)).toEqual({ processes: 2, commands: { node: 1, ip: 1 }, ticks: 110, rssKb: 64_000, pssKb: 32_000, schedNs: 110 * 1e7 });
    expect(totals({ atMs: 0, processes: [{ ...p(1, 'x', 0, 0), pssKb: undefined }] }).pssKb).toBeUndefined();
  });

  it('scales a window to a minute', () => {
    expect(perMinute(50, 20_000)).toBe(150);
    expect(perMinute(50, 0)).toBeUndefined();
  });
});

describe('vhost plan', () => {
  it('puts vhid k at <subnet>.(100 + k), clear of the lab hosts, its own VIPs and the client', () => {
    expect(vhostVip('198.18.0', 1)).toBe('198.18.0.101');
    expect(vhostVip('198.18.0', 100)).toBe('198.18.0.200');
    expect(vhostVip('198.18.0', MAX_VHOSTS)).toBe('198.18.0.254');
    expect(MAX_HOSTS).toBeLessThan(VIP_BASE);
    expect(VIP_BASE + MAX_VIPS - 1).toBeLessThan(CLIENT_OCTET);
    expect(() => vhostVip('198.18.0', 0)).toThrow(/vhid must be an integer from 1 to 154, received 0/);
    expect(() => vhostVip('198.18.0', MAX_VHOSTS + 1)).toThrow(/received 155/);
    expect(() => vhostVip('192.0.2', 1)).toThrow(/inside 198.18.0.0\/15/);
    expect(vhostPlan('198.18.0', 3)).toEqual([
      { vhid: 1, vip: '198.18.0.101' },
      { vhid: 2, vip: '198.18.0.102' },
      { vhid: 3, vip: '198.18.0.103' },
    ]);
  });

  it('writes the sectioned carpd config: defaults, then one [vhost vK] section per vhid', () => {
    const text = carpdConfigText({ address: '198.18.0.1', timing: { advbase: 1, advskew: 0 } }, vhostPlan('198.18.0', 2));
    expect(text).toBe(
      [
        '# defaults for every vhost',
        'interface = eth0',
        'srcip = 198.18.0.1',
        'pass = secret',
        'advbase = 1',
        'advskew = 0',
        '[vhost v1]',
        'vhid = 1',
        'addr = 198.18.0.101/32',
        '[vhost v2]',
        'vhid = 2',
        'addr = 198.18.0.102/32',
        '',
      ].join('\n'),
    );
  });

  it('runs ucarp with up/down scripts and carpd flat with ucarp\'s options', () => {
    const node = { address: '198.18.0.2', timing: { advbase: 1, advskew: 100 } };
    const [v] = vhostPlan('198.18.0', 1);
    expect(ucarpArgs(node, v!, { up: '/u', down: '/d' }).join(' ')).toBe(
      '-i eth0 -s 198.18.0.2 -v 1 -p secret -a 198.18.0.101 -k 100 -b 1 -u /u -d /d -z -f none',
    );
    expect(carpdFlatArgs(node, v!).join(' ')).toBe('-i eth0 -s 198.18.0.2 -v 1 -p secret -a 198.18.0.101 -b 1 -k 100');
  });

  it('judges the failover against the backup\'s master-down interval + 200 ms', () => {
    expect(nominalIntervalMs()).toBe(1_000);
    // advbase 1 × deadratio 3 + advskew 100/256 s.
    expect(failoverTargetMs()).toEqual({ masterDownMs: 3_000 + 390.625, targetMs: 3_590.625 });
  });
});

describe('bench-vhosts options', () => {
  it('has documented defaults and --quick', () => {
    expect(parseVhostsOptions([])).toMatchObject({ vhosts: [1, 10, 100], daemons: ['carpd', 'ucarp'], idleSeconds: 30, settleSeconds: 30, flatCarpd: false });
    expect(parseVhostsOptions(['--quick'])).toMatchObject({ vhosts: [1, 10], idleSeconds: 5, settleSeconds: 2, quick: true });
    expect(parseVhostsOptions(['--quick', '--idle-seconds', '9', '--vhosts', '100'])).toMatchObject({ vhosts: [100], idleSeconds: 9 });
    expect(parseVhostsOptions(['--settle-seconds', '0'])).toMatchObject({ settleSeconds: 0 });
    expect(parseVhostsOptions(['--daemons', 'ucarp', '--json', 'x.json'])).toMatchObject({ daemons: ['ucarp'], json: 'x.json' });
    expect(parseVhostsOptions(['--flat-carpd', '--vhosts', '1'])).toMatchObject({ flatCarpd: true, vhosts: [1] });
  });

  it('parses lists', () => {
    expect(parseVhostCounts('1, 10,100')).toEqual([1, 10, 100]);
    expect(parseDaemons('ucarp,carpd')).toEqual(['carpd', 'ucarp']);
  });

  it.each([
    [['--vhosts', '0'], /--vhosts must be a comma-separated list of integers from 1 to 154, got "0"/],
    [['--vhosts', '1,,2'], /--vhosts must be/],
    [['--vhosts', '155'], /got "155"/],
    [['--vhosts', '10,10'], /--vhosts lists a count twice/],
    [['--daemons', 'keepalived'], /--daemons must be carpd, ucarp or carpd,ucarp, got "keepalived"/],
    [['--daemons', 'ucarp,ucarp'], /--daemons must be/],
    [['--idle-seconds', '0'], /--idle-seconds must be an integer from 1 to 600, got "0"/],
    [['--json', ''], /--json must name a file/],
    [['--flat-carpd'], /--flat-carpd starts carpd for one vhost only, so it needs --vhosts 1, got --vhosts 1,10,100/],
    [['--bogus'], /^bench-vhosts: /],
  ])('rejects %j with one line', (argv, message) => {
    expect(() => parseVhostsOptions(argv)).toThrow(UsageError);
    expect(() => parseVhostsOptions(argv)).toThrow(message);
  });
});

describe('bench-vhosts table', () => {
  function run(daemon: 'carpd' | 'ucarp', vhosts: number, figures: { rssKb: number; cpuPerMin: number; p99: number; moved: number }): MultiRunResult {
    return {
      daemon,
      vhosts,
      problems: [],
      error: undefined,
      commands: [],
      carpdConfig: undefined,
      spuriousMaster: [{ host: 1, transitions: 0 }, { host: 2, transitions: vhosts === 100 ? 3 : 0 }],
      startMs: 3_400,
      idle: {
        windowMs: 20_000,
        cpuTicks: 0,
        cpuMs: 0,
        cpuMsPerMinute: figures.cpuPerMin,
        schedCpuMs: undefined,
        end: { processes: 1, commands: {}, ticks: 0, rssKb: figures.rssKb, pssKb: undefined, schedNs: undefined },
      },
      jitter: { vhids: vhosts, intervals: 19 * vhosts, nominalMs: 1_000, meanIntervalMs: 1_000, p50Ms: 1, p99Ms: figures.p99, maxMs: figures.p99, missedAdverts: 0 },
      captureDroppedByKernel: 0,
      failover: { faultCommandMs: 5, allMovedMs: figures.moved, moved: vhosts, worstLastAdvertToVipMs: figures.moved + 100, masterDownMs: 3_390.625, targetMs: 3_590.625, perVhid: [] },
      logs: [],
    };
  }

  it('gives carpd/ucarp ratios and judges carpd against the targets (RSS and CPU at N = 100 only)', () => {
    const results = [
      run('carpd', 1, { rssKb: 60 * 1024, cpuPerMin: 50, p99: 2, moved: 3_300 }),
      run('ucarp', 1, { rssKb: 5 * 1024, cpuPerMin: 10, p99: 4, moved: 3_350 }),
      run('carpd', 100, { rssKb: 90 * 1024, cpuPerMin: 700, p99: 12, moved: 3_590.625 }),
      { ...run('ucarp', 100, { rssKb: 500 * 1024, cpuPerMin: 900, p99: 5, moved: 3_700 }), error: 'boom' },
    ];
    const rows = vhostsRows(results, [1, 100]);
    const row = (scenario: RegExp, n: number) => rows.find((r) => scenario.test(r.scenario) && r.vhosts === n)!;
    expect(row(/^RSS/, 1)).toMatchObject({ carpd: 60 * 1024, ucarp: 5 * 1024, ratio: 12, target: undefined });
    expect(row(/^RSS/, 100).target).toEqual({ text: '< 100 MiB', met: true });
    expect(row(/^CPU/, 100).target).toMatchObject({ met: false });
    expect(row(/jitter/, 1).target).toMatchObject({ text: '< 10 ms', met: true });
    expect(row(/jitter/, 100).target).toMatchObject({ met: false });
    // Exactly master-down + 200 ms is still "within".
    expect(row(/^link cut/, 100).target).toMatchObject({ met: true });
    expect(row(/^link cut/, 100).flags).toEqual({ carpd: '', ucarp: 'error' });
    expect(row(/^spurious/, 1)).toMatchObject({ carpd: 0, target: { text: 'zero', met: true } });
    expect(row(/^spurious/, 100)).toMatchObject({ carpd: 3, target: { met: false } });
    const table = formatVhostsTable(rows);
    expect(table.split('\n')[0]).toMatch(/^scenario\s+N\s+carpd\s+ucarp\s+carpd\/ucarp\s+target \(carpd\)$/);
    expect(table).toMatch(/RSS of the master node .*\s1\s+60\.0 MiB\s+5\.0 MiB\s+12\s/);
    expect(table).toMatch(/ERROR/);
  });

  it('prints CPU per minute with its share of one core', () => {
    expect(formatValue(600, 'cpu')).toBe('600 ms/min (1.00 %)');
    expect(formatValue(30, 'cpu')).toBe('30 ms/min (0.05 %)');
    expect(formatValue(102_400, 'kB')).toBe('100.0 MiB');
    expect(formatValue(undefined, 'ms')).toBe('—');
  });
});
