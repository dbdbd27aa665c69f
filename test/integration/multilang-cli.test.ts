/**
 * `kcl multilang` as a user runs it: a Java-style properties file, Ctrl-C to the whole process group (as a
 * terminal sends it) gives every child shutdownRequested and a checkpoint before the daemon exits 0, and a
 * bad executableName is a clear start-up error.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { produceRecords } from '../../src/local/producer.js';
import { LeaseTable } from '../../src/leases/lease-table.js';
import { systemClock } from '../../src/common/clock.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor } from '../helpers/env.js';
import { cliEnv, execFileAsync, exitOf, isAlive, mainJs, withTimeout } from '../helpers/cli.js';
import { fixture, type ChildEvent } from '../helpers/multilang.js';
import { startEventStreamProxy } from '../helpers/event-stream-proxy.js';
import { repoFile } from '../helpers/config.js';

const env = testEnv();
after(() => env?.close());

function writeProperties(lines: string[]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kcl-props-')), 'app.properties');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('kcl multilang', { skip: env ? false : SKIP_REASON }, () => {
  test('Ctrl-C to the process group: every child gets shutdownRequested and checkpoints, the daemon exits 0, no child is left', { timeout: 90_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'mlcli', 2);
    const app = uniqueName('app');
    await produceRecords(e.kinesis, { stream, count: 40, partitionKeys: 8 });
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kcl-ml-')), 'events.jsonl');
    fs.writeFileSync(log, '');
    const props = writeProperties([
      '# as the amazon_kclpy sample writes it',
      `executableName = python3 ${fixture('kclpy_mini.py')}`,
      `streamName = ${stream}`,
      `applicationName = ${app}`,
      'AWSCredentialsProvider = DefaultAWSCredentialsProviderChain',
      'processingLanguage = python/3.11',
      'initialPositionInStream = TRIM_HORIZON',
      'regionName = us-east-1',
      'idleTimeBetweenReadsInMillis = 200',
      `kinesisEndpoint = ${e.kinesisEndpoint}`,
      `dynamoDBEndpoint = ${e.dynamodbEndpoint}`,
    ]);
    const daemon = spawn(process.execPath, [mainJs, 'multilang', '--properties-file', props], {
      env: { ...cliEnv(), KCL_TEST_LOG: log, KCL_FIXTURE_MODE: 'normal' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true, // its own process group, so the test can signal the group as a terminal would
    });
    let stderr = '';
    daemon.stderr?.setEncoding('utf8');
    daemon.stderr?.on('data', (c: string) => (stderr += c));
    const exited = exitOf(daemon);
    const events = () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ChildEvent);
    try {
      await waitFor('40 records', () => events().filter((x) => x.event === 'record').length >= 40, 60_000);
      process.kill(-daemon.pid!, 'SIGINT');
      const { code, signal } = await withTimeout(exited, 30_000, 'daemon exit');
      assert.equal(signal, null, stderr);
      assert.equal(code, 0, stderr);
    } finally {
      if (daemon.exitCode === null && daemon.signalCode === null) process.kill(-daemon.pid!, 'SIGKILL');
    }
    const all = events();
    for (const shard of ['shardId-000000000000', 'shardId-000000000001']) {
      const calls = all.filter((x) => x.shard === shard).map((x) => x.event);
      const i = calls.indexOf('shutdown_requested');
      assert.ok(i >= 0, `${shard} got shutdownRequested: ${calls.join(',')}`);
      assert.equal(calls[i + 1], 'checkpoint_ok', `${shard} checkpointed in shutdownRequested`);
      assert.equal(calls.at(-1), 'lease_lost', 'then leaseLost, as the Java daemon sends');
    }
    for (const pid of new Set(all.map((x) => x.pid))) await waitFor(`child ${pid} gone`, () => !isAlive(pid));
    const leases = await new LeaseTable(e.dynamodb, app, systemClock).listLeases();
    const last = new Map<string, string>();
    for (const x of all) if (x.event === 'record' && x.seq) last.set(x.shard, x.seq);
    for (const lease of leases) {
      assert.equal(lease.leaseOwner, undefined, 'released');
      assert.equal(lease.checkpoint.sequenceNumber, last.get(lease.leaseKey));
    }
  });

  test('the seed sample properties file, which sets no retrieval key, reads with SubscribeToShard (enhanced fan-out), as the Java daemon does', { timeout: 90_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'mlefo', 2);
    const app = uniqueName('app');
    await produceRecords(e.kinesis, { stream, count: 40, partitionKeys: 8 });
    // Seen at the network edge: the daemon's Kinesis traffic goes through a SubscribeToShard-aware proxy.
    const proxy = await startEventStreamProxy(e.kinesisEndpoint);
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kcl-ml-')), 'events.jsonl');
    fs.writeFileSync(log, '');
    const sample = fs.readFileSync(repoFile('test/fixtures/sample.properties'), 'utf8');
    const props = writeProperties([
      sample
        .replace(/^executableName = .*$/m, `executableName = python3 ${fixture('kclpy_mini.py')}`)
        .replace(/^streamName = .*$/m, `streamName = ${stream}`)
        .replace(/^applicationName = .*$/m, `applicationName = ${app}`),
      `kinesisEndpoint = ${proxy.endpoint}`,
      `dynamoDBEndpoint = ${e.dynamodbEndpoint}`,
    ]);
    assert.doesNotMatch(fs.readFileSync(props, 'utf8'), /^(retrievalMode|maxRecords|idleTimeBetweenReadsInMillis)\s*=/m);
    const daemon = spawn(process.execPath, [mainJs, 'multilang', '--properties-file', props], {
      env: { ...cliEnv(), KCL_TEST_LOG: log, KCL_FIXTURE_MODE: 'normal' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    for (const stream of [daemon.stdout, daemon.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (c: string) => (output += c));
    }
    const exited = exitOf(daemon);
    const records = () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ChildEvent).filter((x) => x.event === 'record');
    try {
      await waitFor('40 records', () => records().length >= 40, 60_000);
      process.kill(-daemon.pid!, 'SIGINT');
      const { code } = await withTimeout(exited, 30_000, 'daemon exit');
      assert.equal(code, 0, output);
    } finally {
      if (daemon.exitCode === null && daemon.signalCode === null) process.kill(-daemon.pid!, 'SIGKILL');
      await proxy.close();
    }
    assert.equal(new Set(records().map((x) => `${x.shard}/${x.seq}`)).size, 40);
    const subscribed = new Set(proxy.subscriptions.map((s) => s.shardId));
    assert.deepEqual([...subscribed].sort(), ['shardId-000000000000', 'shardId-000000000001']);
    assert.ok(proxy.subscriptions.every((s) => s.consumerARN?.includes(`/consumer/${app}:`)), 'the consumer is named after the application');
    assert.match(output, /reading shards with enhanced fan-out \(SubscribeToShard\)/);
    assert.match(output, /no polling key is set/);
  });

  test('an executableName that cannot be run is a start-up error naming the key', async () => {
    const props = writeProperties(['executableName = no-such-program-kcl-test app.py', 'streamName = s', 'applicationName = app-missing-exe', 'AWSCredentialsProvider = DefaultCredentialsProvider']);
    await assert.rejects(execFileAsync(process.execPath, [mainJs, 'multilang', props], { env: cliEnv(), timeout: 30_000 }), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? '', /executableName: "no-such-program-kcl-test" was not found on PATH/);
      return true;
    });
  });
});
