/**
 * `kcl status --watch` against the emulators while two worker processes share a stream: it redraws the lease
 * table, shows each worker's leases, marks a SIGKILLed worker gone once its counters stop, lists the take of its
 * lease by the survivor, and exits 0 on SIGINT.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { terminate } from '../../src/common/child-process.js';
import { produceRecords } from '../../src/local/producer.js';
import { startWorkerProcess, type WorkerProcess } from '../../bench/chaos/harness.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName } from '../helpers/env.js';
import { cliEnv, exitOf, lineWatcher, mainJs, withTimeout } from '../helpers/cli.js';

const env = testEnv();
after(() => env?.close());

const FAILOVER = 3000;
/**
 * The watch's --failover-millis: shorter than the workers' failover. A survivor may take a dead worker's lease as
 * soon as the workers' failover has passed, and a watch judging by the same time can scan just after that take,
 * when the dead worker holds nothing left to be shown gone with. Judging by 1.5 s (renewals come every second),
 * it marks the dead worker gone about a second before the survivor can take its lease.
 */
const WATCH_FAILOVER = 1500;

test('kcl status --watch redraws the table, marks a killed worker gone, shows the take of its lease, and exits 0 on SIGINT', { skip: env ? false : SKIP_REASON, timeout: 120_000 }, async () => {
  const e = env!;
  const stream = await createTestStream(e, 'watch', 2);
  const app = uniqueName('app');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kcl-watch-'));
  const producing = new AbortController();
  const producer = produceRecords(e.kinesis, { stream, count: Infinity, ratePerSecond: 50, signal: producing.signal });
  const settings = {
    applicationName: app,
    streamName: stream,
    kinesisEndpoint: e.kinesisEndpoint,
    dynamodbEndpoint: e.dynamodbEndpoint,
    failoverTimeMillis: FAILOVER,
    checkpointIntervalMillis: 500,
    idleTimeBetweenReadsInMillis: 200,
    shardSyncIntervalMillis: 60_000,
    statsIntervalMillis: 1000,
  };
  const workers: WorkerProcess[] = [startWorkerProcess('wa', dir, settings)];
  const watch = spawn(process.execPath, [mainJs, 'status', '--application', app, '--watch', '--interval', '500', '--failover-millis', String(WATCH_FAILOVER), '--dynamodb-endpoint', e.dynamodbEndpoint, '--region', 'us-east-1'], {
    env: cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  watch.stderr?.setEncoding('utf8');
  watch.stderr?.on('data', (c: string) => (stderr += c));
  const exited = exitOf(watch);
  const out = lineWatcher(watch);
  try {
    // The watch may start before the first worker created the table: it says so and keeps going.
    await out.waitFor(/^ {2}● wa {2}2 leases/, 60_000);
    workers.push(startWorkerProcess('wb', dir, settings));
    await out.waitFor(/^ {2}● wb {2}1 lease\b/, 60_000);
    const moveToB = await out.waitFor(/^ {2}\d\d:\d\d:\d\d {2}(handed off|stolen) +shardId-00000000000[01] {2}wa → wb$/, 10_000);
    const shardOfB = /shardId-\d+/.exec(moveToB)?.[0];
    await out.waitFor(new RegExp(`^${shardOfB} +wb +processing +(\\d{4}…\\d{8}|TRIM_HORIZON) `), 15_000);

    // Only what the watch shows after the kill counts: a slow renewal before it may have looked like a gone owner.
    const killedAt = out.lines.length;
    workers[1]!.child.kill('SIGKILL');
    await out.waitFor(/^ {2}✕ wb {2}1 lease {3}GONE: no renewal for \d+ s$/, 30_000, killedAt);
    assert.ok(out.lines.slice(killedAt).some((l) => new RegExp(`^${shardOfB} +wb \\(gone\\) +owner gone `).test(l)), 'its shard shows the owner gone');
    await out.waitFor(new RegExp(`^ {2}\\d\\d:\\d\\d:\\d\\d {2}taken {6}${shardOfB} {2}wb → wa$`), 30_000, killedAt);
    await out.waitFor(/^ {2}● wa {2}2 leases/, 10_000, killedAt);

    assert.ok(out.lines.every((l) => !l.includes('\x1b')), 'no escape codes into a pipe');
    assert.ok(out.lines.filter((l) => l.startsWith('kcl status  lease table')).length >= 4, 'one title per frame');
    watch.kill('SIGINT');
    const { code, signal } = await withTimeout(exited, 10_000, 'kcl status --watch exit after SIGINT');
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, stderr);
  } finally {
    if (watch.exitCode === null && watch.signalCode === null) watch.kill('SIGKILL');
    producing.abort();
    await producer.catch(() => undefined);
    await Promise.all(workers.map((w) => terminate(w.child, w.exited, 15_000)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('kcl status --watch refuses --json', async () => {
  const child = spawn(process.execPath, [mainJs, 'status', '--application', 'x', '--watch', '--json'], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => (stderr += c));
  const { code } = await withTimeout(exitOf(child), 10_000, 'exit');
  assert.equal(code, 1);
  assert.match(stderr, /--watch and --json cannot be combined/);
});
