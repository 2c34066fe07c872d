// The app end to end in real Chromium: two app instances (Alice, Carol) on the devnet with a
// relay (the playground without presets). Screenshots go to docs/screenshots/.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Client } from '../../src/client/index.ts';
import { startPlayground, type Playground } from '../../src/demo/playground.ts';
import { DEMO_SCRYPT } from '../../src/demo/run.ts';
import { startAppServer } from '../../src/app/server.ts';
import { DEFAULTS, finish } from '../../src/relay/config.ts';
import { startRelay } from '../../src/relay/daemon.ts';
import { pino } from 'pino';
import { axe, launch, openApp, shot } from './browser.ts';

/** Long enough for a busy machine; a wait that never ends fails here, not at the runner's limit. */
const WAIT = { timeout: 90_000 };

/** The first run; returns the recovery phrase shown. */
async function onboard(page: Page, passphrase: string, pictures: boolean): Promise<string> {
  await page.getByRole('heading', { name: 'Welcome to satpost' }).waitFor(WAIT);
  if (pictures) await axe(page, 'first run');
  await page.getByLabel('Passphrase', { exact: true }).fill(passphrase);
  await page.getByLabel('Passphrase again').fill(`${passphrase}x`);
  await page.getByText('The two passphrases differ').waitFor(WAIT);
  await page.getByLabel('Passphrase again').fill(passphrase);
  if (pictures) await shot(page, '01-first-run');
  await page.getByRole('button', { name: 'Create my identity' }).click();
  const phrase = await page.getByTestId('phrase').textContent(WAIT);
  if (pictures) {
    await axe(page, 'recovery phrase');
    await shot(page, '02-recovery-phrase');
  }
  const words = phrase!.trim().split(/\s+/);
  assert.equal(words.length, 12);
  await page.getByLabel('type word number 4').fill(words[2]!);
  await page.getByRole('button', { name: 'I wrote it down' }).click();
  await page.getByText('That is not word 4').waitFor(WAIT);
  await page.getByLabel('type word number 4').fill(words[3]!);
  await page.getByRole('button', { name: 'I wrote it down' }).click();
  await page.getByRole('heading', { name: 'Conversations' }).waitFor(WAIT);
  return words.join(' ');
}

/** The compose box: the price first (quotes, relay, channel or chain, total), then Send. */
async function priceOf(page: Page, to: string, text: string): Promise<{ relay: string; total: number; via: string }> {
  await page.getByLabel(`Message to ${to}`).fill(text);
  await page.getByRole('button', { name: 'See the price' }).click();
  const card = page.getByTestId('preview');
  await card.waitFor(WAIT);
  return { relay: (await card.getAttribute('data-relay'))!, total: Number(await card.getAttribute('data-total')), via: (await card.getAttribute('data-via'))! };
}

async function send(page: Page, to: string, text: string): Promise<{ relay: string; total: number; via: string }> {
  const price = await priceOf(page, to, text);
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  return price;
}

async function screen(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation').getByRole('button', { name }).click();
}

async function alertCode(page: Page, code: string): Promise<string> {
  const el = page.locator(`[role=alert][data-code="${code}"]`).first();
  await el.waitFor(WAIT);
  return (await el.textContent())!;
}

