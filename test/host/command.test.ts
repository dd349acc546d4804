import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { oneLine, runCommand } from '../../lib/host/command.js';
import { parseMonitorLine } from '../../lib/host/link-monitor.js';
import { BoundedLines } from '../../lib/host/output-lines.js';

describe('runCommand', () => {
  it('returns output and status, and passes arguments without a shell', async () => {
    const result = await runCommand('printf', ['%s|', '$(id)', 'a b', '*'], { timeoutMs: 5000 });
    expect(result).toMatchObject({ exitCode: 0, stdout: '$(id)|a b|*|', failed: false, timedOut: false });
  });

  it('reports a failing command instead of throwing', async () => {
    const result = await runCommand('sh', ['-c', 'echo oops >&2; exit 3'], { timeoutMs: 5000 });
    expect(result).toMatchObject({ exitCode: 3, stderr: 'oops', failed: true, timedOut: false });
  });

  it('kills a command at its deadline', async () => {
    const t0 = performance.now();
    const result = await runCommand('sleep', ['10'], { timeoutMs: 200 });
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(result).toMatchObject({ timedOut: true, failed: true, exitCode: undefined, signal: 'SIGTERM' });
  });

  it('reports a program that does not exist', async () => {
    const result = await runCommand('/nonexistent/carpd-test', [], { timeoutMs: 1000 });
    expect(result.failed).toBe(true);
    expect(result.exitCode).toBeUndefined();
    expect(result.spawnError).toMatch(/ENOENT/);
  });

  it('puts the prefix in front of the command', async () => {
    const result = await runCommand('b', ['c'], { timeoutMs: 1000, prefix: ['echo', 'a'] });
    expect(result.stdout).toBe('a b c');
  });

  it('oneLine joins lines for a log line', () => {
    expect(oneLine('Error: x\n  more\n\n')).toBe('Error: x | more');
  });
});

describe('parseMonitorLine', () => {
  it.each([
    ['3: veth0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether 22:0d:c2:78:c0:ce brd ff:ff:ff:ff:ff:ff', { ifindex: 3, ifname: 'veth0', up: true, deleted: false }],
    ['3: veth0@if2: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN', { ifindex: 3, ifname: 'veth0', up: false, deleted: false }],
    ['3: eth0: <BROADCAST,MULTICAST,LOWER_UP> mtu 1500 state DOWN', { ifindex: 3, ifname: 'eth0', up: false, deleted: false }],
    // The index tells a re-created interface of the same name from the one that was deleted.
    ['Deleted 3: veth0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500', { ifindex: 3, ifname: 'veth0', up: false, deleted: true }],
    ['[LINK]Deleted 17: eth0.42@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500', { ifindex: 17, ifname: 'eth0.42', up: false, deleted: true }],
    ['[LINK]3: br-lan.10@br-lan: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500', { ifindex: 3, ifname: 'br-lan.10', up: true, deleted: false }],
    ['    link/ether 22:0d:c2:78:c0:ce brd ff:ff:ff:ff:ff:ff', undefined],
    ['', undefined],
  ])('%s', (line, expected) => {
    expect(parseMonitorLine(line)).toEqual(expected);
  });
});

describe('BoundedLines', () => {
  it('keeps whole lines across chunks, a last line without newline, and counts the rest', () => {
    const lines = new BoundedLines(2, 5);
    lines.push('ab');
    lines.push(Buffer.from('c\n1234567\nthird\nfourth'));
    expect(lines.finish()).toEqual(['abc', '12345...', '... (2 more lines)']);
  });

  it('does not split a multi-byte character across chunks', () => {
    const lines = new BoundedLines();
    const bytes = Buffer.from('é\n');
    lines.push(bytes.subarray(0, 1));
    lines.push(bytes.subarray(1));
    expect(lines.finish()).toEqual(['é']);
  });
});
