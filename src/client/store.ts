/**
 * client.sqlite: what the client knows that is neither a key nor money.
 *
 * Schema (times are unix milliseconds):
 *
 *   contacts               the user's address book
 *     name_key TEXT PK       the name NFC-normalized and lower-cased: lookups ignore case, and it
 *                            is the peer name of the contact's Signal sessions and trust record
 *     name TEXT              the name as the user typed it
 *     identity_key BLOB      33-byte identity key of the address the user added (or last trusted)
 *     relay_hints TEXT       JSON array of the address's relay URLs (canonical form)
 *     pending_hints TEXT     JSON relay URLs of a newer address under a changed identity key,
 *                            waiting for trustContact; NULL when none
 *     added_at INT, updated_at INT
 *   relays                 what the client learns about relays (filled by the relay client)
 *     url TEXT PK            canonical URL
 *     info TEXT              the relay's /.well-known/satpost document (JSON), NULL until fetched
 *     fetched_at INT         NULL until fetched
 *
 *   outbox                 messages this user sent (migration 2); ./outbox.ts drives the states
 *     id TEXT PK             message id, hex H("satpost/v1/msgid" || hk)
 *     contact TEXT           the recipient's contact name key
 *     relay TEXT             URL of the relay holding it (the quote's relayUrl)
 *     mode TEXT              'sender-pays' | 'recipient-pays'
 *     state TEXT             OutboxState: sealed -> deposited -> funded -> delivered | refunded,
 *                            or failed (detail says why); recipient-pays ends at deposited;
 *                            sender-pays over a channel: sealed -> paid -> delivered | refunded
 *     quote BLOB             the signed Quote (canonical bytes)
 *     sealed_header BLOB, body BLOB   what is deposited; body is NULL once the receipt is stored
 *     r BLOB                 sender-pays receipt secret (its hash locks the contract)
 *     payer_key INTEGER      sender-pays: wallet contract-key index of the refund key
 *     receipt BLOB           the relay's signed Receipt, once deposited
 *     contract_id TEXT       sender-pays: the ContractBook id in wallet.sqlite (= id)
 *     detail TEXT            why it failed (no secrets), else NULL
 *     size INT, amount INT, created_at INT, updated_at INT
 *   inbox                  messages found in this user's mailbox (migration 2); ./inbox.ts
 *     id TEXT PK             message id, hex
 *     relay TEXT             URL of the relay that listed it
 *     sender_key BLOB        the verified signer of the sealed header (33 bytes)
 *     mode TEXT, size INT (body bytes), price INT (sats this user pays to read: 0 for sender-pays)
 *     expires_at INT         end of the relay's retention; locktime INT: the contract's T
 *     stored BLOB            the StoredMessage as fetched (quote, receipt, header, blob)
 *     listing TEXT           the relay's list entry (JSON: hr, payerPubkey, funding for sender-pays)
 *     state TEXT             InboxState: new -> paying -> awaiting -> read, or failed; corrupt
 *                            (failed a check before paying); fraud (paid, blob not the receipt's)
 *     payer_key INTEGER      recipient-pays: wallet contract-key index of the refund key
 *     content BLOB           the MessageContent (canonical bytes) once read; sent_at INT
 *     detail TEXT, received_at INT, updated_at INT
 *   channel_relays         which relay each payment channel is with (migration 3). Written BEFORE
 *                          the wallet funds the channel (keyed by the relay's fresh channel key,
 *                          which the channel book stores as relay_pubkey), so a crash between
 *                          the funding and telling the relay never loses where to tell it
 *     relay_pubkey TEXT PK   hex of the relay's channel key (POST /v1/channel/key)
 *     relay TEXT             canonical URL of the relay
 *     key_index INT          the relay's index of that key, named in the open request
 *     told_at INT            when the relay accepted the open; NULL until then (resent by sync)
 *     created_at INT
 *   outbox.channel_id, inbox.channel_id (migration 3): the payer channel whose HTLC pays the
 *                          message (outbox: sender-pays over a channel; inbox: recipient-pays
 *                          read over a channel); NULL on the on-chain path
 *   relay_fraud            relays caught serving a message that does not match their signed
 *                          receipt after being paid (migration 4); sends skip quotes signed by
 *                          these keys, and the inbox skips these URLs when another relay is left
 *     relay_id TEXT PK       hex of the relay's node key (the receipt's relayId)
 *     relay TEXT             the URL it was reached at
 *     message_id TEXT        the first message proving it (inbox.id; its proof is on that row)
 *     reason TEXT            the FraudReason (BLOB_UNDECRYPTABLE | CONTENT_MISMATCH)
 *     proof_path TEXT        where the proof file was exported
 *     created_at INT
 *   inbox.proof (migration 4): the FraudProof (0x07 encoding) of a 'fraud' row, else NULL
 *   outbox_drafts          sends asked for and not yet sealed (migration 5): written BEFORE any
 *                          network step, so an interrupted send is finished by the next command
 *                          instead of being asked for (and paid) twice; deleted in the
 *                          transaction that inserts its outbox row, or when the send fails
 *     id TEXT PK             local draft id, hex (no message id exists before a quote)
 *     contact TEXT, mode TEXT, intent BLOB (as outbox.intent)
 *     content BLOB           the MessageContent (canonical bytes)
 *     max_fee INT, retention_secs INT, channel INT (0: the chain forced)   the send's options
 *     created_at INT
 *   outbox.intent (migration 5): H(recipient, mode, content) of the send that made the row
 *   conversation_tags      per contact, how messages are addressed (migration 6; docs/protocol.md
 *                          "Tags", ./tags.ts). Written before a tag leaves in an offer.
 *     contact TEXT PK        the contact's name key
 *     in_seed BLOB           32 random bytes: the seed this user chose for the contact's messages
 *                            to her (told to the contact inside every message to him)
 *     in_high INT            highest index found under in_seed (-1: none)
 *     in_gaps TEXT           JSON array of indices below in_high not found yet (at most 32)
 *     out_seed BLOB          the contact's seed for this user's messages, once a message of his
 *                            told it; NULL before (sends go to his introduction tag)
 *     out_next INT           the next index to send under; taken (and saved) before the offer
 *     out_acked INT          one more than the highest index the contact said he found
 *     updated_at INT
 *                          (./send.ts intentOf); a send with the same intent finishes or returns
 *                          that row instead of paying for a second one. NULL on older rows
 *   outbox.content (migration 7): the MessageContent (canonical bytes) the user sent, moved from
 *                          its draft when the row is sealed, so that her own conversation shows
 *                          what she wrote (the row otherwise holds only the sealed envelope);
 *                          NULL on older rows
 *
 * Never edit a shipped migration.
 */
