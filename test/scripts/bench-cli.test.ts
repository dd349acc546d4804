// The frame every benchmark shares (scripts/bench/cli.ts): its closing line and its JSON file.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { finishedLine, writeJsonReport } from '../../scripts/bench/cli.js';

describe('finishedLine', () => {
  it('gives the finish time and the whole seconds since the start', () => {
    const startedAt = new Date('2024-01-01T00:00:00.000Z');
    expect(finishedLine(startedAt, new Date('2024-01-01T00:01:01.600Z'))).toBe('\nfinished 2024-01-01T00:01:01.600Z after 62 s');
  });
});

describe('writeJsonReport', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes pretty JSON with bigints as decimal strings, and says where', () => {
    dir = mkdtempSync(join(tmpdir(), 'carpd-bench-cli-'));
    const file = join(dir, 'out.json');
    const said: (string | undefined)[] = [];
    writeJsonReport(file, { ticks: 12345678901234567890n, n: 1 }, (text) => said.push(text));
    expect(readFileSync(file, 'utf8')).toBe('{\n  "ticks": "12345678901234567890",\n  "n": 1\n}\n');
    expect(said).toEqual([`raw figures written to ${file}`]);
  });
});
