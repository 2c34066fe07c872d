// Adding a contact by scanning her address's QR code (web/src/scan.tsx) in real Chromium: the
// camera is Chromium's fake capture device playing a Y4M video made here from a QR code of a
// real satpost address (encoded with `qr`); the contact form fills from it. Without a camera,
// and with the camera refused, the form says so in a sentence and pasting still works.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startAppServer, type AppServer } from '../../src/app/server.ts';
import { Client } from '../../src/client/index.ts';
import { DEMO_SCRYPT } from '../../src/demo/run.ts';
import { startChain, tempDir, type Chain } from '../client/helpers.ts';
import { axe, launch, openApp, shot } from './browser.ts';
import { qrVideo } from './qr-video.ts';

const WAIT = { timeout: 90_000 };

describe('a contact added by scanning her QR code', { concurrency: false }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let chain: Chain;
  let app: AppServer;
  let carolAddress: string;
  let daveAddress: string;
  const browsers: Browser[] = [];

  before(async () => {
    tmp = tempDir('satpost-app-scan-');
    chain = await startChain();
    const made = async (name: string, relays: string[]) => (await Client.init({ dir: join(tmp.dir, name), passphrase: name, network: 'regtest', chainUrl: chain.url, relays, scrypt: DEMO_SCRYPT })).client;
    const carol = await made('carol', ['http://127.0.0.1:9']);
    carolAddress = carol.address();
    await carol.close();
    const dave = await made('dave', ['http://127.0.0.1:9']);
    daveAddress = dave.address();
    await dave.close();
    // Alice without relays: nothing here needs one (no watch starts).
    app = await startAppServer({ dataDir: join(tmp.dir, 'alice'), chainUrl: chain.url, network: 'regtest' });
    app.state.adopt(await made('alice', []));
  });
  after(async () => {
    for (const b of browsers) await b.close();
    await app?.close();
    await chain?.close();
    tmp?.cleanup();
  });

  async function contacts(browser: Browser): Promise<Page> {
    browsers.push(browser);
    const page = await openApp(browser, app.url);
    await page.getByRole('navigation').getByRole('button', { name: 'Contacts' }).click();
    await page.getByRole('heading', { name: 'Add a contact' }).waitFor(WAIT);
    return page;
  }

  test('the camera sees Carol\'s QR code: the address field fills, and the contact is added', async () => {
    const video = join(tmp.dir, 'carol-qr.y4m');
    writeFileSync(video, qrVideo(carolAddress));
    const page = await contacts(await launch(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`]));
    assert.equal(await page.getByLabel('Their satpost address').inputValue(), '');
    await page.getByRole('button', { name: 'Scan a QR code' }).click();
    await page.getByText('Address read from the QR code').waitFor(WAIT);
    assert.equal(await page.getByLabel('Their satpost address').inputValue(), carolAddress);
    await axe(page, 'contacts (scanned)');
    await shot(page, '14-contact-scanned');
    await page.getByLabel('Name').fill('Carol');
    await page.getByRole('button', { name: 'Add contact' }).click();
    await page.getByRole('button', { name: 'Safety number' }).waitFor(WAIT);
    assert.equal(app.state.c.contact('carol').address, carolAddress);
  });

  test('no camera: a sentence says so, and a pasted address still adds the contact', async () => {
    // No fake device, and this machine has no camera.
    const page = await contacts(await launch(['--use-fake-ui-for-media-stream']));
    await page.getByRole('button', { name: 'Scan a QR code' }).click();
    assert.match((await page.locator('[data-testid=scan][data-camera=missing] [role=alert]').textContent(WAIT))!, /No camera was found.*Paste the address instead/);
    await axe(page, 'contacts (no camera)');
    await page.getByLabel('Name').fill('Dave');
    await page.getByLabel('Their satpost address').fill(daveAddress);
    await page.getByRole('button', { name: 'Add contact' }).click();
    await page.getByText('Dave', { exact: true }).waitFor(WAIT);
    assert.equal(app.state.c.contact('dave').address, daveAddress);
  });

  test('the camera refused: a sentence says so', async () => {
    // A camera, but no --use-fake-ui-for-media-stream and no permission granted: headless Chromium
    // has nobody to ask, so the page's request is refused (NotAllowedError), as a user's "Block" would.
    const browser = await launch(['--use-fake-device-for-media-stream']);
    browsers.push(browser);
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    await ctx.clearPermissions();
    const page = await ctx.newPage();
    await page.goto(app.url);
    await page.getByRole('navigation').getByRole('button', { name: 'Contacts' }).click();
    await page.getByRole('button', { name: 'Scan a QR code' }).click();
    assert.match((await page.locator('[data-testid=scan][data-camera=denied] [role=alert]').textContent(WAIT))!, /camera was not allowed.*paste the address instead/);
    await axe(page, 'contacts (camera refused)');
    await shot(page, '15-camera-refused');
  });
});
