/**
 * The satpost app's front end: one page over the app server's API (./api.ts). Preact for the
 * views (small, well kept, plain functions and hooks); every error shown as a sentence from
 * ./errors.ts; every control a labelled native element, so it is reachable by keyboard.
 */
import { render, type ComponentChildren } from 'preact';
import { useEffect, useState, useCallback } from 'preact/hooks';
import encodeQR from 'qr';
import { ApiFailure, events, get, post, type AppEvent } from './api.ts';
import { sentence, type ApiError } from './errors.ts';
import { ScanAddress } from './scan.tsx';

type Info = { state: 'new' | 'locked' | 'unlocked'; network: string; address?: string; fingerprint?: string; relays?: string[]; defaultRelays?: string[]; faucet: boolean };
type Contact = { name: string; address: string; fingerprint: string; keyChange: { trustedFingerprint: string; newFingerprint: string } | null };
type Sent = { id: string; to: string; relay: string; mode: string; price: number; state: string; via?: string; fundingTxid?: string; claimTxid?: string; channelId?: string; text?: string; at?: number };
type Preview = { to: string; mode: string; quotes: { relay: string; price: number; problem?: string }[]; quotedBy: 'channel' | 'offer'; relay: string; price: number; via?: 'channel' | 'chain'; channelId?: string; fee: number; total: number };
type Received = { id: string; from: string; verified: boolean; mode: string; price: number; state: string; depositedAt: number; message?: { kind: string; text?: string; name?: string }; relay: string; channelId?: string };

/** Lock after this long without a key press, click or touch. */
const IDLE_MS = 10 * 60_000;
const AUTO_PAY_KEY = 'satpost.autoPayLimit';
/** Messages auto-read once per page life (a failure then waits for the user's click). */
const autoTried = new Set<string>();

/** Listeners of server events (screens re-read what they show). */
const listeners = new Set<(e: AppEvent) => void>();
function useEvents(fn: (e: AppEvent) => void, deps: unknown[]): void {
  const cb = useCallback(fn, deps);
  useEffect(() => {
    listeners.add(cb);
    return () => void listeners.delete(cb);
  }, [cb]);
}

