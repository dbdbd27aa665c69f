/**
 * The live status page in a real headless Chromium, asserting what a person sees.
 * - A real worker (metricsHttpPort 0) against the emulators while records flow: a row per shard, counts that
 *   change between two looks without a reload, a lease move and a gone worker after a second worker stops, and
 *   "disconnected" once the worker (and its server) has stopped.
 * - A fixture server whose snapshot the test steps through, for what a healthy run does not show on cue: a stuck
 *   shard, a worker gone while still named owner, every state, a server answering 503 and recovering; and a
 *   phone-width screen.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { Worker } from '../../src/worker/worker.js';
import { produceRecords } from '../../src/local/producer.js';
import { silentLogger } from '../../src/common/logger.js';
import { Recorder } from '../helpers/recording-processor.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig } from '../helpers/env.js';
import { CHROMIUM_SKIP_REASON, launchChromium, screenshotPath, type OwnedBrowser } from '../helpers/browser.js';
import { startFixtureServer, StatusScenario, type FixtureServer } from '../helpers/status-fixture.js';

const env = testEnv();
let chromium: OwnedBrowser | undefined;
before(async () => {
  if (!CHROMIUM_SKIP_REASON) chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  env?.close();
});

const rowText = (page: Page, shardId: string) => page.locator(`tr[data-shard="${shardId}"]`).innerText();
const cellText = (page: Page, shardId: string, column: number) => page.locator(`tr[data-shard="${shardId}"] td`).nth(column).innerText();

/**
 * A wait on the page that, if it fails, says what the worker's own /status held at that moment (its moves,
 * workers and shards): the page shows what it shows, the snapshot says why. These waits have failed now and then
 * on a loaded machine, and the page alone did not tell which part was behind.
 */
