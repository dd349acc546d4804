import { describe, expect, it } from 'vitest';
import { controlSocketPath, controlSocketPid, encodeRequest, LineBuffer, parseRequest } from '../../lib/control/socket.js';

describe('control socket names', () => {
  it('are <runDir>/control/<netns>-<pid>.sock, and read back to the pid for that namespace only', () => {
    expect(controlSocketPath('/run/carpd', '4026531840', 1234)).toBe('/run/carpd/control/4026531840-1234.sock');
    expect(controlSocketPid('4026531840-1234.sock', '4026531840')).toBe(1234);
    expect(controlSocketPid('4026531841-1234.sock', '4026531840')).toBeUndefined(); // another namespace
    expect(controlSocketPid('40265318400-1234.sock', '4026531840')).toBeUndefined();
    expect(controlSocketPid('4026531840-1234.sock.tmp', '4026531840')).toBeUndefined();
    expect(controlSocketPid('4026531840-0123.sock', '4026531840')).toBeUndefined();
    expect(controlSocketPid('4026531840-.sock', '4026531840')).toBeUndefined();
    expect(controlSocketPid('4026531840-eth0-vhid1.pid', '4026531840')).toBeUndefined(); // an instance lock
  });
});

describe('parseRequest', () => {
  it('accepts the two commands, as encodeRequest writes them', () => {
    expect(parseRequest(encodeRequest('status').trimEnd())).toEqual({ command: 'status' });
    expect(parseRequest(encodeRequest('reload').trimEnd())).toEqual({ command: 'reload' });
    expect(parseRequest(' {"command":"status","extra":1} ')).toEqual({ command: 'status' });
  });

  it.each([
    ['not JSON', 'status'],
    ['empty', ''],
    ['JSON null', 'null'],
    ['an array', '["status"]'],
    ['no command', '{}'],
    ['a command that is not a string', '{"command":1}'],
  ])('answers %s with one line naming the expected form', (_what, line) => {
    expect(parseRequest(line)).toEqual({ error: 'bad request: expected one line of JSON like {"command":"status"}' });
  });

  it('names an unknown command, quoted and cut to 40 characters', () => {
    expect(parseRequest('{"command":"stop"}')).toEqual({ error: 'unknown command "stop" (expected "status" or "reload")' });
    const long = parseRequest(JSON.stringify({ command: `x\n${'y'.repeat(500)}` }));
    expect(long).toEqual({ error: `unknown command ${JSON.stringify(`x\n${'y'.repeat(38)}`)} (expected "status" or "reload")` });
    expect('error' in long && long.error.includes('\n')).toBe(false);
  });
});

describe('LineBuffer', () => {
  it('returns the first line once its newline arrives, across reads', () => {
    const buffer = new LineBuffer(100);
    expect(buffer.push(Buffer.from('{"comm'))).toBeUndefined();
    expect(buffer.push(Buffer.from('and":"status"}\n{"ignored'))).toBe('{"command":"status"}');
  });

  it('does not mangle a character split across two reads', () => {
    const bytes = Buffer.from('é\n');
    const buffer = new LineBuffer(100);
    expect(buffer.push(bytes.subarray(0, 1))).toBeUndefined();
    expect(buffer.push(bytes.subarray(1))).toBe('é');
  });

  it('refuses a line longer than its limit, counting only what precedes the newline', () => {
    expect(new LineBuffer(4).push(Buffer.from('abcd\nmore after the line'))).toBe('abcd');
    const buffer = new LineBuffer(4);
    expect(buffer.push(Buffer.from('abc'))).toBeUndefined();
    expect(buffer.push(Buffer.from('de'))).toEqual({ tooLong: true });
  });

  it('gives what came without a newline, for a peer that ends its side', () => {
    const buffer = new LineBuffer(100);
    buffer.push(Buffer.from('{"command":"reload"}'));
    expect(buffer.text()).toBe('{"command":"reload"}');
  });
});