/** Runs an action with a busy flag and an error sentence. */
function useAction(): { busy: string | null; error: ApiError | null; run: (what: string, f: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async (what: string, f: () => Promise<unknown>) => {
    setBusy(what);
    setError(null);
    try {
      await f();
      return true;
    } catch (e) {
      setError(e instanceof ApiFailure ? e.error : { code: 'INTERNAL', message: String(e) });
      return false;
    } finally {
      setBusy(null);
    }
  };
  return { busy, error, run, clear: () => setError(null) };
}

function Status({ busy, error }: { busy: string | null; error: ApiError | null }) {
  return (
    <div aria-live="polite">
      {busy && <p class="progress" role="status">{busy}…</p>}
      {error && <p class="error" role="alert" data-code={error.code}>{sentence(error)}</p>}
    </div>
  );
}

function Qr({ text, label }: { text: string; label: string }) {
  const m = encodeQR(text, 'raw', { ecc: 'medium', border: 2 });
  const n = m.length;
  let d = '';
  m.forEach((row, y) => row.forEach((on, x) => { if (on) d += `M${x} ${y}h1v1h-1z`; }));
  return (
    <svg class="qr" viewBox={`0 0 ${n} ${n}`} role="img" aria-label={label} shape-rendering="crispEdges">
      <rect width={n} height={n} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}

/** A rough strength estimate: bits from length and the kinds of characters used. */
export function strength(p: string): { bits: number; words: string } {
  let pool = 0;
  if (/[a-z]/.test(p)) pool += 26;
  if (/[A-Z]/.test(p)) pool += 26;
  if (/[0-9]/.test(p)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(p)) pool += 33;
  const bits = Math.round(p.length * Math.log2(Math.max(pool, 1)));
  const words = bits < 40 ? 'weak: use a longer passphrase, e.g. four or five random words' : bits < 70 ? 'fair: a few more words make it strong' : 'strong';
  return { bits, words };
}

function Field(props: { id: string; label: string; value: string; set: (v: string) => void; type?: 'text' | 'password'; hint?: string; area?: boolean; autocomplete?: string }) {
  const common = { id: props.id, value: props.value, 'aria-describedby': props.hint ? `${props.id}-hint` : undefined, onInput: (e: Event) => props.set((e.target as HTMLInputElement).value) };
  return (
    <div>
      <label for={props.id}>{props.label}</label>
      {props.area ? <textarea {...common} /> : props.type === 'password' ? <input {...common} type="password" autocomplete={props.autocomplete ?? 'off'} /> : <input {...common} type="text" autocomplete={props.autocomplete ?? 'off'} />}
      {props.hint && <p class="hint" id={`${props.id}-hint`}>{props.hint}</p>}
    </div>
  );
}

// ---- first run ---------------------------------------------------------------------------

function Setup({ info, started, done }: { info: Info; started: () => void; done: () => void }) {
  const [p1, setP1] = useState('');
  const [p2, setP2] = useState('');
  const [relays, setRelays] = useState((info.defaultRelays ?? []).join('\n'));
  const [phrase, setPhrase] = useState<string | null>(null);
  const [check, setCheck] = useState('');
  const [checked, setChecked] = useState(false);
  const [restoring, setRestoring] = useState(false);
  const a = useAction();
  const s = strength(p1);
  if (phrase !== null) {
    const words = phrase.split(' ');
    const k = 3; // the fourth word
    return (
      <main>
        <h2>Your recovery phrase</h2>
        <p>Write these {words.length} words on paper, in order, and keep them safe. They are shown only this once; with them and your passphrase you can restore your wallet.</p>
        <p class="phrase" data-testid="phrase">{phrase}</p>
        <form onSubmit={(e) => { e.preventDefault(); if (check.trim().toLowerCase() === words[k]) { setChecked(true); done(); } else setChecked(false); }}>
          <Field id="check" label={`To check you wrote it down: type word number ${k + 1}`} value={check} set={setCheck} />
          {!checked && check !== '' && check.trim().toLowerCase() !== words[k] && <p class="error" role="alert">That is not word {k + 1}. Look at what you wrote down and try again.</p>}
          <div class="row"><button class="primary" type="submit">I wrote it down</button></div>
        </form>
      </main>
    );
  }
  const mismatch = p2 !== '' && p1 !== p2;
  if (restoring) return <Restore info={info} started={started} done={done} back={() => setRestoring(false)} />;
  return (
    <main>
      <h2>Welcome to satpost</h2>
      <p>Create your identity: your keys and your wallet stay on this computer, locked by a passphrase only you know.</p>
      <form onSubmit={(e) => {
        e.preventDefault();
        if (p1 === '' || p1 !== p2) return;
        started();
        void a.run('Creating your keys and publishing them at your relays', async () => {
          const r = await post<{ mnemonic: string }>('/api/init', { passphrase: p1, relays: relays.split(/\s+/).filter(Boolean) });
          setPhrase(r.mnemonic);
        });
      }}>
        <Field id="pass1" label="Passphrase" type="password" value={p1} set={setP1} autocomplete="new-password" hint={p1 ? `Strength: ${s.words} (about ${s.bits} bits).` : 'Several random words are easy to remember and hard to guess.'} />
        <Field id="pass2" label="Passphrase again" type="password" value={p2} set={setP2} autocomplete="new-password" />
        {mismatch && <p class="error" role="alert">The two passphrases differ. Type the same one twice.</p>}
        <Field id="relays" label="Relays that keep your mail (one per line)" area value={relays} set={setRelays} hint="The defaults are offered; you can change them later." />
        <div class="row"><button class="primary" type="submit" disabled={!!a.busy || p1 === '' || p1 !== p2}>Create my identity</button></div>
      </form>
      <Status {...a} />
      <p>Used satpost before? <button type="button" onClick={() => setRestoring(true)}>Restore from my recovery phrase</button></p>
    </main>
  );
}

/** Bytes as base64 (the API carries files in JSON), and back. */
function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** First run from a recovery phrase: the wallet back, and the contacts from an exported address book file. */
function Restore({ info, started, done, back }: { info: Info; started: () => void; done: () => void; back: () => void }) {
  const [words, setWords] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [p1, setP1] = useState('');
  const [p2, setP2] = useState('');
  const [relays, setRelays] = useState((info.defaultRelays ?? []).join('\n'));
  const [imported, setImported] = useState<{ added: string[]; skipped: { name: string }[] } | null>(null);
  const a = useAction();
  if (imported) {
    return (
      <main>
        <h2>Restored</h2>
        <p data-testid="restored">Your wallet is back{imported.added.length > 0 ? `, with ${imported.added.length} contact(s): ${imported.added.join(', ')}` : ''}.{imported.skipped.length > 0 && ` Not added: ${imported.skipped.map((x) => x.name).join(', ')}.`}</p>
        <p>Your identity key is new: your contacts will see your safety number change. Send them your new address from the Contacts screen.</p>
        <div class="row"><button class="primary" onClick={done}>Continue</button></div>
      </main>
    );
  }
  return (
    <main>
      <h2>Restore from your recovery phrase</h2>
      <form onSubmit={(e) => {
        e.preventDefault();
        if (p1 === '' || p1 !== p2) return;
        void a.run('Checking the phrase, restoring your wallet and contacts', async () => {
          const book = file ? toBase64(new Uint8Array(await file.arrayBuffer())) : undefined;
          started();
          const r = await post<{ imported?: { added: string[]; skipped: { name: string }[] } }>('/api/restore', { mnemonic: words, passphrase: p1, relays: relays.split(/\s+/).filter(Boolean), ...(book !== undefined ? { addressBook: book } : {}) });
          setImported(r.imported ?? { added: [], skipped: [] });
        });
      }}>
        <Field id="restore-words" label="Recovery phrase (the words you wrote down)" area value={words} set={setWords} />
        <div>
          <label for="restore-file">Address book file (optional)</label>
          <input id="restore-file" type="file" aria-describedby="restore-file-hint" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
          <p class="hint" id="restore-file-hint">The file that "Export address book" saved in Settings. Without it, only the wallet comes back.</p>
        </div>
        <Field id="restore-pass1" label="New passphrase" type="password" value={p1} set={setP1} autocomplete="new-password" />
        <Field id="restore-pass2" label="New passphrase again" type="password" value={p2} set={setP2} autocomplete="new-password" />
        {p2 !== '' && p1 !== p2 && <p class="error" role="alert">The two passphrases differ. Type the same one twice.</p>}
        <Field id="restore-relays" label="Relays that keep your mail (one per line)" area value={relays} set={setRelays} />
        <div class="row">
          <button class="primary" type="submit" disabled={!!a.busy || words.trim() === '' || p1 === '' || p1 !== p2}>Restore</button>
          <button type="button" onClick={back}>Back</button>
        </div>
      </form>
      <Status {...a} />
    </main>
  );
}

function Unlock({ done }: { done: () => void }) {
  const [p, setP] = useState('');
  const a = useAction();
  return (
    <main>
      <h2>Unlock satpost</h2>
      <form onSubmit={(e) => { e.preventDefault(); void a.run('Unlocking', async () => { await post('/api/unlock', { passphrase: p }); done(); }); }}>
        <Field id="unlock-pass" label="Passphrase" type="password" value={p} set={setP} autocomplete="current-password" />
        <div class="row"><button class="primary" type="submit" disabled={!!a.busy}>Unlock</button></div>
      </form>
      <Status {...a} />
    </main>
  );
}

// ---- messages ------------------------------------------------------------------------------

const SENT_WORDS: Record<string, string> = {
  sealed: 'sending', deposited: 'stored at a relay', funded: 'paid (waiting to be read)', paid: 'paid over a channel (waiting to be read)',
  delivered: 'delivered and read', refunded: 'not read in time: refunded', failed: 'failed',
};
const RECEIVED_WORDS: Record<string, string> = {
  new: 'new', paying: 'paying', awaiting: 'paid, waiting for the key', read: 'read', failed: 'failed', corrupt: 'damaged at the relay', fraud: 'relay cheated (proof kept)',
};

function autoPayLimit(): number {
  return Number(localStorage.getItem(AUTO_PAY_KEY) ?? '2000');
}

function Messages({ info }: { info: Info }) {
  const [data, setData] = useState<{ contacts: Contact[]; sent: Sent[]; received: Received[] } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const a = useAction();
  const load = () => a.run('Loading', async () => setData(await get('/api/conversations')));
  useEffect(() => void load(), []);
  useEvents((e) => { if (e.type === 'inbox' || e.type === 'outbox') void get<NonNullable<typeof data>>('/api/conversations').then(setData); }, []);
  // Auto-pay: recipient-pays messages from verified contacts up to the limit; sender-pays are free to read.
  useEffect(() => {
    for (const r of data?.received ?? []) {
      if (r.state !== 'new' || !r.verified || autoTried.has(r.id) || open !== r.from) continue;
      if (r.mode === 'sender-pays' || r.price <= autoPayLimit()) {
        autoTried.add(r.id);
        void post('/api/read', { id: r.id }).catch(() => undefined);
      }
    }
  }, [data, open]);
  const [limit, setLimit] = useState(String(autoPayLimit()));
  if (!data) return <Status {...a} />;
  const names = data.contacts.map((c) => c.name);
  const unknown = data.received.filter((r) => !r.verified);
  const unread = (n: string) => data.received.filter((r) => r.from === n && r.state !== 'read').length;
  if (open !== null) return <Thread name={open} data={data} info={info} back={() => setOpen(null)} reload={() => void load()} />;
  return (
    <section aria-labelledby="messages-h">
      <h2 id="messages-h">Conversations</h2>
      {names.length === 0 && <p>No contacts yet. Add one on the Contacts screen with the address they gave you.</p>}
      <ul class="plain">
        {names.map((n) => {
          const last = [...data.sent.filter((s) => s.to === n), ...data.received.filter((r) => r.from === n)].pop();
          return (
            <li key={n} class="card">
              <button onClick={() => setOpen(n)} aria-label={`Open conversation with ${n}`}>{n}</button> {unread(n) > 0 && <span class="badge" aria-label={`${unread(n)} unread`}>{unread(n)}</span>}
              {last && <span class="hint"> {'text' in last && last.text ? last.text : 'message' in last && last.message?.text ? last.message.text : ''}</span>}
            </li>
          );
        })}
      </ul>
      {unknown.length > 0 && (
        <div class="card unknown">
          <h3>From people not in your contacts</h3>
          <p class="hint">These are never paid automatically. Add the sender as a contact if you know them.</p>
          <ul class="plain">{unknown.map((r) => <li key={r.id}><ReceivedItem r={r} /></li>)}</ul>
        </div>
      )}
      <form class="card" onSubmit={(e) => { e.preventDefault(); localStorage.setItem(AUTO_PAY_KEY, String(Math.max(0, Math.floor(Number(limit) || 0)))); }}>
        <Field id="autopay" label="Pay to read automatically up to (sats, contacts only)" value={limit} set={setLimit} hint="Messages that cost more ask first; 0 always asks. Unknown senders are never paid automatically." />
        <div class="row"><button type="submit">Save limit</button></div>
      </form>
      <Status {...a} />
    </section>
  );
}

function ReceivedItem({ r }: { r: Received }) {
  const a = useAction();
  const read = () => a.run(r.mode === 'recipient-pays' ? 'Paying and waiting for the key (this can take a block)' : 'Reading', () => post('/api/read', { id: r.id, maxPrice: r.price, ...(r.verified ? {} : { payUnknownSender: true }) }));
  return (
    <div class="msg in" data-testid="received" data-state={r.state}>
      {r.message?.text !== undefined ? <p>{r.message.text}</p> : (
        <p>
          {r.mode === 'recipient-pays' ? <button onClick={read} disabled={!!a.busy}>Pay {r.price} sats to read</button> : <button onClick={read} disabled={!!a.busy}>Read</button>}
        </p>
      )}
      <span class={`status ${r.state}`}>{!r.verified && `from ${r.from}: `}{RECEIVED_WORDS[r.state] ?? r.state}{r.channelId ? ' (channel)' : ''}</span>
      <Status {...a} />
    </div>
  );
}

function Thread({ name, data, info, back, reload }: { name: string; data: { contacts: Contact[]; sent: Sent[]; received: Received[] }; info: Info; back: () => void; reload: () => void }) {
  const contact = data.contacts.find((c) => c.name === name)!;
  const [text, setText] = useState('');
  const [mode, setMode] = useState('sender-pays');
  const [maxFee, setMaxFee] = useState('5000');
  const [lastSent, setLastSent] = useState<Sent | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const a = useAction();
  const items: ({ t: number; out: true; m: Sent } | { t: number; out: false; m: Received })[] = [
    ...data.sent.filter((s) => s.to === name).map((m, i) => ({ t: m.at ?? i, out: true as const, m })),
    ...data.received.filter((r) => r.from === name).map((m) => ({ t: m.depositedAt, out: false as const, m })),
  ].sort((x, y) => x.t - y.t);
  void info;
  return (
    <section aria-labelledby="thread-h">
      <div class="row"><button onClick={back}>← Conversations</button><h2 id="thread-h">{name}</h2></div>
      {contact.keyChange && <KeyChange c={contact} changed={reload} />}
      <ul class="plain" aria-label={`Messages with ${name}`}>
        {items.map((x) => (
          <li key={x.m.id}>
            {x.out ? (
              <div class="msg out" data-testid="sent" data-state={x.m.state}>
                <p>{x.m.text ?? '(message)'}</p>
                <details><summary class={`status ${x.m.state}`}>{SENT_WORDS[x.m.state] ?? x.m.state} · {x.m.price} sats · {x.m.mode === 'recipient-pays' ? 'they pay' : x.m.via === 'channel' ? 'channel' : 'on chain'}</summary>
                  <p class="mono">message {x.m.id}<br />relay {x.m.relay}{x.m.fundingTxid && <><br />funding tx {x.m.fundingTxid}</>}{x.m.claimTxid && <><br />claimed by the relay in tx {x.m.claimTxid}</>}{x.m.channelId && <><br />channel {x.m.channelId}</>}</p>
                </details>
              </div>
            ) : <ReceivedItem r={x.m} />}
          </li>
        ))}
      </ul>
      <form class="card" onSubmit={(e) => {
        e.preventDefault();
        setLastSent(null);
        setPreview(null);
        void a.run('Collecting quotes from relays', async () => setPreview(await post<Preview>('/api/preview', { to: name, text, mode, maxFee: Number(maxFee) })));
      }}>
        <Field id="compose" label={`Message to ${name}`} area value={text} set={(v) => { setText(v); setPreview(null); }} />
        <label for="mode">Who pays the relay</label>
        <select id="mode" value={mode} onChange={(e) => { setMode((e.target as HTMLSelectElement).value); setPreview(null); }}>
          <option value="sender-pays">I pay (sender-pays)</option>
          <option value="recipient-pays">{name} pays to read (recipient-pays)</option>
        </select>
        <Field id="maxfee" label="Highest price I accept (sats)" value={maxFee} set={(v) => { setMaxFee(v); setPreview(null); }} hint="The relays are asked first; you see their prices and confirm before anything is paid. Over a channel nothing goes on chain." />
        <div class="row"><button class={preview ? '' : 'primary'} type="submit" disabled={!!a.busy || text === '' || !!contact.keyChange}>See the price</button></div>
        {preview && <PriceCard p={preview} name={name} />}
        {preview && (
          <div class="row">
            <button class="primary" type="button" disabled={!!a.busy} onClick={() => void a.run('Sending', async () => {
              setLastSent(await post<Sent>('/api/send', { to: name, text, mode, maxFee: Number(maxFee) }));
              setText('');
              setPreview(null);
            })}>Send</button>
            <button type="button" onClick={() => setPreview(null)}>Cancel</button>
          </div>
        )}
        {lastSent && (
          <p role="status" data-testid="last-sent" data-id={lastSent.id}>
            Sent: {lastSent.price} sats to the relay {lastSent.relay}, {lastSent.mode === 'recipient-pays' ? `${name} pays to read` : lastSent.via === 'channel' ? 'paid over your channel' : `paid on chain (plus the funding fee)`}.
          </p>
        )}
        <Status {...a} />
      </form>
    </section>
  );
}

/** What a send would cost, before it is made: the quotes, the relay chosen, channel or chain, the total. */
function PriceCard({ p, name }: { p: Preview; name: string }) {
  const how = p.mode === 'recipient-pays' ? `${name} pays ${p.total} sats to read it` : p.via === 'channel' ? `paid over your channel ${p.channelId!.slice(0, 8)}: nothing goes on chain` : `paid on chain: ${p.price} sats to the relay + ${p.fee} sats network fee`;
  return (
    <div class="card" data-testid="preview" data-relay={p.relay} data-total={p.total} data-via={p.via ?? 'recipient'}>
      <p><strong>{p.mode === 'recipient-pays' ? `Cost to ${name}: ${p.total} sats` : `Total: ${p.total} sats`}</strong> · relay {p.relay} · {how}.</p>
      <table aria-label="Quotes from relays">
        <thead><tr><th>Relay</th><th>Price</th><th>Note</th></tr></thead>
        <tbody>{p.quotes.map((q, i) => <tr key={`${q.relay}-${i}`}><td>{q.relay}</td><td>{q.price} sats</td><td>{q.problem ?? (i === 0 ? (p.quotedBy === 'channel' ? 'chosen (your channel\'s standing terms)' : 'chosen: cheapest') : 'acceptable')}</td></tr>)}</tbody>
      </table>
      <p class="hint">Nothing is paid until you press Send; the relays are asked again then, so the price can move a little, never above your limit.</p>
    </div>
  );
}

// ---- contacts ------------------------------------------------------------------------------

function KeyChange({ c, changed }: { c: Contact; changed?: () => void }) {
  const a = useAction();
  return (
    <div class="warn" role="alert" data-testid="key-change">
      <h3>{c.name}'s safety number changed</h3>
      <p>Messages to {c.name} are held until you check the new safety number with them in person or by a call. If you cannot, someone may be pretending to be {c.name}.</p>
      <p>Trusted: <span class="mono">{c.keyChange!.trustedFingerprint}</span><br />New: <span class="mono">{c.keyChange!.newFingerprint}</span></p>
      <button onClick={() => a.run('Saving', async () => { await post(`/api/contacts/${encodeURIComponent(c.name)}/trust`); changed?.(); })}>I checked the new number with {c.name}</button>
      <Status {...a} />
    </div>
  );
}

/** A contact's new address: the same key updates her relays; a new key raises the blocking warning. */
function NewAddress({ c, changed }: { c: Contact; changed: () => void }) {
  const [address, setAddress] = useState('');
  const a = useAction();
  const id = `new-address-${c.name}`;
  return (
    <details>
      <summary>{c.name} has a new address</summary>
      <form onSubmit={(e) => { e.preventDefault(); void a.run('Saving', () => post(`/api/contacts/${encodeURIComponent(c.name)}/address`, { address })).then(changed); }}>
        <Field id={id} label={`New address of ${c.name}`} area value={address} set={setAddress} />
        <div class="row"><button type="submit" disabled={!!a.busy}>Update address</button></div>
        {a.error?.code !== 'CONTACT_KEY_CHANGED' && <Status {...a} />}
      </form>
    </details>
  );
}

function Contacts({ info }: { info: Info }) {
  const [list, setList] = useState<Contact[]>([]);
  const [name, setName] = useState('');
  const [address, setAddress] = useState('');
  const [safety, setSafety] = useState<string | null>(null);
  const a = useAction();
  const load = () => get<Contact[]>('/api/contacts').then(setList);
  useEffect(() => void load(), []);
  return (
    <section aria-labelledby="contacts-h">
      <h2 id="contacts-h">Contacts</h2>
      <div class="card">
        <h3>Your address</h3>
        <p class="hint">Give this to people so they can write to you.</p>
        <p class="mono" data-testid="own-address">{info.address}</p>
        <div class="row"><button onClick={() => void navigator.clipboard?.writeText(info.address ?? '')}>Copy address</button></div>
        {info.address && <Qr text={info.address} label="QR code of your satpost address" />}
        <p>Your safety number: <span class="mono">{info.fingerprint}</span></p>
      </div>
      <form class="card" onSubmit={(e) => { e.preventDefault(); void a.run('Adding', async () => { await post('/api/contacts', { name, address }); setName(''); setAddress(''); await load(); }); }}>
        <h3>Add a contact</h3>
        <Field id="contact-name" label="Name" value={name} set={setName} />
        <Field id="contact-address" label="Their satpost address" area value={address} set={setAddress} hint="Paste it, or scan the QR code of it with your camera." />
        <ScanAddress found={setAddress} />
        <div class="row"><button class="primary" type="submit" disabled={!!a.busy}>Add contact</button></div>
        <Status {...a} />
      </form>
      <ul class="plain">
        {list.map((c) => (
          <li key={c.name} class="card">
            <strong>{c.name}</strong> <button onClick={() => setSafety(safety === c.name ? null : c.name)} aria-expanded={safety === c.name}>Safety number</button>
            {safety === c.name && <p>Compare this with what {c.name} sees as your contact's number: <span class="mono" data-testid="safety">{c.fingerprint}</span></p>}
            {c.keyChange ? <KeyChange c={c} changed={load} /> : <NewAddress c={c} changed={load} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

// ---- wallet --------------------------------------------------------------------------------

type WalletView = { balance: { confirmed: number; unconfirmed: number; immature: number; reserved: number; lockedInContracts: number }; inChannels: number; history: { txid: string; net: number; fee: number | null; height: number | null; purposes: { kind: string; contact?: string; messageId?: string }[] }[] };

function Wallet({ info }: { info: Info }) {
  const [w, setW] = useState<WalletView | null>(null);
  const [recv, setRecv] = useState<string | null>(null);
  const [to, setTo] = useState('');
  const [amount, setAmount] = useState('');
  const [fee, setFee] = useState('2');
  const a = useAction();
  const load = () => get<WalletView>('/api/wallet').then(setW, () => undefined);
  useEffect(() => void load(), []);
  useEvents((e) => { if (e.type === 'balance' || e.type === 'channel') void load(); }, []);
  const b = w?.balance;
  return (
    <section aria-labelledby="wallet-h">
      <h2 id="wallet-h">Wallet</h2>
      {b && (
        <table class="card" aria-label="Balance">
          <tbody>
            <tr><th scope="row">Spendable</th><td data-testid="spendable">{b.confirmed} sats</td></tr>
            <tr><th scope="row">Unconfirmed</th><td>{b.unconfirmed} sats</td></tr>
            <tr><th scope="row">Locked in message contracts</th><td>{b.lockedInContracts} sats</td></tr>
            <tr><th scope="row">In payment channels</th><td>{w!.inChannels} sats</td></tr>
          </tbody>
        </table>
      )}
      <div class="row">
        <button onClick={() => a.run('Making a fresh address', async () => setRecv((await post<{ address: string }>('/api/wallet/receive')).address))}>Receive</button>
        {info.faucet && <button onClick={() => a.run('Asking the devnet faucet', async () => { await post('/api/faucet'); await load(); })}>Get test coins</button>}
      </div>
      {recv && <div class="card"><p>Pay to this address (a fresh one each time):</p><p class="mono">{recv}</p><Qr text={recv} label="QR code of your receive address" /></div>}
      <form class="card" onSubmit={(e) => { e.preventDefault(); void a.run('Sending', async () => { await post('/api/wallet/send', { address: to, sats: Number(amount), feeRate: Number(fee) }); setTo(''); setAmount(''); await load(); }); }}>
        <h3>Send bitcoin</h3>
        <Field id="send-to" label="Bitcoin address" value={to} set={setTo} />
        <Field id="send-amount" label="Amount (sats)" value={amount} set={setAmount} />
        <label for="send-fee">Fee</label>
        <select id="send-fee" value={fee} onChange={(e) => setFee((e.target as HTMLSelectElement).value)}>
          <option value="1">Slow (1 sat/vB)</option><option value="2">Normal (2 sat/vB)</option><option value="10">Fast (10 sat/vB)</option>
        </select>
        <div class="row"><button class="primary" type="submit" disabled={!!a.busy}>Send</button></div>
      </form>
      <Status {...a} />
      {w && (
        <table aria-label="Transactions">
          <thead><tr><th>For</th><th>Amount</th><th>Block</th></tr></thead>
          <tbody>{w.history.map((h) => <tr key={h.txid}><td title={h.txid}>{h.purposes.map((p) => `${p.kind.replace('-', ' ')}${p.contact ? ` ${p.contact}` : ''}`).join(', ')}</td><td>{h.net} sats</td><td>{h.height ?? 'unconfirmed'}</td></tr>)}</tbody>
        </table>
      )}
    </section>
  );
}

// ---- channels ------------------------------------------------------------------------------

type Channel = { id: string; relay: string; status: string; capacity: number; relayBalance: number; payerBalance: number; carried: number; inFlight: number; inFlightSats: number; blocksLeft?: number };

/** A channel's status in words (the SDK's status names are the book's). */
const CHANNEL_WORDS: Record<string, string> = {
  opening: 'opening: waiting for the funding transaction to confirm', open: 'open', 'closing-cooperative': 'closing', 'closed-cooperative': 'closed',
};

function Channels({ info }: { info: Info }) {
  const [list, setList] = useState<Channel[]>([]);
  const [relay, setRelay] = useState(info.relays?.[0] ?? '');
  const [sats, setSats] = useState('50000');
  const [blocks, setBlocks] = useState('1008');
  const a = useAction();
  const load = () => get<Channel[]>('/api/channels').then(setList, () => undefined);
  useEffect(() => void load(), []);
  useEvents((e) => { if (e.type === 'channel' || e.type === 'outbox') void load(); }, []);
  return (
    <section aria-labelledby="channels-h">
      <h2 id="channels-h">Payment channels</h2>
      <p class="hint">A channel pays a relay for many messages with two transactions on chain: one to open, one to close.</p>
      <form class="card" onSubmit={(e) => { e.preventDefault(); void a.run('Opening the channel (the funding needs a confirmation)', async () => { await post('/api/channels', { relay, sats: Number(sats), blocks: Number(blocks) }); await load(); }); }}>
        <Field id="ch-relay" label="Relay" value={relay} set={setRelay} />
        <Field id="ch-sats" label="Capacity (sats)" value={sats} set={setSats} />
        <Field id="ch-blocks" label="Life (blocks; about 144 a day)" value={blocks} set={setBlocks} />
        <div class="row"><button class="primary" type="submit" disabled={!!a.busy}>Open channel</button></div>
      </form>
      <Status {...a} />
      <ul class="plain">
        {list.map((c) => (
          <li key={c.id} class="card" data-testid="channel" data-status={c.status}>
            <p><strong>{c.relay}</strong> · <span>{CHANNEL_WORDS[c.status] ?? c.status}</span>{c.blocksLeft !== undefined && ` · ${c.blocksLeft} blocks left`}</p>
            <div class="bar" role="img" aria-label={`yours ${c.payerBalance} sats, relay's ${c.relayBalance} sats`}>
              <span style={{ width: `${(100 * c.payerBalance) / c.capacity}%` }} /><span style={{ width: `${(100 * c.relayBalance) / c.capacity}%` }} />
            </div>
            <p class="hint">Yours {c.payerBalance} sats · relay's {c.relayBalance} sats · capacity {c.capacity}</p>
            <p class="hint" data-testid="channel-messages">{c.carried} message(s) paid through it · {c.inFlight} waiting to be read ({c.inFlightSats} sats held until then)</p>
            {c.status === 'open' && <button onClick={() => a.run('Closing the channel', async () => { await post(`/api/channels/${c.id}/close`); await load(); })}>Close channel</button>}
          </li>
        ))}
      </ul>
    </section>
  );
}

// ---- settings ------------------------------------------------------------------------------

function Settings({ info }: { info: Info }) {
  const [p, setP] = useState('');
  const [saved, setSaved] = useState<number | null>(null);
  const a = useAction();
  return (
    <section aria-labelledby="settings-h">
      <h2 id="settings-h">Settings</h2>
      <form class="card" onSubmit={(e) => {
        e.preventDefault();
        setSaved(null);
        void a.run('Sealing your address book', async () => {
          const r = await post<{ file: string; contacts: number }>('/api/address-book/export', { passphrase: p });
          const link = document.createElement('a');
          link.href = URL.createObjectURL(new Blob([fromBase64(r.file)], { type: 'application/octet-stream' }));
          link.download = 'satpost-address-book.bin';
          link.click();
          setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
          setP('');
          setSaved(r.contacts);
        });
      }}>
        <h3>Back up your address book</h3>
        <p class="hint">Your contacts, saved to a file sealed under your recovery phrase: with the phrase and this file, "Restore from my recovery phrase" brings back your wallet and your contacts on a new computer.</p>
        <Field id="export-pass" label="Your passphrase (to unseal the recovery phrase)" type="password" value={p} set={setP} autocomplete="current-password" />
        <div class="row"><button class="primary" type="submit" disabled={!!a.busy || p === ''}>Export address book</button></div>
        {saved !== null && <p role="status" data-testid="exported">Saved {saved} contact(s) to satpost-address-book.bin in your downloads.</p>}
        <Status {...a} />
      </form>
      <Relays info={info} />
      <div class="card">
        <h3>This identity</h3>
        <p>Network {info.network}</p>
      </div>
    </section>
  );
}

/** The relays that keep this user's mail: added (it must answer first) or removed; her address follows them. */
function Relays({ info }: { info: Info }) {
  const [url, setUrl] = useState('');
  const [changed, setChanged] = useState<{ address: string; publishError?: ApiError } | null>(null);
  const a = useAction();
  const change = (path: string, what: string, relay: string) => a.run(what, async () => {
    const r = await post<{ address: string; publishError?: ApiError }>(path, { url: relay });
    setUrl('');
    setChanged(r);
  });
  return (
    <form class="card" aria-labelledby="relays-h" onSubmit={(e) => { e.preventDefault(); void change('/api/relays', 'Asking the relay and publishing your keys there', url); }}>
      <h3 id="relays-h">Your relays</h3>
      <p class="hint">They keep your mail until you read it, and your address names them. A new relay must answer before it is added.</p>
      <ul aria-label="Your relays">
        {(info.relays ?? []).map((r) => (
          <li key={r} data-testid="relay"><span class="mono">{r}</span> <button type="button" disabled={!!a.busy} aria-label={`Remove relay ${r}`} onClick={() => void change('/api/relays/remove', 'Removing the relay', r)}>Remove</button></li>
        ))}
      </ul>
      <Field id="relay-url" label="Add a relay" value={url} set={setUrl} hint="For example https://relay.example.org" />
      <div class="row"><button class="primary" type="submit" disabled={!!a.busy || url.trim() === ''}>Add relay</button></div>
      {changed && (
        <p role="status" data-testid="relays-changed">
          Your address now names these relays: share the new one (Contacts shows it) with people who write to you.
          {changed.publishError && ` Your keys could not be published yet (${sentence(changed.publishError)}); they will be at the next try.`}
        </p>
      )}
      <Status {...a} />
    </form>
  );
}

// ---- the shell -----------------------------------------------------------------------------

const SCREENS = { messages: ['Messages', Messages], contacts: ['Contacts', Contacts], wallet: ['Wallet', Wallet], channels: ['Channels', Channels], settings: ['Settings', Settings] } as const;
type Screen = keyof typeof SCREENS;

function Shell({ info, lock }: { info: Info; lock: () => void }) {
  const [screen, setScreen] = useState<Screen>('messages');
  const [problem, setProblem] = useState<ApiError | null>(null);
  useEvents((e) => { if (e.type === 'problem') setProblem({ code: String(e.code), message: String(e.message) }); }, []);
  const View = SCREENS[screen][1] as (p: { info: Info }) => ComponentChildren;
  return (
    <>
      <header>
        <h1>satpost <span class="hint">({info.network})</span></h1>
        <nav aria-label="Screens">
          {(Object.keys(SCREENS) as Screen[]).map((k) => <button key={k} aria-current={screen === k ? 'page' : undefined} onClick={() => setScreen(k)}>{SCREENS[k][0]}</button>)}
          <button onClick={lock}>Lock</button>
        </nav>
      </header>
      <main>
        {problem && <p class="error" role="alert" data-code={problem.code}>{sentence(problem)} <button onClick={() => setProblem(null)}>Dismiss</button></p>}
        <View info={info} />
      </main>
    </>
  );
}

function App() {
  const [info, setInfo] = useState<Info | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  // From the first run's submit until the recovery phrase is checked, the Setup screen stays.
  const [onboarding, setOnboarding] = useState(false);
  const refresh = () => get<Info>('/api/state').then(setInfo, (e: unknown) => setError(e instanceof ApiFailure ? e.error : { code: 'INTERNAL', message: String(e) }));
  useEffect(() => {
    void refresh();
    events((e) => {
      if (e.type === 'state') void refresh();
      for (const fn of listeners) fn(e);
    });
  }, []);
  // Lock after idle.
  useEffect(() => {
    if (info?.state !== 'unlocked') return;
    let t = setTimeout(() => void post('/api/lock').then(refresh), IDLE_MS);
    const poke = () => { clearTimeout(t); t = setTimeout(() => void post('/api/lock').then(refresh), IDLE_MS); };
    for (const ev of ['keydown', 'pointerdown', 'touchstart']) addEventListener(ev, poke);
    return () => { clearTimeout(t); for (const ev of ['keydown', 'pointerdown', 'touchstart']) removeEventListener(ev, poke); };
  }, [info?.state]);
  if (error) return <main><p class="error" role="alert">{sentence(error)}</p></main>;
  if (!info) return <main><p role="status">Loading…</p></main>;
  if (info.state === 'new' || onboarding) return <Setup info={info} started={() => setOnboarding(true)} done={() => { setOnboarding(false); void refresh(); }} />;
  if (info.state === 'locked') return <Unlock done={() => void refresh()} />;
  return <Shell info={info} lock={() => void post('/api/lock').then(refresh)} />;
}

render(<App />, document.getElementById('app')!);
