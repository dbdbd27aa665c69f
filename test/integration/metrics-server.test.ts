/**
 * The worker's metrics and status server against the emulators, read over HTTP as Prometheus and a browser
 * would: `/metrics` and `/status` agree with what the processors saw while records flow, lease moves show
 * when a second worker joins and when it stops, the daemon (`kcl multilang`) serves `/metrics` too, and the
 * server is gone, with its connections, once the worker has stopped.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from '../../src/worker/worker.js';
import { produceRecords } from '../../src/local/producer.js';
import { silentLogger } from '../../src/common/logger.js';
import { ConfigError } from '../../src/common/errors.js';
import type { StatusSnapshot } from '../../src/status/types.js';
import { Recorder } from '../helpers/recording-processor.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig } from '../helpers/env.js';
import { cliEnv, exitOf, mainJs, withTimeout } from '../helpers/cli.js';
import { fixture, type ChildEvent } from '../helpers/multilang.js';
import { promSamples, promSum } from '../helpers/prometheus.js';

const env = testEnv();
after(() => env?.close());

async function get(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}
const metricsOf = async (base: string) => (await get(`${base}metrics`)).body;
const statusOf = async (base: string) => JSON.parse((await get(`${base}status`)).body) as StatusSnapshot;
const listeningServers = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;

describe('metrics and status server', { skip: env ? false : SKIP_REASON }, () => {
  test('in process: /metrics and /status match what the processor saw; a joining and a stopping worker show as moves; the server closes on shutdown', { timeout: 120_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'metrics', 2);
    const app = uniqueName('app');
    await produceRecords(e.kinesis, { stream, count: 300, partitionKeys: 16 });
    const serversBefore = listeningServers();
    const a = new Recorder({ processRecords: (input) => input.checkpointer.checkpoint() });
    const wa = new Worker({ config: workerConfig(e, stream, app, { workerId: 'worker-a', metricsHttpPort: 0 }), processorFactory: a.factory, logger: silentLogger });
    const b = new Recorder({ processRecords: (input) => input.checkpointer.checkpoint() });
    const wb = new Worker({ config: workerConfig(e, stream, app, { workerId: 'worker-b', metricsHttpPort: 0 }), processorFactory: b.factory, logger: silentLogger });
    let urlA = '';
    try {
      assert.equal(wa.metricsUrl, undefined, 'no server before start');
      await wa.start();
      urlA = wa.metricsUrl!;
      assert.match(urlA, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.equal(listeningServers(), serversBefore + 1);

      // Records flow: the counters reach what the processors saw, shard by shard.
      await waitFor('300 records in /metrics', async () => promSum(await metricsOf(urlA), 'kcl_records_processed_total') === 300, 60_000);
      const metrics = await get(`${urlA}metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.type ?? '', /^text\/plain; version=0\.0\.4/);
      const text = metrics.body;
      const shards = ['shardId-000000000000', 'shardId-000000000001'];
      for (const shardId of shards) {
        const seen = a.deliveries.filter((d) => d.shardId === shardId);
        assert.ok(seen.length > 0, `${shardId} delivered records`);
        const labels = { stream, shard_id: shardId };
        assert.equal(promSum(text, 'kcl_records_processed_total', labels), seen.length, `${shardId} records`);
        assert.equal(promSum(text, 'kcl_bytes_processed_total', labels), seen.reduce((n, d) => n + d.record.data.byteLength, 0), `${shardId} bytes`);
        assert.ok(promSamples(text, 'kcl_millis_behind_latest')[`{stream="${stream}",shard_id="${shardId}"}`] !== undefined, `${shardId} lag`);
      }
      assert.equal(promSum(text, 'kcl_process_records_duration_seconds_count'), a.calls.filter((c) => c.call === 'processRecords').length, 'one observation per processRecords call');
      assert.equal(promSum(text, 'kcl_leases_held', { worker_id: 'worker-a' }), 2);
      assert.equal(promSum(text, 'kcl_lease_events_total', { event: 'taken' }), 2);
      assert.ok(promSum(text, 'kcl_checkpoints_total', { outcome: 'ok' }) >= 2, 'checkpoints counted');
      assert.ok(promSum(text, 'kcl_aws_requests_total', { service: 'kinesis', operation: 'GetRecords', outcome: 'ok' }) > 0);
      assert.ok(promSum(text, 'kcl_aws_requests_total', { service: 'dynamodb', operation: 'UpdateItem', outcome: 'ok' }) > 0);
      assert.ok(promSum(text, 'kcl_aws_request_duration_seconds_count', { service: 'dynamodb', operation: 'Scan' }) > 0);
      assert.match(text, /^process_cpu_user_seconds_total \d/m, 'the process metrics');

      const status = await statusOf(urlA);
      assert.deepEqual([status.application, status.stream, status.workerId, status.retrievalMode], [app, stream, 'worker-a', 'POLLING']);
      assert.deepEqual(status.workers, [{ workerId: 'worker-a', leases: 2, alive: true, self: true }]);
      assert.deepEqual(
        status.shards.map((s) => [s.shardId, s.owner, s.state, s.records]),
        shards.map((shardId) => [shardId, 'worker-a', 'processing', a.deliveries.filter((d) => d.shardId === shardId).length]),
      );
      for (const s of status.shards) assert.equal(s.checkpoint, a.deliveries.filter((d) => d.shardId === s.shardId).at(-1)?.record.sequenceNumber, `${s.shardId} checkpointed its last record`);
      assert.equal(status.totals.records, 300);
      assert.deepEqual(status.recentMoves.map((m) => [m.kind, m.to]), [['taken', 'worker-a'], ['taken', 'worker-a']]);
      const page = await get(urlA);
      assert.equal(page.status, 200);
      assert.match(page.type ?? '', /^text\/html/);
      assert.equal((await get(`${urlA}nothing-here`)).status, 404);

      // A second worker joins: it steals one lease by a graceful hand-off; both sides show the move.
      await wb.start();
      const urlB = wb.metricsUrl!;
      assert.notEqual(urlB, urlA);
      await waitFor('B holds one lease (its /metrics)', async () => promSum(await metricsOf(urlB), 'kcl_leases_held', { worker_id: 'worker-b' }) === 1, 30_000);
      const moved = (await statusOf(urlB)).recentMoves[0]!;
      assert.deepEqual([moved.kind, moved.from, moved.to], ['stolen', 'worker-a', 'worker-b']);
      assert.equal(promSum(await metricsOf(urlB), 'kcl_lease_events_total', { event: 'stolen' }), 1);
      const atA = await statusOf(urlA);
      assert.deepEqual(atA.recentMoves[0], { at: atA.recentMoves[0]!.at, leaseKey: moved.leaseKey, kind: 'handed_off', from: 'worker-a', to: 'worker-b' });
      assert.equal(promSum(await metricsOf(urlA), 'kcl_lease_events_total', { event: 'handed_off' }), 1);
      assert.equal(promSamples(await metricsOf(urlA), 'kcl_millis_behind_latest')[`{stream="${stream}",shard_id="${moved.leaseKey}"}`], undefined, 'A reports no lag for a shard it no longer holds');
      await waitFor("A's scan shows B and its lease", async () => {
        const s = await statusOf(urlA);
        return s.shards.find((x) => x.shardId === moved.leaseKey)?.state === 'owned-elsewhere' && s.workers.some((w) => w.workerId === 'worker-b' && w.alive && w.leases === 1);
      }, 30_000);

      // Records flow to both: the two servers' counters add up to what the two processors saw.
      await produceRecords(e.kinesis, { stream, count: 100, partitionKeys: 16 });
      await waitFor('400 records over both servers', async () => promSum(await metricsOf(urlA), 'kcl_records_processed_total') + promSum(await metricsOf(urlB), 'kcl_records_processed_total') === 400, 60_000);
      assert.equal(promSum(await metricsOf(urlB), 'kcl_records_processed_total'), b.deliveries.length);
      assert.equal(promSum(await metricsOf(urlA), 'kcl_records_processed_total'), a.deliveries.length);

      // B stops: it releases its lease, its server is gone, and A takes the lease back and shows where from.
      await fetch(`${urlB}status`); // a keep-alive connection open across the shutdown
      await wb.shutdown();
      await assert.rejects(fetch(`${urlB}status`), 'B no longer answers');
      await waitFor('A holds both again', async () => promSum(await metricsOf(urlA), 'kcl_leases_held', { worker_id: 'worker-a' }) === 2, 30_000);
      const back = (await statusOf(urlA)).recentMoves[0]!;
      assert.deepEqual([back.leaseKey, back.kind, back.from, back.to], [moved.leaseKey, 'taken', 'worker-b', 'worker-a']);
      await waitFor('B listed as gone', async () => (await statusOf(urlA)).workers.some((w) => w.workerId === 'worker-b' && !w.alive && w.leases === 0), 30_000);
    } finally {
      await Promise.all([wa.shutdown(), wb.shutdown()]);
    }
    assert.equal(wa.metricsUrl, undefined, 'no address once stopped');
    await assert.rejects(fetch(`${urlA}status`), 'A no longer answers');
    assert.equal(listeningServers(), serversBefore, 'no server left listening');
  });

  test('a registry passed in gets the metrics without a server', { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'metricsreg', 1);
    const app = uniqueName('app');
    await produceRecords(e.kinesis, { stream, count: 20 });
    const { Registry } = await import('prom-client');
    const registry = new Registry();
    const recorder = new Recorder();
    const worker = new Worker({ config: workerConfig(e, stream, app), processorFactory: recorder.factory, logger: silentLogger, metricsRegistry: registry });
    const serversBefore = listeningServers();
    try {
      await worker.start();
      assert.equal(worker.metricsUrl, undefined);
      assert.equal(listeningServers(), serversBefore);
      await waitFor('20 records in the registry', async () => promSum(await registry.metrics(), 'kcl_records_processed_total', { stream }) === 20);
    } finally {
      await worker.shutdown();
    }
    assert.equal(recorder.deliveries.length, 20);
  });

  test('a metricsHttpPort already in use fails the start with an error naming the key, and leaves nothing open', { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'metricsport', 1);
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const serversBefore = listeningServers();
    try {
      const port = (taken.address() as AddressInfo).port;
      const worker = new Worker({ config: workerConfig(e, stream, uniqueName('app'), { metricsHttpPort: port }), processorFactory: new Recorder().factory, logger: silentLogger });
      await assert.rejects(worker.run(), (err: Error) => err instanceof ConfigError && err.key === 'metricsHttpPort' && err.message.includes(`127.0.0.1:${port}`) && /EADDRINUSE/.test(err.message));
      assert.equal(worker.state, 'stopped');
      // Node closes the handle of a server that failed to bind on its own, a tick or two later.
      await waitFor('no server handle left', () => listeningServers() === serversBefore, 5_000);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  test('the daemon (kcl multilang) with metricsHttpPort in its properties serves /metrics and /status', { timeout: 90_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'mlmetrics', 2);
    const app = uniqueName('app');
    await produceRecords(e.kinesis, { stream, count: 40, partitionKeys: 8 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kcl-ml-metrics-'));
    const log = path.join(dir, 'events.jsonl');
    fs.writeFileSync(log, '');
    const props = path.join(dir, 'app.properties');
    fs.writeFileSync(
      props,
      [
        `executableName = python3 ${fixture('kclpy_mini.py')}`,
        `streamName = ${stream}`,
        `applicationName = ${app}`,
        'AWSCredentialsProvider = DefaultCredentialsProvider',
        'initialPositionInStream = TRIM_HORIZON',
        'idleTimeBetweenReadsInMillis = 200',
        `kinesisEndpoint = ${e.kinesisEndpoint}`,
        `dynamoDBEndpoint = ${e.dynamodbEndpoint}`,
        'metricsHttpPort = 0',
        '',
      ].join('\n'),
    );
    const daemon = spawn(process.execPath, [mainJs, 'multilang', '--properties-file', props], {
      env: { ...cliEnv(), KCL_TEST_LOG: log, KCL_FIXTURE_MODE: 'normal' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    daemon.stderr?.setEncoding('utf8');
    daemon.stderr?.on('data', (c: string) => (stderr += c));
    const exited = exitOf(daemon);
    const records = () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ChildEvent).filter((x) => x.event === 'record');
    let url: string | undefined;
    try {
      url = (await waitFor('the status URL in the log', () => /status page and metrics at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1], 30_000));
      await waitFor('40 records in /metrics', async () => promSum(await metricsOf(url!), 'kcl_records_processed_total', { stream }) === 40, 60_000);
      assert.equal(records().length, 40, 'what the children saw');
      const status = await statusOf(url);
      assert.deepEqual(status.shards.map((s) => s.records).reduce((x, y) => x + y, 0), 40);
      assert.ok(status.shards.every((s) => s.state === 'processing' && s.owner === status.workerId));
      process.kill(-daemon.pid!, 'SIGINT');
      const { code } = await withTimeout(exited, 30_000, 'daemon exit');
      assert.equal(code, 0, stderr);
    } finally {
      if (daemon.exitCode === null && daemon.signalCode === null) process.kill(-daemon.pid!, 'SIGKILL');
    }
    await assert.rejects(fetch(`${url}metrics`), 'the server went with the daemon');
  });
});
