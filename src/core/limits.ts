/**
 * Size limits of the wire objects. Decoders check them before allocating; relays may
 * advertise smaller ones in their policy, never larger ones.
 */

/** Largest padded MessagePlain (4 MiB = 64 buckets of 64 KiB). */
export const MAX_MESSAGE_PLAINTEXT = 4 * 1024 * 1024;
/** Largest body c: the padded plaintext plus Signal's envelope overhead (type byte, MAC, header). */
export const MAX_BODY = MAX_MESSAGE_PLAINTEXT + 4096;
/** Poly1305 tag appended by relay sealing. */
export const BLOB_TAG_BYTES = 16;
/** Largest stored blob: the body plus the AEAD tag. */
export const MAX_BLOB = MAX_BODY + BLOB_TAG_BYTES;
/** Largest HPKE-sealed header. */
export const MAX_SEALED_HEADER = 2048;
/** Longest relay URL in a quote, in UTF-8 bytes. */
export const MAX_RELAY_URL = 256;
export const MAX_FILE_NAME = 255;
export const MAX_MEDIA_TYPE = 127;
/** 21 million BTC: no amount field may exceed it. */
export const MAX_MONEY_SATS = 21_000_000 * 100_000_000;
