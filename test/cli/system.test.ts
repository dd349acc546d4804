import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { realSystemProbe } from '../../lib/cli/system.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/cli/${name}`, import.meta.url));

describe('realSystemProbe', () => {
  it('finds the loopback interface and its IPv4 address', () => {
    expect(realSystemProbe.interfaceIpv4Addresses('lo')).toContain('127.0.0.1');
  });

  it('returns undefined for an interface that does not exist', () => {
    expect(realSystemProbe.interfaceIpv4Addresses('nosuchif0')).toBeUndefined();
  });

  it('lists only IPv4 addresses', () => {
    const name = Object.keys(networkInterfaces())[0] ?? 'lo';
    for (const address of realSystemProbe.interfaceIpv4Addresses(name) ?? []) {
      expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    }
  });

  it('tells executable files from others', () => {
    expect(realSystemProbe.isExecutableFile(fixture('vip-up.sh'))).toBe(true);
    expect(realSystemProbe.isExecutableFile(fixture('not-executable.sh'))).toBe(false);
    expect(realSystemProbe.isExecutableFile(fixture('missing.sh'))).toBe(false);
    // A directory has the x bit but cannot be run.
    expect(realSystemProbe.isExecutableFile(fixture(''))).toBe(false);
  });

  it('reads the first line without its \\n, keeping a \\r as ucarp does', () => {
    expect(realSystemProbe.readFirstLine(fixture('lf.pass'))).toBe('love');
    expect(realSystemProbe.readFirstLine(fixture('crlf.pass'))).toBe('love\r');
    expect(realSystemProbe.readFirstLine(fixture('no-newline.pass'))).toBe('love');
    expect(realSystemProbe.readFirstLine(fixture('empty.pass'))).toBe('');
  });

  it('names the file and the reason when it cannot read it', () => {
    expect(() => realSystemProbe.readFirstLine(fixture('missing.pass'))).toThrow(
      /^cannot read .*missing\.pass: ENOENT: no such file or directory$/,
    );
  });

  it("reports carpd's version from package.json", () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(realSystemProbe.carpdVersion()).toBe(manifest.version);
  });
});
