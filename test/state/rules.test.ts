import { describe, expect, it } from 'vitest';
import { BackupVerdict, MasterVerdict } from '../../lib/state/election.js';
import {
  CARP_BOW_OUT,
  MAX_DEMOTED_ADVSKEW,
  VRRP_MIN_DEMOTED_PRIORITY,
  carpRules,
  isVrrpClaim,
  vrrpMasterDownMs,
  vrrpRules,
  vrrpSkewMs,
  type VrrpClaim,
} from '../../lib/state/rules.js';

const LOW = 0xc6120001; // 198.18.0.1
const HIGH = 0xc6120003; // 198.18.0.3
// Network order matters: 10.0.0.2 < 198.18.0.1 although its last octet is higher.
const TEN_0_0_2 = 0x0a000002;

const v = (priority: number, intervalCs = 100): VrrpClaim => ({ priority, intervalCs });

describe('vrrpRules: claims', () => {
  it.each([
    // [priority, demotion, advertised]
    [100, 0, 100],
    [100, 20, 80],
    [100, 99, 1],
    [100, 100, 1], // keepalived's floor: demotion never makes a node resign (priority 0)
    [100, 500, 1],
    [255, 10, 245],
    [1, 1, 1],
  ])('priority %i with demotion %i advertises %i', (priority, demotion, advertised) => {
    const rules = vrrpRules({ version: 2, priority, intervalCs: 100 });
    expect(rules.claim(demotion)).toEqual({ priority: advertised, intervalCs: 100 });
    expect(VRRP_MIN_DEMOTED_PRIORITY).toBe(1);
  });

  it('the interval is never demoted, and the claim is a VRRP claim', () => {
    const rules = vrrpRules({ version: 3, priority: 100, intervalCs: 50 });
    expect(rules.claim(30)).toEqual({ priority: 70, intervalCs: 50 });
    expect(isVrrpClaim(rules.claim(0))).toBe(true);
  });

  it('bows out with priority 0 at its own interval; only priority 0 is a bow-out', () => {
    const rules = vrrpRules({ version: 3, priority: 150, intervalCs: 50 });
    expect(rules.bowOut(rules.claim(0))).toEqual({ priority: 0, intervalCs: 50 });
    expect(rules.isBowOut(v(0))).toBe(true);
    expect(rules.isBowOut(v(1))).toBe(false);
    expect(rules.isBowOut(v(255))).toBe(false);
  });

  it('names its protocol, advertises its interval, and is the owner only at 255', () => {
    expect(vrrpRules({ version: 2, priority: 100, intervalCs: 200 })).toMatchObject({ protocol: 'vrrp2', owner: false, reassertWith: 'advert' });
    expect(vrrpRules({ version: 3, priority: 255, intervalCs: 10 })).toMatchObject({ protocol: 'vrrp3', owner: true });
    expect(vrrpRules({ version: 2, priority: 254, intervalCs: 100 }).owner).toBe(false);
    expect(vrrpRules({ version: 3, priority: 100, intervalCs: 10 }).advertIntervalMs(v(100, 10))).toBe(100);
    expect(vrrpRules({ version: 2, priority: 100, intervalCs: 200 }).advertIntervalMs(v(100, 200))).toBe(2000);
  });

  it('describes claims and demotion for log lines', () => {
    const rules = vrrpRules({ version: 3, priority: 100, intervalCs: 5 });
    expect(rules.describe(v(100, 5))).toBe('(priority 100, interval 0.05 s)');
    expect(rules.describeDemoted(0)).toBe('priority 100');
    expect(rules.describeDemoted(20)).toBe('priority 80 (100 - demotion 20)');
  });

  it('refuses a CARP claim', () => {
    const rules = vrrpRules({ version: 2, priority: 100, intervalCs: 100 });
    expect(() => rules.advertIntervalMs({ advbase: 1, advskew: 0 })).toThrow(TypeError);
  });
});

