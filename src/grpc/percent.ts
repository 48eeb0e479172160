// grpc-message's encoding (gRPC over HTTP/2): percent-encoded UTF-8. One
// place for both ways, read by the face and by the gRPC backend's stream proxy.

/**
 * grpc-message as gRPC over HTTP/2 writes it: UTF-8, every byte outside
 * printable ASCII and `%` itself percent-encoded.
 */
export function percentEncoded(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** grpc-message travels percent-encoded; a malformed escape is kept as it came. */
export function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
