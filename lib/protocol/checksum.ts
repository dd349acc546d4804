/**
 * RFC 1071 Internet checksum: the ones'-complement of the ones'-complement sum of the
 * data taken as big-endian 16-bit words, an odd trailing byte padded with a zero byte.
 *
 * Used for the IPv4 header checksum and for the CARP header checksum (ucarp and
 * OpenBSD compute the latter over the 36 CARP bytes with the checksum field zeroed).
 * The value returned is the one to store in the checksum field; run over data that
 * already holds a correct checksum, the function returns 0.
 */
export function internetChecksum(data: Uint8Array, start = 0, end = data.length): number {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > data.length || start > end) {
    throw new RangeError(`checksum range [${start}, ${end}) is outside the ${data.length}-byte buffer`);
  }
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) {
    sum += (data[i]! << 8) | data[i + 1]!;
  }
  if (i < end) {
    sum += data[i]! << 8;
  }
  // Fold the carries back in; at most two folds are needed for any length that fits
  // in a JavaScript number, the loop states the intent.
  while (sum > 0xffff) {
    sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  }
  return ~sum & 0xffff;
}