async function explained(wait: Promise<unknown>, statusUrl: string): Promise<void> {
  try {
    await wait;
  } catch (err) {
    const snapshot = await fetch(statusUrl).then(
      async (r) => {
        const s = (await r.json()) as { scannedAt?: string; workers?: unknown; recentMoves?: unknown; shards?: { shardId: string; owner?: string; state?: string }[] };
        return JSON.stringify({ scannedAt: s.scannedAt, workers: s.workers, recentMoves: s.recentMoves, shards: s.shards?.map((x) => [x.shardId, x.owner, x.state]) });
      },
      (e: unknown) => `(no snapshot: ${String(e)})`,
    );
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n/status at the timeout: ${snapshot}`, { cause: err });
  }
}

/** The shard ids whose row names `owner` in the owner column. */
const rowsOwnedBy = (page: Page, owner: string) =>
  page.locator('#shards tbody tr').evaluateAll(
    (trs, who) => trs.filter((tr) => (tr as unknown as { cells: { textContent: string | null }[] }).cells[1]?.textContent?.startsWith(who)).map((tr) => tr.getAttribute('data-shard') ?? ''),
    owner,
  );

test('a real worker\'s page while records flow: a row per shard, counts that change, a lease move and a gone worker after a second worker stops, then disconnected', { skip: CHROMIUM_SKIP_REASON || (env ? false : SKIP_REASON), timeout: 180_000 }, async (t) => {
  const e = env!;
  const stream = await createTestStream(e, 'page', 4);
  const app = uniqueName('app');
  const producing = new AbortController();
  const producer = produceRecords(e.kinesis, { stream, count: Infinity, ratePerSecond: 100, partitionKeys: 32, signal: producing.signal });
  const checkpointing = () => new Recorder({ processRecords: (input) => input.checkpointer.checkpoint() });
  const fast = { failoverTimeMillis: 3000 };
  const wa = new Worker({ config: workerConfig(e, stream, app, { ...fast, workerId: 'worker-a', metricsHttpPort: 0 }), processorFactory: checkpointing().factory, logger: silentLogger });
  const wb = new Worker({ config: workerConfig(e, stream, app, { ...fast, workerId: 'worker-b' }), processorFactory: checkpointing().factory, logger: silentLogger });
  const context = await chromium!.browser.newContext({ viewport: { width: 1360, height: 900 } });
  try {
    await wa.start();
    await wb.start();
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    const started = Date.now();
    await page.goto(wa.metricsUrl!);
    await page.locator('body.live').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#app').innerText(), app);
    assert.match(await page.locator('.top').innerText(), new RegExp(`stream ${stream} · worker worker-a · polling`));

    // A row per shard, once both workers share them.
    await page.waitForFunction(`document.querySelectorAll('#shards tbody tr').length === 4`, undefined, { timeout: 30_000 });
    // worker-a starts first and takes all four; worker-b then asks for two by graceful hand-off. Wait until that
    // has settled (two each, none pending), so the shard looked at twice below stays worker-a's.
    const settled = async () =>
      (await rowsOwnedBy(page, 'worker-a')).length === 2 &&
      (await rowsOwnedBy(page, 'worker-b')).length === 2 &&
      !/hand-off pending/.test(await page.locator('#shards tbody').innerText());
    await waitFor('two shards each on the page, no hand-off pending', settled, 60_000, 250);
    const ours = (await rowsOwnedBy(page, 'worker-a'))[0]!;
    const theirs = (await rowsOwnedBy(page, 'worker-b'))[0]!;
    // Right after a hand-off to worker-b, worker-a's model may show the shard unowned until its next scan finds b alive.
    await waitFor(`${theirs} owned elsewhere`, async () => /owned elsewhere/.test(await cellText(page, theirs, 2)), 15_000, 250);
    assert.match(await page.locator('[data-worker="worker-a"]').innerText(), /worker-a\s*\d+ leases?\s*this worker/i);

    // Two looks at one of our shards: its records count moves while the page stays loaded.
    await waitFor(`records on ${ours}`, async () => /^[1-9]/.test(await cellText(page, ours, 5)), 30_000, 250);
    assert.match(await cellText(page, ours, 2), /processing/);
    assert.match(await cellText(page, ours, 4), /^\d+(\.\d)? (ms|s)$/, 'a lag');
    const firstLook = Number((await cellText(page, ours, 5)).replace(/,/g, ''));
    const firstTotal = await page.locator('#total').innerText();
    await waitFor(`more records on ${ours}`, async () => Number((await cellText(page, ours, 5)).replace(/,/g, '')) > firstLook, 30_000, 250);
    assert.notEqual(await page.locator('#total').innerText(), firstTotal);
    t.diagnostic(`records on ${ours}: ${firstLook} then ${await cellText(page, ours, 5)} (${Date.now() - started} ms after loading)`);

    // worker-b stops (gracefully: it releases its leases); worker-a takes them and its page lists the moves.
    await wb.shutdown();
    const statusUrl = new URL('status', wa.metricsUrl!).href;
    await explained(page.locator('#moves li', { hasText: new RegExp(`${theirs}\\s+worker-b → worker-a`) }).waitFor({ timeout: 30_000 }), statusUrl);
    assert.match(await page.locator('#moves').innerText(), new RegExp(`taken\\s+${theirs}\\s+worker-b → worker-a`));
    await waitFor('every row owned by worker-a', async () => (await rowsOwnedBy(page, 'worker-a')).length === 4, 30_000, 250);
    await explained(page.locator('[data-worker="worker-b"].gone').waitFor({ timeout: 30_000 }), statusUrl);
    assert.match(await page.locator('#alerts').innerText(), /worker worker-b is gone \(it holds no lease any more\)/);
    await waitFor(`${theirs} processing here`, async () => /processing/.test(await cellText(page, theirs, 2)), 30_000, 250);

    const shot = screenshotPath('status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`status page screenshot (real worker): ${shot}`);

    // The worker stops, and its server with it: the page says since when it is disconnected.
    await wa.shutdown();
    await page.locator('body.offline').waitFor({ timeout: 10_000 });
    assert.match(await page.locator('#conn').innerText(), /disconnected since \d\d:\d\d:\d\d/);
    assert.deepEqual(pageErrors, [], 'no script error on the page');
  } finally {
    await context.close();
    producing.abort();
    await producer.catch(() => undefined);
    await Promise.all([wa.shutdown(), wb.shutdown()]);
  }
});

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