describe('vrrpRules: skew and master-down', () => {
  it.each([
    // [version, priority, master's interval cs, skew ms, master-down ms]
    // v2: (256 - p)/256 s whatever the interval (RFC 3768 6.1, keepalived's VRRP_TIMER_SKEW).
    [2, 100, 100, 609.375, 3609.375],
    [2, 80, 100, 687.5, 3687.5], // the 0.688 s hand-over measured from keepalived
    [2, 150, 100, 414.0625, 3414.0625],
    [2, 255, 100, 3.90625, 3003.90625],
    [2, 100, 200, 609.375, 6609.375], // not scaled by the 2 s interval
    [2, 1, 100, 996.09375, 3996.09375],
    // v3: (256 - p) × Master_Adver_Interval / 256 (RFC 5798 6.1).
    [3, 100, 100, 609.375, 3609.375],
    [3, 80, 50, 343.75, 1843.75], // keepalived: 1.844 s with the master at 0.5 s
    [3, 200, 10, 21.875, 321.875],
    [3, 100, 200, 1218.75, 7218.75],
    [3, 255, 4095, 159.9609375, 122_850 + 159.9609375],
  ] as const)('v%i priority %i, master interval %i cs: skew %f ms, master-down %f ms', (version, priority, masterCs, skew, down) => {
    expect(vrrpSkewMs(version, priority, masterCs)).toBeCloseTo(skew, 9);
    expect(vrrpMasterDownMs(version, priority, masterCs)).toBeCloseTo(down, 9);
  });

  it('v3 backups time out on the MASTER\'s interval, not their own', () => {
    const rules = vrrpRules({ version: 3, priority: 80, intervalCs: 200 });
    const own = rules.claim(0);
    expect(rules.masterDownMs(own, undefined)).toBeCloseTo(vrrpMasterDownMs(3, 80, 200), 9); // nobody heard yet
    expect(rules.masterDownMs(own, v(150, 50))).toBeCloseTo(1843.75, 9);
    expect(rules.masterDownMs(own, v(150, 400))).toBeCloseTo(3 * 4000 + (176 * 4000) / 256, 9);
  });

  it('v2 backups time out on their own interval (both sides must match; the checks drop others)', () => {
    const rules = vrrpRules({ version: 2, priority: 80, intervalCs: 100 });
    expect(rules.masterDownMs(rules.claim(0), v(150, 300))).toBeCloseTo(3687.5, 9);
  });

  it('a demoted backup skews with its advertised priority', () => {
    const rules = vrrpRules({ version: 2, priority: 100, intervalCs: 100 });
    expect(rules.masterDownMs(rules.claim(20), undefined)).toBeCloseTo(3000 + (176 * 1000) / 256, 9);
  });

  it('bowOutDelayMs is the skew time (v2: of a second; v3: of the master\'s interval)', () => {
    const v2 = vrrpRules({ version: 2, priority: 80, intervalCs: 300 });
    expect(v2.bowOutDelayMs(v2.claim(0), v(0, 300))).toBeCloseTo(687.5, 9);
    const v3 = vrrpRules({ version: 3, priority: 80, intervalCs: 200 });
    expect(v3.bowOutDelayMs(v3.claim(0), v(150, 50))).toBeCloseTo(343.75, 9);
    // An owner waits almost nothing; a priority-1 backup almost a whole second (v2).
    expect(vrrpRules({ version: 2, priority: 255, intervalCs: 100 }).bowOutDelayMs(v(255), v(0))).toBeCloseTo(3.90625, 9);
    expect(vrrpRules({ version: 2, priority: 1, intervalCs: 100 }).bowOutDelayMs(v(1), v(0))).toBeCloseTo(996.09375, 9);
  });

  it('better backups always time out first, v2 and v3', () => {
    for (const version of [2, 3] as const) {
      let previous = Infinity;
      for (let p = 1; p <= 255; p++) {
        const down = vrrpMasterDownMs(version, p, 100);
        expect(down).toBeLessThan(previous);
        previous = down;
      }
    }
  });
});

