/**
 * libsignal's typings take Uint8Array<ArrayBuffer>, while SQLite rows and codec output are
 * Uint8Array<ArrayBufferLike> (Buffers may sit in a shared pool). `own` gives libsignal a
 * plain, exact-size copy only when the input is not one already.
 */
export function own(b: Uint8Array): Uint8Array<ArrayBuffer> {
  if (b.buffer instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !Buffer.isBuffer(b)) {
    return b as Uint8Array<ArrayBuffer>;
  }
  return new Uint8Array(b);
}
