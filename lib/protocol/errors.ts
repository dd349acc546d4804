/**
 * The one error the protocol codec throws for malformed input.
 *
 * Messages are stable and name the field, what was found and what was needed
 * ("IPv4 header truncated: 12 bytes, need 20"), as dns-packet's errors do, so tests
 * and log readers can rely on them. `kind` tells a packet cut short ('truncated') from one
 * whose bytes make no sense ('malformed'), without parsing the message.
 *
 * Errors from bad *arguments* (a vhid of 300 passed to the encoder) are RangeErrors or
 * TypeErrors instead: those are programming mistakes, not packets.
 */
export type ProtocolDecodeErrorKind = 'truncated' | 'malformed';

export class ProtocolDecodeError extends Error {
  override readonly name = 'ProtocolDecodeError';
  readonly kind: ProtocolDecodeErrorKind;

  constructor(message: string, kind: ProtocolDecodeErrorKind) {
    super(message);
    this.kind = kind;
  }
}
