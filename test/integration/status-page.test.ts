/**
 * The live status page in a real headless Chromium, asserting what a person sees.
 * - A fixture server whose snapshot the test steps through, for what a healthy run does not show on cue: a stuck
 *   shard, a worker gone while still named owner, every state, a server answering 503 and recovering; and a
 *   phone-width screen.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { CHROMIUM_SKIP_REASON, launchChromium, screenshotPath, type OwnedBrowser } from '../helpers/browser.js';
import { startFixtureServer, StatusScenario, type FixtureServer } from '../helpers/status-fixture.js';

let chromium: OwnedBrowser | undefined;
before(async () => {
  if (!CHROMIUM_SKIP_REASON) chromium = await launchChromium();
});
after(async () => chromium?.close());

const rowText = (page: Page, shardId: string) => page.locator(`tr[data-shard="${shardId}"]`).innerText();
const cellText = (page: Page, shardId: string, column: number) => page.locator(`tr[data-shard="${shardId}"] td`).nth(column).innerText();

test('fixture: every state, a stuck shard, a gone worker still named owner, a take, counts that change, a 503 and recovery, then the server gone', { skip: CHROMIUM_SKIP_REASON, timeout: 90_000 }, async () => {
  const scenario = new StatusScenario({ goneAt: 2, takenAt: 4 });
  const server: FixtureServer = await startFixtureServer(scenario.snapshot(), 500);
  const context = await chromium!.browser.newContext({ viewport: { width: 1360, height: 900 } });
  try {
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(server.url);
    await page.locator('body.live').waitFor({ timeout: 10_000 });

    // A row per shard, in order, with the header filled in.
    const shardIds = await page.locator('#shards tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-shard')));
    assert.deepEqual(shardIds, [0, 1, 2, 3, 4, 5, 6].map((n) => `shardId-00000000000${n}`));
    assert.equal(await page.locator('#app').innerText(), 'orders-consumer');
    assert.match(await page.locator('.top').innerText(), /stream orders · worker worker-a · polling/);
    assert.match(await cellText(page, 'shardId-000000000000', 2), /processing/);
    assert.match(await cellText(page, 'shardId-000000000005', 2), /waiting on parents/);
    assert.match(await cellText(page, 'shardId-000000000004', 2), /shard end/);
    assert.match(await cellText(page, 'shardId-000000000002', 2), /owned elsewhere/);
    assert.match(await cellText(page, 'shardId-000000000006', 2), /hand-off pending/);
    assert.match(await page.locator('#shards-count').innerText(), /7 · 2 processing · 1 waiting on parents · 1 hand-off pending · 2 owned elsewhere · 1 shard end/);
    assert.match(await cellText(page, 'shardId-000000000000', 3), /^4965…\d{8}$/, 'a long checkpoint is shortened');
    assert.match(await cellText(page, 'shardId-000000000000', 4), /^2\d\d ms$/, 'lag in ms');
    assert.equal(await page.locator('tr[data-shard="shardId-000000000000"] svg.spark path.line').count(), 1, 'a sparkline per row');

    // The stuck shard stands out, in its row and in the alert strip.
    assert.match(await rowText(page, 'shardId-000000000001'), /stuck/i);
    assert.match(await page.locator('#alerts').innerText(), /shardId-000000000001 is stuck: no records for 45 s while 40 s behind/);

    // Two looks, no reload: the counts change.
    const firstLook = await cellText(page, 'shardId-000000000000', 5);
    const firstTotal = await page.locator('#total').innerText();
    scenario.step = 1;
    server.snapshot = scenario.snapshot();
    await page.waitForFunction(`document.querySelector('tr[data-shard="shardId-000000000000"] td:nth-child(6)').textContent !== ${JSON.stringify(firstLook)}`, undefined, { timeout: 5_000 });
    assert.notEqual(await cellText(page, 'shardId-000000000000', 5), firstLook);
    assert.notEqual(await page.locator('#total').innerText(), firstTotal);
    assert.ok(server.requests.filter((r) => r === '/').length === 1, 'the page was loaded once');

    // worker-b stops renewing: it is marked gone, on its card, on its shards and in the alerts.
    scenario.step = 2;
    server.snapshot = scenario.snapshot();
    await page.locator('.worker.gone').waitFor({ timeout: 5_000 });
    assert.match(await page.locator('[data-worker="worker-b"]').innerText(), /worker-b\s*2 leases\s*gone/i);
    assert.match(await cellText(page, 'shardId-000000000002', 1), /worker-b gone/);
    assert.match(await page.locator('#alerts .bad').allInnerTexts().then((t) => t.join('\n')), /worker worker-b is gone \(still named owner of 2 leases\)/);
    assert.match(await cellText(page, 'shardId-000000000002', 2), /unowned/);
    assert.match(await page.title(), /^⚠ orders-consumer/);
    // The screenshot of this moment: every state, a stuck shard, a gone worker still named owner.
    const shot = screenshotPath('status-page-fixture.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`status page screenshot (fixture): ${shot}`);

    // worker-a takes worker-b's leases: the moves are listed and the rows change owner.
    scenario.step = 4;
    server.snapshot = scenario.snapshot();
    await page.locator('#moves li', { hasText: 'shardId-000000000003' }).waitFor({ timeout: 5_000 });
    assert.match(await page.locator('#moves').innerText(), /taken\s+shardId-000000000003\s+worker-b → worker-a/);
    assert.match(await cellText(page, 'shardId-000000000003', 1), /worker-a\s*this worker/i);
    assert.match(await cellText(page, 'shardId-000000000003', 2), /processing/);
    assert.equal(await page.locator('.worker.gone').count(), 0);
    assert.match(await page.locator('#errors').innerText(), /processRecords shardId-000000000001: Error: the downstream database refused/);


    // The server answers 503: the page says since when it is disconnected, keeps the last data, and recovers.
    server.failWith = 503;
    await page.locator('body.offline').waitFor({ timeout: 5_000 });
    assert.match(await page.locator('#conn').innerText(), /disconnected since \d\d:\d\d:\d\d/);
    assert.equal(await page.locator('#shards tbody tr').count(), 7, 'the last data stays on screen');
    delete server.failWith;
    await page.locator('body.live').waitFor({ timeout: 5_000 });

    // The server goes away entirely.
    await server.close();
    await page.locator('body.offline').waitFor({ timeout: 10_000 });
    assert.match(await page.locator('#conn').innerText(), /disconnected since/);
    assert.match(await page.title(), /disconnected/);
    await page.screenshot({ path: screenshotPath('status-page-disconnected.png'), fullPage: true });
    assert.deepEqual(pageErrors, [], 'no script error on the page');
  } finally {
    await context.close();
    await server.close();
  }
});

test('fixture: the page fits a phone-width screen without sideways scrolling of the page', { skip: CHROMIUM_SKIP_REASON, timeout: 60_000 }, async () => {
  const scenario = new StatusScenario();
  const server = await startFixtureServer(scenario.snapshot(), 500);
  const context = await chromium!.browser.newContext({ viewport: { width: 390, height: 844 } });
  try {
    const page = await context.newPage();
    await page.goto(server.url);
    await page.locator('body.live').waitFor({ timeout: 10_000 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await page.screenshot({ path: screenshotPath('status-page-narrow.png'), fullPage: true });
  } finally {
    await context.close();
    await server.close();
  }
});
