import { describe, expect, it } from 'vitest';
import {
  advertisementInterval256,
  advertisementIntervalMs,
  formatSeconds,
  masterDownInterval256,
  masterDownIntervalMs,
} from '../../lib/state/timing.js';
import {
  BackupVerdict,
  MasterVerdict,
  judgeMaster,
  judgeRivalMaster,
  tieBreakOrder,
} from '../../lib/state/election.js';

describe('advertisement interval', () => {
  it.each([
    [1, 0, 256, 1000],
    [1, 100, 356, 1390.625],
    [0, 26, 26, 101.5625],
    [3, 255, 1023, 3996.09375],
    [255, 255, 65535, 255996.09375],
  ])('advbase %i advskew %i -> %i/256 s = %f ms', (advbase, advskew, units, ms) => {
    expect(advertisementInterval256({ advbase, advskew })).toBe(units);
    expect(advertisementIntervalMs({ advbase, advskew })).toBe(ms);
  });
});

describe('master-down interval', () => {
  it.each([
    // ucarp's formula for advbase >= 1: advbase x deadratio + advskew/256
    [1, 0, 3, 3000],
    [1, 100, 3, 3390.625],
    [2, 0, 5, 10000],
    [1, 0, 1, 1000],
    // advbase 0: the whole interval is multiplied (ucarp would give advskew/256 = one interval)
    [0, 26, 3, 304.6875],
    [0, 51, 4, 796.875],
  ])('advbase %i advskew %i deadratio %i -> %f ms', (advbase, advskew, deadratio, ms) => {
    expect(masterDownIntervalMs({ advbase, advskew }, deadratio)).toBe(ms);
  });

  it('is always longer than the advert interval when deadratio > 1, even at advbase 0', () => {
    for (let advskew = 1; advskew < 255; advskew++) {
      expect(masterDownInterval256({ advbase: 0, advskew }, 2)).toBeGreaterThan(
        advertisementInterval256({ advbase: 0, advskew }),
      );
    }
  });

  it('formats seconds for log lines', () => {
    expect(formatSeconds(3041.2)).toBe('3.04 s');
  });
});

describe('a MASTER hearing another master', () => {
  const low = 0xc6120001; // 198.18.0.1
  const high = 0xc6120002; // 198.18.0.2
  it.each([
    ['faster rival', { advbase: 1, advskew: 100 }, high, { advbase: 1, advskew: 0 }, low, MasterVerdict.Yield],
    ['faster rival with higher address', { advbase: 1, advskew: 100 }, low, { advbase: 1, advskew: 0 }, high, MasterVerdict.Yield],
    ['slower rival', { advbase: 1, advskew: 0 }, low, { advbase: 1, advskew: 1 }, high, MasterVerdict.Reassert],
    ['slower rival by advbase', { advbase: 1, advskew: 200 }, high, { advbase: 2, advskew: 0 }, low, MasterVerdict.Reassert],
    ['equal interval, rival lower address', { advbase: 1, advskew: 0 }, high, { advbase: 1, advskew: 0 }, low, MasterVerdict.Yield],
    ['equal interval, rival higher address', { advbase: 1, advskew: 0 }, low, { advbase: 1, advskew: 0 }, high, MasterVerdict.Reassert],
    // 10.0.1.2 vs 10.0.2.1: network order would pick 10.0.1.2, ucarp (last octet first) picks
    // 10.0.2.1 — and a mixed group must agree with ucarp.
    ['equal interval across subnets, ucarp order', { advbase: 1, advskew: 0 }, 0x0a000102, { advbase: 1, advskew: 0 }, 0x0a000201, MasterVerdict.Yield],
    ['equal interval across subnets, ucarp order, reverse', { advbase: 1, advskew: 0 }, 0x0a000201, { advbase: 1, advskew: 0 }, 0x0a000102, MasterVerdict.Reassert],
  ])('%s', (_name, own, ownAddr, rival, rivalAddr, verdict) => {
    expect(judgeRivalMaster(own, ownAddr, rival, rivalAddr)).toBe(verdict);
  });

  it('orders addresses as ucarp does on little-endian hosts', () => {
    expect(tieBreakOrder(0xc6120001)).toBe(0x010012c6);
    expect(tieBreakOrder(0xffffffff)).toBe(0xffffffff);
    expect(tieBreakOrder(0x01000000)).toBe(0x00000001);
  });
});

describe('a BACKUP hearing the master', () => {
  it.each([
    ['healthy equal master', { advbase: 1, advskew: 0 }, 3, false, { advbase: 1, advskew: 0 }, false, BackupVerdict.Follow],
    ['slower master, no preempt', { advbase: 1, advskew: 0 }, 3, false, { advbase: 1, advskew: 100 }, false, BackupVerdict.Follow],
    ['slower master, preempt', { advbase: 1, advskew: 0 }, 3, true, { advbase: 1, advskew: 100 }, false, BackupVerdict.Preempt],
    ['equal master, preempt', { advbase: 1, advskew: 0 }, 3, true, { advbase: 1, advskew: 0 }, false, BackupVerdict.Follow],
    ['faster master, preempt', { advbase: 1, advskew: 100 }, 3, true, { advbase: 1, advskew: 0 }, false, BackupVerdict.Follow],
    ['master slower than our dead interval', { advbase: 1, advskew: 0 }, 3, false, { advbase: 4, advskew: 0 }, false, BackupVerdict.MasterTimingOut],
    ['bow-out advert', { advbase: 1, advskew: 0 }, 3, false, { advbase: 255, advskew: 255 }, true, BackupVerdict.BowOut],
    ['bow-out advert, preempting backup', { advbase: 1, advskew: 40 }, 3, true, { advbase: 255, advskew: 255 }, true, BackupVerdict.BowOut],
    ['bow-out with a huge own dead interval', { advbase: 200, advskew: 0 }, 3, false, { advbase: 255, advskew: 255 }, true, BackupVerdict.BowOut],
    ['255/255 timing without the bow-out flag is just a very slow master', { advbase: 1, advskew: 0 }, 3, false, { advbase: 255, advskew: 255 }, false, BackupVerdict.MasterTimingOut],
  ])('%s', (_name, own, deadratio, preempt, master, bowOut, verdict) => {
    expect(judgeMaster(own, deadratio, preempt, master, bowOut)).toBe(verdict);
  });
});