describe('vrrpRules: judgeRival (a MASTER hears another master)', () => {
  it.each([
    // [ours, our address, theirs, their address, verdict]
    ['higher priority', 100, LOW, 101, LOW + 1, MasterVerdict.Yield],
    ['higher priority from a lower address', 100, HIGH, 200, LOW, MasterVerdict.Yield],
    ['lower priority', 150, LOW, 100, HIGH, MasterVerdict.Reassert],
    ['equal priority, higher address', 150, LOW, 150, HIGH, MasterVerdict.Yield],
    ['equal priority, lower address', 150, HIGH, 150, LOW, MasterVerdict.Reassert],
    // Network order, not ucarp's little-endian order: 10.0.0.2 is lower than 198.18.0.1.
    ['equal priority, lower address in network order', 150, LOW, 150, TEN_0_0_2, MasterVerdict.Reassert],
    ['equal priority, higher address in network order', 150, TEN_0_0_2, 150, LOW, MasterVerdict.Yield],
    ['owner 255 hears 254', 255, LOW, 254, HIGH, MasterVerdict.Reassert],
    ['254 hears the owner 255', 254, HIGH, 255, LOW, MasterVerdict.Yield],
    ['two owners: address decides', 255, LOW, 255, HIGH, MasterVerdict.Yield],
    ['addresses with the top bit set compare unsigned', 150, 0x7f000001, 150, 0xc6120001 | 0, MasterVerdict.Yield],
  ] as const)('%s', (_name, ours, ourAddress, theirs, theirAddress, verdict) => {
    const rules = vrrpRules({ version: 2, priority: ours, intervalCs: 100 });
    expect(rules.judgeRival(v(ours), ourAddress, v(theirs), theirAddress)).toBe(verdict);
  });

  it('the interval plays no part (it is CARP\'s criterion, not VRRP\'s)', () => {
    const rules = vrrpRules({ version: 3, priority: 100, intervalCs: 100 });
    expect(rules.judgeRival(v(100, 100), LOW, v(99, 1), HIGH)).toBe(MasterVerdict.Reassert);
    expect(rules.judgeRival(v(100, 1), LOW, v(101, 4000), LOW - 1)).toBe(MasterVerdict.Yield);
  });
});

describe('vrrpRules: judgeMaster (a BACKUP hears the master)', () => {
  it.each([
    // [ours, preempt, master's, verdict]
    ['priority 0: the master resigns', 100, true, 0, BackupVerdict.BowOut],
    ['priority 0 without preempt: still a bow-out', 100, false, 0, BackupVerdict.BowOut],
    ['a lower priority, preempt on', 150, true, 100, BackupVerdict.Preempt],
    ['a lower priority, preempt off (nopreempt)', 150, false, 100, BackupVerdict.Follow],
    ['an equal priority, preempt on (no address tie-break in BACKUP)', 150, true, 150, BackupVerdict.Follow],
    ['a higher priority', 100, true, 150, BackupVerdict.Follow],
    ['the owner', 254, true, 255, BackupVerdict.Follow],
    ['owner hearing a lower master', 255, true, 254, BackupVerdict.Preempt],
    ['priority 1 hearing priority 1', 1, true, 1, BackupVerdict.Follow],
  ] as const)('%s', (_name, ours, preempt, theirs, verdict) => {
    for (const version of [2, 3] as const) {
      const rules = vrrpRules({ version, priority: ours, intervalCs: 100 });
      expect(rules.judgeMaster(v(ours), preempt, v(theirs))).toBe(verdict);
    }
  });

  it('judges with the demoted priority it advertises', () => {
    const rules = vrrpRules({ version: 2, priority: 150, intervalCs: 100 });
    expect(rules.judgeMaster(rules.claim(60), true, v(100))).toBe(BackupVerdict.Follow);
    expect(rules.judgeMaster(rules.claim(40), true, v(100))).toBe(BackupVerdict.Preempt);
  });
});

