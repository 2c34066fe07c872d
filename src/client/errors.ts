/**
 * Errors of the client SDK. Lower layers' errors that a user can act on are translated
 * here (a wrong passphrase, a mistyped address); the original stays in `cause`.
 */
import { SatpostError } from '../core/errors.ts';
import type { IdentityChangeInfo } from '../identity/errors.ts';
import type { RelayErrorCode } from '../core/wire/relay-errors.ts';

export type ClientErrorCode =
  /** The data directory holds no satpost client (run init). */
  | 'NOT_INITIALIZED'
  /** init on a directory that already holds a client. */
  | 'ALREADY_INITIALIZED'
  /** An init was interrupted before it finished; running init again completes it. */
  | 'INIT_INCOMPLETE'
  /** The directory holds satpost files but not a usable set (e.g. config.json missing). */
  | 'BAD_DATA_DIR'
  /** The directory is a relay's (node-key, relay.sqlite): its wallet is reached with `satpost relay wallet`. */
  | 'RELAY_DATA_DIR'
  | 'BAD_CONFIG'
  | 'WRONG_PASSPHRASE'
  | 'EMPTY_PASSPHRASE'
  | 'NETWORK_MISMATCH'
  | 'BAD_RELAY_URL'
  | 'BAD_CHAIN_URL'
  /** The relay runs satpost 0.1 (per-user mailboxes): it does not serve the tag routes this client speaks. */
  | 'RELAY_OUTDATED'
  /** A plain http/ws relay URL outside regtest (https/wss required; http to a .onion host only through a proxy). */
  | 'INSECURE_RELAY_URL'
  /** A plain http chain URL outside regtest (same rule as relay URLs). */
  | 'INSECURE_CHAIN_URL'
  /** The proxy setting is not a socks5h://host:port URL. */
  | 'BAD_PROXY_URL'
  /** A satpost address did not decode; `reason` carries the AddressError code. */
  | 'INVALID_ADDRESS'
  | 'INVALID_NAME'
  | 'CONTACT_EXISTS'
  | 'UNKNOWN_CONTACT'
  /** A contact's identity key changed and has not been accepted with trustContact. */
  | 'CONTACT_KEY_CHANGED'
  /** trustContact on a contact whose key did not change. */
  | 'NO_KEY_CHANGE'
  | 'CLIENT_CLOSED'
  /** No relay could be reached (network error, timeout); `relay` names the last one tried. */
  | 'RELAY_UNREACHABLE'
  /** A relay answered something that does not parse or fails a check (bad signature, wrong binding). */
  | 'BAD_RELAY_ANSWER'
  /** The config lists no relays (send, inbox and publish need at least one). */
  | 'NO_RELAYS'
  /** removeRelay(): the relay is the only one left (an address needs at least one relay hint). */
  | 'LAST_RELAY'
  /** removeRelay(): the URL is not one of the user's relays. */
  | 'UNKNOWN_RELAY'
  /** addRelay(): the URL is already one of the user's relays. */
  | 'RELAY_EXISTS'
  /** No quote passed the checks within maxFee; `details.cheapest` is the lowest price seen, if any. */
  | 'NO_ACCEPTABLE_QUOTE'
  /**
   * A relay quoted a message over a channel above its own standing terms for that channel
   * (`details`: price, limit, channelId): the quote is refused, and the send offers the message
   * to the network instead.
   */
  | 'TERMS_EXCEEDED'
  /** read(): the message costs more than maxPrice; `details.price`. */
  | 'PRICE_TOO_HIGH'
  /** read(): a recipient-pays message from a sender who is not a contact, without payUnknownSender; nothing was paid. */
  | 'UNKNOWN_SENDER'
  /** The wallet cannot pay (the WalletError is the cause); `details.needed` when known. */
  | 'INSUFFICIENT_FUNDS'
  /** No inbox entry or outbox entry with that id. */
  | 'MESSAGE_NOT_FOUND'
  /** The contact's prekey bundle could not be fetched from any of her relays. */
  | 'NO_BUNDLE'
  /** A message whose k was never released: the contract was refunded, or it expired. */
  | 'MESSAGE_EXPIRED'
  /** The operation was aborted by its AbortSignal. */
  | 'CANCELLED'
  /**
   * read(): k did not come within ReadOptions.waitMs (relay down, funding unconfirmed). Nothing
   * is lost: what was paid stays in the contract, and reading again resumes the wait.
   */
  | 'WAIT_TIMEOUT'
  /**
   * read(): the relay was paid and the blob does not open under the released k to its signed
   * receipt's hc. The proof is stored with the message and exported; `relay`, `details`: id,
   * proofPath, relayId, messageId, reason, amount/mode/relayUrl (from its quote).
   */
  | 'RELAY_FRAUD'
  /** read(): the relay's copy failed a check before anything was paid (inbox state 'corrupt'; the message says which). */
  | 'MESSAGE_CORRUPT'
  /**
   * send() was aborted after the message was saved: `details.id` (sealed) or `details.draft`
   * (not yet quoted). resume(), or the same send again, finishes it; nothing is paid twice.
   */
  | 'SEND_INTERRUPTED'
  /** A relay's mailbox listing still had more after LIST_MAX_PAGES pages; `relay`, `details.pages`. */
  | 'TOO_MANY_PAGES'
  /** Not a recovery phrase: not 12 or 24 BIP39 words with a valid checksum (./backup.ts). */
  | 'BAD_RECOVERY_PHRASE'
  /** A valid recovery phrase, but not the one the address book file was sealed under (or the file was changed). */
  | 'WRONG_RECOVERY_PHRASE'
  /** The file is not a satpost address book, is cut short, or holds malformed contents. */
  | 'BAD_BACKUP'
  /**
   * A relay's refusal, with the relay's own code (docs/relay-api.md). Channel calls use its
   * channel codes too: CHANNELS_UNAVAILABLE (the relay takes no channels), CHANNEL_TERMS
   * (`details.terms`), UNKNOWN_CHANNEL (no such channel here or there), BAD_STATE (a channel
   * not open), IN_FLIGHT_NOT_EMPTY (close while messages are unread), and the ChannelError codes.
   */
  | RelayErrorCode;

