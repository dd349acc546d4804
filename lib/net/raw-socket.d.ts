// Types for the parts of raw-socket (which ships none) that carpd uses.
declare module 'raw-socket' {
  import type { EventEmitter } from 'node:events';

  export interface SocketOptions {
    protocol?: number;
    addressFamily?: number;
    bufferSize?: number;
    generateChecksums?: boolean;
    checksumOffset?: number;
  }

  export interface Socket extends EventEmitter {
    send(
      buffer: Buffer,
      offset: number,
      length: number,
      address: string,
      beforeCallback: (() => void) | null,
      afterCallback: (error: Error | null, bytes: number) => void,
    ): this;
    setOption(level: number, option: number, value: number): void;
    setOption(level: number, option: number, value: Buffer, length: number): void;
    getOption(level: number, option: number, value: Buffer, length: number): number;
    pauseRecv(): this;
    resumeRecv(): this;
    close(): this;
    on(event: 'message', listener: (buffer: Buffer, source: string) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: 'close', listener: () => void): this;
  }

  export const AddressFamily: { IPv4: number; IPv6: number };
  export const SocketLevel: { SOL_SOCKET: number; IPPROTO_IP: number; IPPROTO_IPV6: number };
  export const SocketOption: {
    SO_BROADCAST: number;
    SO_RCVBUF: number;
    SO_SNDBUF: number;
    SO_BINDTODEVICE: number;
    IP_HDRINCL: number;
    IP_TOS: number;
    IP_TTL: number;
  };
  export function createSocket(options?: SocketOptions): Socket;

  const raw: {
    createSocket: typeof createSocket;
    AddressFamily: typeof AddressFamily;
    SocketLevel: typeof SocketLevel;
    SocketOption: typeof SocketOption;
  };
  export default raw;
}