import { openDb, type Db } from '../store/sqlite.ts';

export const CLIENT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE contacts (
     name_key TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     identity_key BLOB NOT NULL,
     relay_hints TEXT NOT NULL,
     pending_hints TEXT,
     added_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX contacts_by_key ON contacts (identity_key);
   CREATE TABLE relays (
     url TEXT PRIMARY KEY,
     info TEXT,
     fetched_at INTEGER
   ) WITHOUT ROWID;`,
  `CREATE TABLE outbox (
     id TEXT PRIMARY KEY,
     contact TEXT NOT NULL,
     relay TEXT NOT NULL,
     mode TEXT NOT NULL,
     state TEXT NOT NULL,
     quote BLOB NOT NULL,
     sealed_header BLOB NOT NULL,
     body BLOB,
     r BLOB,
     payer_key INTEGER,
     receipt BLOB,
     contract_id TEXT,
     detail TEXT,
     size INTEGER NOT NULL,
     amount INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX outbox_state ON outbox (state);
   CREATE TABLE inbox (
     id TEXT PRIMARY KEY,
     relay TEXT NOT NULL,
     sender_key BLOB NOT NULL,
     mode TEXT NOT NULL,
     size INTEGER NOT NULL,
     price INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     locktime INTEGER NOT NULL,
     stored BLOB NOT NULL,
     listing TEXT NOT NULL,
     state TEXT NOT NULL,
     payer_key INTEGER,
     content BLOB,
     sent_at INTEGER,
     detail TEXT,
     received_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX inbox_received ON inbox (received_at);`,
  `CREATE TABLE channel_relays (
     relay_pubkey TEXT PRIMARY KEY,
     relay TEXT NOT NULL,
     key_index INTEGER NOT NULL,
     told_at INTEGER,
     created_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   ALTER TABLE outbox ADD COLUMN channel_id TEXT;
   ALTER TABLE inbox ADD COLUMN channel_id TEXT;`,
  `CREATE TABLE relay_fraud (
     relay_id TEXT PRIMARY KEY,
     relay TEXT NOT NULL,
     message_id TEXT NOT NULL,
     reason TEXT NOT NULL,
     proof_path TEXT NOT NULL,
     created_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   ALTER TABLE inbox ADD COLUMN proof BLOB;`,
  `CREATE TABLE outbox_drafts (
     id TEXT PRIMARY KEY,
     contact TEXT NOT NULL,
     intent BLOB NOT NULL,
     mode TEXT NOT NULL,
     content BLOB NOT NULL,
     max_fee INTEGER NOT NULL,
     retention_secs INTEGER NOT NULL,
     channel INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   ALTER TABLE outbox ADD COLUMN intent BLOB;
   CREATE INDEX outbox_intent ON outbox (intent);`,
  `CREATE TABLE conversation_tags (
     contact TEXT PRIMARY KEY,
     in_seed BLOB NOT NULL,
     in_high INTEGER NOT NULL DEFAULT -1,
     in_gaps TEXT NOT NULL DEFAULT '[]',
     out_seed BLOB,
     out_next INTEGER NOT NULL DEFAULT 0,
     out_acked INTEGER NOT NULL DEFAULT 0,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  `ALTER TABLE outbox ADD COLUMN content BLOB;`,
];

/** A relay proven to have cheated (see relay_fraud above). */
export interface FraudulentRelayRow {
  relayId: string;
  relay: string;
  messageId: string;
  reason: string;
  proofPath: string;
  createdAt: number;
}

/** Where a payer channel's relay is (see channel_relays above). */
export interface ChannelRelayRow {
  relayPubkey: string;
  relay: string;
  keyIndex: number;
  toldAt: number | null;
}

export interface ContactRow {
  nameKey: string;
  name: string;
  identityKey: Uint8Array;
  relayHints: string[];
  pendingHints: string[] | null;
  addedAt: number;
  updatedAt: number;
}

interface RawContact {
  name_key: string;
  name: string;
  identity_key: Uint8Array;
  relay_hints: string;
  pending_hints: string | null;
  added_at: number;
  updated_at: number;
}

function fromRaw(r: RawContact): ContactRow {
  return {
    nameKey: r.name_key,
    name: r.name,
    identityKey: new Uint8Array(r.identity_key),
    relayHints: JSON.parse(r.relay_hints) as string[],
    pendingHints: r.pending_hints === null ? null : (JSON.parse(r.pending_hints) as string[]),
    addedAt: r.added_at,
    updatedAt: r.updated_at,
  };
}

export class ClientStore {
  private readonly stmt;

  constructor(readonly db: Db) {
    this.stmt = {
      get: db.prepare('SELECT * FROM contacts WHERE name_key = ?'),
      byKey: db.prepare('SELECT * FROM contacts WHERE identity_key = ?'),
      all: db.prepare('SELECT * FROM contacts ORDER BY name_key'),
      insert: db.prepare(
        'INSERT INTO contacts (name_key, name, identity_key, relay_hints, pending_hints, added_at, updated_at) VALUES (?, ?, ?, ?, NULL, ?, ?)',
      ),
      setHints: db.prepare('UPDATE contacts SET relay_hints = ?, updated_at = ? WHERE name_key = ?'),
      setPending: db.prepare('UPDATE contacts SET pending_hints = ?, updated_at = ? WHERE name_key = ?'),
      setKey: db.prepare('UPDATE contacts SET identity_key = ?, relay_hints = ?, pending_hints = NULL, updated_at = ? WHERE name_key = ?'),
    };
  }

  /** `key`: the data directory's data key (see OpenOptions.key). */
  static open(path: string, key?: Uint8Array): ClientStore {
    return new ClientStore(openDb({ path, migrations: CLIENT_MIGRATIONS, ...(key ? { key } : {}) }));
  }

  contact(nameKey: string): ContactRow | undefined {
    const r = this.stmt.get.get(nameKey) as RawContact | undefined;
    return r && fromRaw(r);
  }

  contactByKey(identityKey: Uint8Array): ContactRow | undefined {
    const r = this.stmt.byKey.get(identityKey) as RawContact | undefined;
    return r && fromRaw(r);
  }

  contacts(): ContactRow[] {
    return (this.stmt.all.all() as RawContact[]).map(fromRaw);
  }

  insertContact(c: { nameKey: string; name: string; identityKey: Uint8Array; relayHints: string[]; now: number }): void {
    this.stmt.insert.run(c.nameKey, c.name, c.identityKey, JSON.stringify(c.relayHints), c.now, c.now);
  }

  setHints(nameKey: string, hints: string[], now: number): void {
    this.stmt.setHints.run(JSON.stringify(hints), now, nameKey);
  }

  setPendingHints(nameKey: string, hints: string[] | null, now: number): void {
    this.stmt.setPending.run(hints === null ? null : JSON.stringify(hints), now, nameKey);
  }

  /** Accepts a changed identity key: the new key and hints replace the old, the pending clears. */
  replaceKey(nameKey: string, identityKey: Uint8Array, hints: string[], now: number): void {
    this.stmt.setKey.run(identityKey, JSON.stringify(hints), now, nameKey);
  }

  /** Records the relay of a channel about to be funded (before the funding exists). */
  rememberChannelRelay(r: { relayPubkey: string; relay: string; keyIndex: number; now: number }): void {
    this.db
      .prepare('INSERT INTO channel_relays (relay_pubkey, relay, key_index, told_at, created_at) VALUES (?, ?, ?, NULL, ?) ON CONFLICT (relay_pubkey) DO NOTHING')
      .run(r.relayPubkey, r.relay, r.keyIndex, r.now);
  }

  channelRelay(relayPubkey: string): ChannelRelayRow | undefined {
    const r = this.db.prepare('SELECT * FROM channel_relays WHERE relay_pubkey = ?').get(relayPubkey) as
      | { relay_pubkey: string; relay: string; key_index: number; told_at: number | null }
      | undefined;
    return r && { relayPubkey: r.relay_pubkey, relay: r.relay, keyIndex: r.key_index, toldAt: r.told_at };
  }

  markChannelTold(relayPubkey: string, now: number): void {
    this.db.prepare('UPDATE channel_relays SET told_at = coalesce(told_at, ?) WHERE relay_pubkey = ?').run(now, relayPubkey);
  }

  /** Records a relay caught cheating; the first proof against it is kept. */
  recordFraudulentRelay(r: Omit<FraudulentRelayRow, 'createdAt'> & { now: number }): void {
    this.db
      .prepare('INSERT INTO relay_fraud (relay_id, relay, message_id, reason, proof_path, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (relay_id) DO NOTHING')
      .run(r.relayId, r.relay, r.messageId, r.reason, r.proofPath, r.now);
  }

  fraudulentRelays(): FraudulentRelayRow[] {
    const rows = this.db.prepare('SELECT * FROM relay_fraud ORDER BY created_at, relay_id').all() as
      { relay_id: string; relay: string; message_id: string; reason: string; proof_path: string; created_at: number }[];
    return rows.map((r) => ({ relayId: r.relay_id, relay: r.relay, messageId: r.message_id, reason: r.reason, proofPath: r.proof_path, createdAt: r.created_at }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