export class ClientError extends SatpostError<ClientErrorCode> {
  /** INVALID_ADDRESS: the AddressError code (e.g. BAD_CHECKSUM), or OWN_ADDRESS. */
  reason?: string;
  /** CONTACT_KEY_CHANGED: the fingerprints to compare with the contact. */
  change?: IdentityChangeInfo;
  /** The relay that refused or could not be reached. */
  relay?: string;
  /** Machine-readable extras (a relay refusal's fields, a price, ...). */
  details?: Record<string, unknown>;

  override toJSON(): {
    name: string; code: ClientErrorCode; message: string; reason?: string; change?: IdentityChangeInfo; relay?: string; details?: Record<string, unknown>;
  } {
    return {
      ...super.toJSON(),
      ...(this.reason !== undefined ? { reason: this.reason } : {}),
      ...(this.change !== undefined ? { change: this.change } : {}),
      ...(this.relay !== undefined ? { relay: this.relay } : {}),
      ...(this.details !== undefined ? { details: this.details } : {}),
    };
  }
}

/**
 * The relay's passing trouble, not a verdict on what was asked: no answer, an answer that did not
 * check out, or the relay's own state (stopping, overloaded, its chain backend down). The same
 * request may succeed later; watch() and the channel outcome (./channel-outcome.ts) both ask this.
 */
const RELAY_TROUBLE: readonly ClientErrorCode[] = [
  'RELAY_UNREACHABLE', 'BAD_RELAY_ANSWER', 'INTERNAL', 'CHAIN_UNAVAILABLE', 'SHUTTING_DOWN', 'RATE_LIMITED', 'STREAM_BUSY', 'REQUEST_TIMEOUT',
];

export function isRelayTrouble(err: unknown): boolean {
  return ClientError.is(err) && RELAY_TROUBLE.includes(err.code);
}
