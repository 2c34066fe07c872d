/** The relay's WebSocket stream at /v1/stream (docs/relay-api.md "Stream"): frame layout and codes. */
/**
 * Stream frames (binary WebSocket messages):
 *   request:  id u32 | op u8 | payload
 *   response: id u32 | status u8 | payload
 * Ops: 1 quote (Offer -> Quote), 2 deposit (Deposit -> Receipt), 3 retired (the mailbox
 * challenge of 0.1: PROTOCOL_UPGRADED), 4 subscribe (tags, n x 32 bytes -> empty; then events
 * id || tag, 64 bytes), 5 unlock
 * (message id 32 bytes: ask again | id || r 64 bytes: sender-pays | PaymentNotice ->
 * UTF-8 JSON, the same answer as POST /v1/unlock).
 * 6 channel update (a payer's ChannelMessage -> UTF-8 JSON, as POST /v1/channel/update),
 * 7 channel watch (channel id 32 bytes -> empty; then events carrying SettleHtlc bytes, the
 * unacknowledged ones first; id = the watch request's id).
 * Status: 0 ok, 1 error (payload = UTF-8 JSON {error:{code,message}}), 2 event (payload =
 * a new message's id || its tag, 64 bytes; id = the subscribe request's id).
 */
export const OP = { quote: 1, deposit: 2, challenge: 3, subscribe: 4, unlock: 5, channelUpdate: 6, channelWatch: 7 } as const;
export const STATUS = { ok: 0, error: 1, event: 2 } as const;
export const FRAME_HEADER = 5;

export function frame(id: number, code: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER + payload.length);
  new DataView(out.buffer).setUint32(0, id);
  out[4] = code;
  out.set(payload, FRAME_HEADER);
  return out;
}

export function parseFrame(data: Uint8Array): { id: number; code: number; payload: Uint8Array } | undefined {
  if (data.length < FRAME_HEADER) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { id: view.getUint32(0), code: data[4]!, payload: data.subarray(FRAME_HEADER) };
}
