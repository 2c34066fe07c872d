/** The relay's JSON view of a payment channel (GET /v1/channel/:id, docs/relay-api.md): what a payer reads of it. */
export interface ChannelView {
  id: string;
  status: string;
  capacity: number;
  relayBalance: number;
  payerBalance: number;
  inFlight: number;
  inFlightSats: number;
  n: number;
  channelLocktime: number;
  claimMargin: number;
  feeRate: number;
  fundingTxid: string;
  fundingVout: number;
  fundingConfirmed: boolean;
  closeTxid?: string;
}