describe('carpRules', () => {
  it.each([
    // [advskew, demotion, advertised advskew]
    [0, 0, 0],
    [0, 50, 50],
    [10, 50, 60],
    [100, 200, MAX_DEMOTED_ADVSKEW], // FreeBSD's CARP_MAXSKEW cap
    [0, 1000, 240],
    [250, 10, 250], // never below the configured one, even above the cap
  ])('advskew %i with demotion %i advertises advskew %i', (advskew, demotion, advertised) => {
    const rules = carpRules({ advbase: 1, advskew, deadratio: 3 });
    expect(rules.claim(demotion)).toEqual({ advbase: 1, advskew: advertised });
    expect(MAX_DEMOTED_ADVSKEW).toBe(240);
  });

  it('bows out with advbase 255 advskew 255 and recognises it', () => {
    const rules = carpRules({ advbase: 1, advskew: 10, deadratio: 3 });
    expect(rules.bowOut(rules.claim(0))).toEqual(CARP_BOW_OUT);
    expect(rules.isBowOut({ advbase: 255, advskew: 255 })).toBe(true);
    expect(rules.isBowOut({ advbase: 255, advskew: 254 })).toBe(false);
    expect(rules).toMatchObject({ protocol: 'carp', owner: false, reassertWith: 'garp' });
  });

  it('backups time out on their own timing × deadratio, whatever the master\'s', () => {
    const rules = carpRules({ advbase: 1, advskew: 128, deadratio: 3 });
    // ucarp: advbase × deadratio + advskew/256 s (the skew is not multiplied).
    expect(rules.masterDownMs(rules.claim(0), { advbase: 5, advskew: 0 })).toBe(3500);
    expect(rules.masterDownMs(rules.claim(0), undefined)).toBe(3500);
    expect(rules.advertIntervalMs(rules.claim(0))).toBe(1500);
  });

  it('judgeRival: the shorter interval wins, ties go to the lower address in ucarp\'s order', () => {
    const rules = carpRules({ advbase: 1, advskew: 10, deadratio: 3 });
    expect(rules.judgeRival({ advbase: 1, advskew: 10 }, LOW, { advbase: 1, advskew: 5 }, HIGH)).toBe(MasterVerdict.Yield);
    expect(rules.judgeRival({ advbase: 1, advskew: 10 }, LOW, { advbase: 1, advskew: 20 }, HIGH)).toBe(MasterVerdict.Reassert);
    expect(rules.judgeRival({ advbase: 1, advskew: 10 }, HIGH, { advbase: 1, advskew: 10 }, LOW)).toBe(MasterVerdict.Yield);
    expect(rules.judgeRival({ advbase: 1, advskew: 10 }, LOW, { advbase: 1, advskew: 10 }, HIGH)).toBe(MasterVerdict.Reassert);
  });

  it('judgeMaster: bow-out, preempt a slower master, follow, a master too slow to live', () => {
    const rules = carpRules({ advbase: 1, advskew: 0, deadratio: 3 });
    const own = rules.claim(0);
    expect(rules.judgeMaster(own, false, CARP_BOW_OUT)).toBe(BackupVerdict.BowOut);
    expect(rules.judgeMaster(own, true, { advbase: 1, advskew: 1 })).toBe(BackupVerdict.Preempt);
    expect(rules.judgeMaster(own, false, { advbase: 1, advskew: 1 })).toBe(BackupVerdict.Follow);
    expect(rules.judgeMaster(own, true, { advbase: 1, advskew: 0 })).toBe(BackupVerdict.Follow);
    expect(rules.judgeMaster(own, false, { advbase: 5, advskew: 0 })).toBe(BackupVerdict.MasterTimingOut);
  });

  it('bowOutDelayMs: a quarter millisecond per advskew unit', () => {
    expect(carpRules({ advbase: 1, advskew: 0, deadratio: 3 }).bowOutDelayMs({ advbase: 1, advskew: 0 }, CARP_BOW_OUT)).toBe(0);
    expect(carpRules({ advbase: 1, advskew: 100, deadratio: 3 }).bowOutDelayMs({ advbase: 1, advskew: 100 }, CARP_BOW_OUT)).toBe(25);
  });

  it('describes claims and demotion, and refuses a VRRP claim', () => {
    const rules = carpRules({ advbase: 1, advskew: 10, deadratio: 3 });
    expect(rules.describe({ advbase: 1, advskew: 10 })).toBe('(advbase 1, advskew 10)');
    expect(rules.describeDemoted(50)).toBe('advskew 60 (10 + demotion 50)');
    expect(rules.describeDemoted(0)).toBe('advskew 10');
    expect(() => rules.advertIntervalMs(v(100))).toThrow(TypeError);
  });
});