describe('the app in Chromium: two people, a devnet and a relay', { concurrency: false }, () => {
  let dir: string;
  let p: Playground;
  let browser: Browser;
  let alice: Page;
  let carol: Page;
  let alicePhrase: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'satpost-app-e2e-'));
    p = await startPlayground({ dir });
    browser = await launch();
    alice = await openApp(browser, p.alice.url);
    carol = await openApp(browser, p.carol.url);
  });
  after(async () => {
    await browser?.close();
    await p?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('first run: passphrase twice, recovery phrase checked', async () => {
    alicePhrase = await onboard(alice, 'correct horse battery staple', true);
    await onboard(carol, 'carol likes long passphrases', false);
    await axe(alice, 'conversations (empty)');
  });

  test('contacts: a bad address is a sentence; the own address shows as text and QR', async () => {
    await screen(carol, 'Contacts');
    const carolAddress = (await carol.getByTestId('own-address').textContent(WAIT))!.trim();
    await screen(alice, 'Contacts');
    const aliceAddress = (await alice.getByTestId('own-address').textContent(WAIT))!.trim();
    await axe(alice, 'contacts');
    await shot(alice, '03-contacts');
    await alice.getByLabel('Name').fill('Carol');
    await alice.getByLabel('Their satpost address').fill('satpost1notanaddress');
    await alice.getByRole('button', { name: 'Add contact' }).click();
    const said = await alice.locator('[role=alert]').first().textContent(WAIT);
    assert.match(said!, /satpost address|Ask your contact/);
    await alice.getByLabel('Their satpost address').fill(carolAddress);
    await alice.getByRole('button', { name: 'Add contact' }).click();
    await alice.getByRole('button', { name: 'Safety number' }).waitFor(WAIT);
    await carol.getByLabel('Name').fill('Alice');
    await carol.getByLabel('Their satpost address').fill(aliceAddress);
    await carol.getByRole('button', { name: 'Add contact' }).click();
    await carol.getByRole('button', { name: 'Safety number' }).waitFor(WAIT);
  });

  test('an empty wallet: sending says to add coins', async () => {
    await screen(carol, 'Messages');
    await carol.getByRole('button', { name: 'Open conversation with Alice' }).click();
    await carol.getByLabel('Message to Alice').fill('hello from an empty wallet');
    await carol.getByRole('button', { name: 'See the price' }).click();
    assert.match(await alertCode(carol, 'INSUFFICIENT_FUNDS'), /Add coins on the Wallet screen/);
  });

  test('wallet: the devnet faucet', async () => {
    for (const page of [alice, carol]) {
      await screen(page, 'Wallet');
      await page.getByRole('button', { name: 'Get test coins' }).click();
      await page.getByTestId('spendable').getByText('100000 sats').waitFor(WAIT);
    }
    await alice.getByRole('button', { name: 'Receive' }).click();
    await alice.getByRole('img', { name: 'QR code of your receive address' }).waitFor(WAIT);
    await axe(alice, 'wallet');
    await shot(alice, '04-wallet');
  });

  test('sender-pays: Carol sees it live, reads it, Alice sees it delivered', async () => {
    await screen(alice, 'Messages');
    await alice.getByRole('button', { name: 'Open conversation with Carol' }).click();
    await screen(carol, 'Messages');
    await carol.getByRole('button', { name: 'Open conversation with Alice' }).click();
    const price = await priceOf(alice, 'Carol', 'Hi Carol, the keys are under the blue pot.');
    // Before anything is paid: the relay's quote, the relay chosen, on chain, price + network fee.
    assert.equal(price.relay, p.relayUrl.replace(/\/+$/, ''));
    assert.equal(price.via, 'chain');
    assert.ok(price.total > 0);
    const card = alice.getByTestId('preview');
    assert.match((await card.textContent())!, new RegExp(`Total: ${price.total} sats.*relay ${price.relay}.*paid on chain: \\d+ sats to the relay \\+ \\d+ sats network fee`));
    assert.equal(await card.getByRole('table', { name: 'Quotes from relays' }).getByRole('row').count(), 2);
    await axe(alice, 'price before sending');
    await shot(alice, '05b-price-before-sending');
    assert.equal(await alice.getByTestId('sent').count(), 0, 'nothing sent before Send');
    await alice.getByRole('button', { name: 'Send', exact: true }).click();
    await carol.getByText('Hi Carol, the keys are under the blue pot.').waitFor(WAIT);
    const delivered = alice.locator('[data-testid=sent][data-state=delivered]');
    await delivered.waitFor(WAIT);
    // Delivered on chain: the relay's claim (which revealed k) is one click away.
    await delivered.getByText(/claimed by the relay in tx [0-9a-f]{64}/).waitFor({ ...WAIT, state: 'attached' });
    await axe(carol, 'conversation');
    await shot(carol, '05-conversation-received');
    await shot(alice, '06-conversation-delivered');
  });

  test('recipient-pays: Carol is asked to pay N sats to read', async () => {
    await carol.getByRole('button', { name: '← Conversations' }).click();
    await carol.getByLabel('Pay to read automatically up to (sats, contacts only)').fill('0');
    await carol.getByRole('button', { name: 'Save limit' }).click();
    await carol.getByRole('button', { name: 'Open conversation with Alice' }).click();
    await alice.getByLabel('Who pays the relay').selectOption('recipient-pays');
    const price = await send(alice, 'Carol', 'PS: the cat eats at seven.');
    assert.equal(price.via, 'recipient');
    const pay = carol.getByRole('button', { name: /^Pay \d+ sats to read$/ });
    await pay.waitFor(WAIT);
    await shot(carol, '07-pay-to-read');
    await pay.click();
    await carol.getByText('PS: the cat eats at seven.').waitFor(WAIT);
    await alice.locator('[data-testid=sent][data-state=delivered]').nth(1).waitFor(WAIT);
  });

  test('relay down: sending says so, and nothing is lost', async () => {
    await p.stopRelay();
    try {
      await alice.getByLabel('Who pays the relay').selectOption('sender-pays');
      await alice.getByLabel('Message to Carol').fill('while the relay is down');
      await alice.getByRole('button', { name: 'See the price' }).click();
      assert.match(await alertCode(alice, 'RELAY_UNREACHABLE'), /cannot be reached/);
    } finally {
      await p.startRelay();
    }
  });

  test('a channel: opened, 20 messages through it, closed', async () => {
    await screen(alice, 'Channels');
    await alice.getByLabel('Capacity (sats)').fill('50000');
    await alice.getByRole('button', { name: 'Open channel' }).click();
    await alice.getByTestId('channel').waitFor(WAIT);
    // The relay takes HTLCs once the funding is a few blocks deep.
    p.devnet.mine(6);
    await alice.locator('[data-testid=channel][data-status=open]').waitFor(WAIT);
    await axe(alice, 'channels');
    await screen(alice, 'Messages');
    await alice.getByRole('button', { name: 'Open conversation with Carol' }).click();
    await alice.getByLabel('Who pays the relay').selectOption('sender-pays');
    const before = await alice.getByTestId('sent').count();
    for (let i = 1; i <= 20; i++) {
      const last = alice.getByTestId('last-sent');
      const previous = (await last.count()) > 0 ? ((await last.getAttribute('data-id')) ?? '') : '';
      const price = await send(alice, 'Carol', `channel message ${i}`);
      assert.equal(price.via, 'channel', `the price shown says the channel pays (message ${i}): ${await alice.getByTestId('preview').textContent().catch(() => '')}`);
      // Sent once the form says so (the message is in the outbox before the send call returns).
      await alice.locator(`[data-testid=last-sent]:not([data-id="${previous}"])`).waitFor(WAIT);
    }
    assert.match((await alice.getByTestId('last-sent').textContent())!, /paid over your channel/);
    await carol.getByText('channel message 20', { exact: true }).waitFor(WAIT);
    await alice.locator('[data-testid=sent][data-state=delivered]').nth(before + 19 - 1).waitFor(WAIT);
    await shot(alice, '09-channel-messages');
    await screen(alice, 'Channels');
    assert.match((await alice.getByTestId('channel-messages').textContent(WAIT))!, /^20 message\(s\) paid through it · \d+ waiting to be read/);
    await alice.getByRole('button', { name: 'Close channel' }).click();
    await alice.locator('[data-testid=channel]:not([data-status=open])').waitFor(WAIT);
    await shot(alice, '10-channel-closed');
  });

  test('wrong passphrase: a sentence; the right one unlocks', async () => {
    await alice.getByRole('navigation').getByRole('button', { name: 'Lock' }).click();
    await alice.getByRole('heading', { name: 'Unlock satpost' }).waitFor(WAIT);
    await alice.getByLabel('Passphrase').fill('not my passphrase');
    await alice.getByRole('button', { name: 'Unlock' }).click();
    assert.match(await alertCode(alice, 'WRONG_PASSPHRASE'), /does not unlock/);
    await axe(alice, 'unlock');
    await shot(alice, '08-unlock-wrong-passphrase');
    await alice.getByLabel('Passphrase').fill('correct horse battery staple');
    await alice.getByRole('button', { name: 'Unlock' }).click();
    await alice.getByRole('heading', { name: 'Conversations' }).waitFor(WAIT);
    // Locked and opened again (a new client): her own messages still show what she wrote.
    await alice.getByRole('button', { name: 'Open conversation with Carol' }).click();
    await alice.getByTestId('sent').filter({ hasText: 'Hi Carol, the keys are under the blue pot.' }).waitFor(WAIT);
  });

  test('a contact\'s key changes: a blocking warning until the new number is checked', async () => {
    const { client: other } = await Client.init({ dir: join(dir, 'carol-again'), passphrase: 'another carol', network: 'regtest', chainUrl: p.chainUrl, relays: [p.relayUrl], scrypt: DEMO_SCRYPT });
    const newAddress = other.address();
    await other.close();
    await screen(alice, 'Contacts');
    await alice.getByText('Carol has a new address').click();
    await alice.getByLabel('New address of Carol').fill(newAddress);
    await alice.getByRole('button', { name: 'Update address' }).click();
    await alice.getByTestId('key-change').waitFor(WAIT);
    await axe(alice, 'key change');
    await shot(alice, '11-key-change');
    await screen(alice, 'Messages');
    await alice.getByRole('button', { name: 'Open conversation with Carol' }).click();
    await alice.getByTestId('key-change').waitFor(WAIT);
    assert.equal(await alice.getByRole('button', { name: 'See the price' }).isDisabled(), true);
    await alice.getByRole('button', { name: 'I checked the new number with Carol' }).click();
    await alice.getByTestId('key-change').waitFor({ state: 'detached', ...WAIT });
  });

  test('backup and restore: the address book exported in Settings; a new app restored from the phrase and that file', async () => {
    await screen(alice, 'Settings');
    const pass = alice.getByLabel('Your passphrase (to unseal the recovery phrase)');
    await pass.fill('not my passphrase');
    await alice.getByRole('button', { name: 'Export address book' }).click();
    assert.match(await alertCode(alice, 'WRONG_PASSPHRASE'), /does not unlock/);
    await pass.fill('correct horse battery staple');
    const [download] = await Promise.all([alice.waitForEvent('download', WAIT), alice.getByRole('button', { name: 'Export address book' }).click()]);
    assert.match((await alice.getByTestId('exported').textContent(WAIT))!, /Saved 1 contact/);
    await axe(alice, 'settings');
    await shot(alice, '12-settings-backup');
    const book = join(dir, 'alice.book');
    await download.saveAs(book);

    // Alice on a new computer: a new data directory, her recovery phrase and the file.
    const app = await startAppServer({ dataDir: join(dir, 'alice-restored'), chainUrl: p.chainUrl, relays: [p.relayUrl], scrypt: DEMO_SCRYPT, network: 'regtest' });
    const page = await openApp(browser, app.url);
    try {
      await page.getByRole('heading', { name: 'Welcome to satpost' }).waitFor(WAIT);
      await page.getByRole('button', { name: 'Restore from my recovery phrase' }).click();
      const words = page.getByLabel('Recovery phrase (the words you wrote down)');
      const file = page.getByLabel('Address book file (optional)');
      const restore = page.getByRole('button', { name: 'Restore', exact: true });
      await words.fill('legal winner thank year wave sausage worth useful legal winner thank yellow');
      await file.setInputFiles(book);
      await page.getByLabel('New passphrase', { exact: true }).fill('alice again');
      await page.getByLabel('New passphrase again').fill('alice again');
      await restore.click();
      assert.match(await alertCode(page, 'WRONG_RECOVERY_PHRASE'), /not made by the wallet of that recovery phrase/);
      await words.fill('alice forgot half of it');
      await restore.click();
      assert.match(await alertCode(page, 'BAD_RECOVERY_PHRASE'), /not a recovery phrase/);
      await words.fill(alicePhrase);
      await file.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('my shopping list') });
      await restore.click();
      assert.match(await alertCode(page, 'BAD_BACKUP'), /not a satpost address book/);
      await file.setInputFiles(book);
      await axe(page, 'restore');
      await shot(page, '13-restore');
      await restore.click();
      assert.match((await page.getByTestId('restored').textContent(WAIT))!, /with 1 contact\(s\): Carol/);
      await page.getByRole('button', { name: 'Continue' }).click();
      await screen(page, 'Contacts');
      await page.getByText('Carol', { exact: true }).waitFor(WAIT);
      await page.getByRole('button', { name: 'Safety number' }).click();
      const carolNumber = (await page.getByTestId('safety').textContent(WAIT))!;
      await screen(alice, 'Contacts');
      await alice.getByRole('button', { name: 'Safety number' }).click();
      assert.equal(carolNumber, await alice.getByTestId('safety').textContent(WAIT), 'the contact comes back with the key Alice trusted');
    } finally {
      await page.context().close();
      await app.close();
    }
  });
  test('relays in Settings: a bad or silent relay is a sentence and changes nothing; one added and removed, the address follows', async () => {
    const second = await startRelay(
      finish({ ...DEFAULTS, port: 0, dataDir: join(dir, 'second-relay'), chainUrl: p.chainUrl, passphrase: 'second relay', p2p: false, logLevel: 'silent' }),
      { log: pino({ level: 'silent' }), walletScrypt: DEMO_SCRYPT },
    );
    try {
      await screen(carol, 'Contacts');
      const before = (await carol.getByTestId('own-address').textContent(WAIT))!;
      await screen(carol, 'Settings');
      const field = carol.getByLabel('Add a relay');
      const add = carol.getByRole('button', { name: 'Add relay' });
      await field.fill('not a relay');
      await add.click();
      assert.match(await alertCode(carol, 'BAD_RELAY_URL'), /not a relay address/);
      await field.fill('http://127.0.0.1:9');
      await add.click();
      assert.match(await alertCode(carol, 'RELAY_UNREACHABLE'), /cannot be reached/);
      assert.equal(await carol.getByTestId('relay').count(), 1, 'nothing changed');
      await carol.getByRole('button', { name: `Remove relay ${p.relayUrl}/` }).click();
      assert.match(await alertCode(carol, 'LAST_RELAY'), /only relay/);

      await field.fill(second.url);
      await add.click();
      await carol.getByTestId('relays-changed').waitFor(WAIT);
      await carol.locator('[data-testid=relay]').nth(1).waitFor(WAIT);
      await axe(carol, 'settings: relays');
      await shot(carol, '16-settings-relays');
      await screen(carol, 'Contacts');
      const after = (await carol.getByTestId('own-address').textContent(WAIT))!;
      assert.notEqual(after, before, 'her address names the new relay too');
      await screen(carol, 'Settings');
      await carol.getByRole('button', { name: `Remove relay ${second.url.replace(/\/*$/, '/')}` }).click();
      await carol.locator('[data-testid=relay]').nth(1).waitFor({ ...WAIT, state: 'detached' });
      assert.equal(await carol.getByTestId('relay').count(), 1);
    } finally {
      await second.stop();
    }
  });
});
