// Loads the fixtures captured from the real ucarp by scripts/capture-golden.sh.
import { readdirSync, readFileSync } from 'node:fs';

export interface GoldenFixture {
  file: string;
  description: string;
  ucarpArgs: string[];
  password: string;
  vhid: number;
  vip: string;
  srcip: string;
  advbase: number;
  advskew: number;
  nomcast: boolean;
  ethernetHex: string;
  ipHex: string;
  ethernet: Buffer;
  ip: Buffer;
}

const GOLDEN_DIR = new URL('../fixtures/golden/', import.meta.url);

export function loadGolden(file: string): GoldenFixture {
  const raw = JSON.parse(readFileSync(new URL(file, GOLDEN_DIR), 'utf8')) as Omit<GoldenFixture, 'file' | 'ethernet' | 'ip'>;
  return { ...raw, file, ethernet: Buffer.from(raw.ethernetHex, 'hex'), ip: Buffer.from(raw.ipHex, 'hex') };
}

export function allGolden(): GoldenFixture[] {
  return readdirSync(GOLDEN_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map(loadGolden);
}

/** Deterministic PRNG (mulberry32) so random-input tests are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(rand: () => number, max: number): number {
  return Math.floor(rand() * (max + 1));
}

export function randomBytes(rand: () => number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  for (let i = 0; i < length; i++) buf[i] = randomInt(rand, 255);
  return buf;
}

export function randomCounter(rand: () => number): bigint {
  return (BigInt(randomInt(rand, 0xffffffff)) << 32n) | BigInt(randomInt(rand, 0xffffffff));
}
