// Reads a classic pcap file (LINKTYPE_ETHERNET, either byte order) into its frames, for the
// fixture writers of scripts/capture-golden.sh and scripts/capture-vrrp-golden.sh.
import { readFileSync } from 'node:fs';

/** The captured bytes of each frame, in capture order. Throws on anything but Ethernet pcap. */
export function ethernetFrames(path) {
  const file = readFileSync(path);
  const magicLE = file.readUInt32LE(0);
  const le = magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d;
  const magicBE = file.readUInt32BE(0);
  if (!le && magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) {
    throw new Error(`not a pcap file: magic ${magicLE.toString(16)}`);
  }
  const u32 = (off) => (le ? file.readUInt32LE(off) : file.readUInt32BE(off));
  if (u32(20) !== 1) throw new Error(`unexpected link type ${u32(20)}`);
  // A 24-byte file header, then per frame a 16-byte record header (captured length at +8).
  const frames = [];
  let off = 24;
  while (off + 16 <= file.length) {
    const capLen = u32(off + 8);
    frames.push(file.subarray(off + 16, off + 16 + capLen));
    off += 16 + capLen;
  }
  return frames;
}
