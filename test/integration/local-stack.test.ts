/**
 * Integration tests for local/: stream helpers and the producer against the run's shared stack (endpoints from
 * KCL_TEST_KINESIS_ENDPOINT / KCL_TEST_DYNAMODB_ENDPOINT, set by scripts/run-tests.mjs), and the stack's own
 * life cycle on a second, private stack (start on free ports, health, stop, nothing left behind).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDBClient, createKinesisClient } from '../../src/aws/clients.js';
import { deleteStreamIfExists, ensureStream } from '../../src/local/streams.js';
import { parseProducedRecord, produceRecords, type ProducedRecord } from '../../src/local/producer.js';
import { PortInUseError, startLocalStack } from '../../src/local/stack.js';

const kinesisEndpoint = process.env.KCL_TEST_KINESIS_ENDPOINT;
const dynamodbEndpoint = process.env.KCL_TEST_DYNAMODB_ENDPOINT;
const noStack = !kinesisEndpoint || !dynamodbEndpoint ? 'KCL_TEST_KINESIS_ENDPOINT / KCL_TEST_DYNAMODB_ENDPOINT not set: run through scripts/run-tests.mjs' : false;

function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

function kinesisClient(endpoint: string): KinesisClient {
  return createKinesisClient({ kinesisEndpoint: endpoint, region: 'us-east-1' });
}

async function shardIds(kinesis: KinesisClient, stream: string): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < 100; page++) {
    const out = await kinesis.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: stream }));
    ids.push(...(out.Shards ?? []).map((s) => s.ShardId ?? ''));
    token = out.NextToken;
    if (!token) return ids;
  }
  throw new Error('ListShards paging did not end');
}

/** Reads every record of every shard from TRIM_HORIZON; the producer has finished, so an empty batch means the end. */
async function readAll(kinesis: KinesisClient, stream: string): Promise<Map<string, ProducedRecord[]>> {
  const byShard = new Map<string, ProducedRecord[]>();
  for (const shardId of await shardIds(kinesis, stream)) {
    const records: ProducedRecord[] = [];
    const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
    let iterator = it.ShardIterator;
    for (let call = 0; iterator && call < 1_000; call++) {
      const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      const batch = out.Records ?? [];
      for (const r of batch) records.push(parseProducedRecord(r.Data ?? new Uint8Array()));
      if (batch.length === 0) break;
      iterator = out.NextShardIterator;
    }
    byShard.set(shardId, records);
  }
  return byShard;
}

/** Checks completeness (every n once) and per-key order (seq 0,1,2,... in read order, all on one shard). */
function checkRecords(byShard: Map<string, ProducedRecord[]>, expected: number, runId: string): void {
  const all = [...byShard.values()].flat();
  assert.equal(all.length, expected, 'record count');
  const ns = new Set(all.map((r) => r.n));
  assert.equal(ns.size, expected, 'no duplicates');
  for (let n = 0; n < expected; n++) assert.ok(ns.has(n), `record ${n} present`);
  for (const r of all) assert.equal(r.id, `${runId}-${r.n}`);
  const shardOfKey = new Map<string, string>();
  for (const [shard, records] of byShard) {
    const nextSeq = new Map<string, number>();
    for (const r of records) {
      assert.equal(shardOfKey.get(r.pk) ?? shard, shard, `key ${r.pk} on one shard`);
      shardOfKey.set(r.pk, shard);
      const want = nextSeq.get(r.pk) ?? 0;
      assert.equal(r.seq, want, `key ${r.pk}: seq in order`);
      nextSeq.set(r.pk, want + 1);
    }
  }
}

function portFree(port: number, host?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function healthStatus(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthcheck', agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ESRCH');
    return false;
  }
}

/** Our own kinesis-local children, from /proc (Linux); undefined where /proc is not available. */
function kinesisLocalChildren(): number[] | undefined {
  if (!fs.existsSync('/proc/self/status')) return undefined;
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = fs.readFileSync(`/proc/${entry}/status`, 'utf8');
      const ppid = /^PPid:\s+(\d+)/m.exec(status)?.[1];
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (Number(ppid) === process.pid && cmdline.includes('kinesis-local')) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

test('ensureStream creates a stream with the requested shard count and is idempotent', { skip: noStack, timeout: 60_000 }, async () => {
  const kinesis = kinesisClient(kinesisEndpoint!);
  const name = uniqueName('it-ensure');
  try {
    await ensureStream(kinesis, name, 3);
    assert.equal((await shardIds(kinesis, name)).length, 3);
    // Again, even with another count: the existing stream is kept as it is.
    await ensureStream(kinesis, name, 3);
    await ensureStream(kinesis, name, 5);
    assert.equal((await shardIds(kinesis, name)).length, 3);

    await deleteStreamIfExists(kinesis, name);
    await deleteStreamIfExists(kinesis, name);
    await assert.rejects(shardIds(kinesis, name), { name: 'ResourceNotFoundException' });
    // And it can be created again right away, with a new count.
    await ensureStream(kinesis, name, 2);
    assert.equal((await shardIds(kinesis, name)).length, 2);
  } finally {
    await deleteStreamIfExists(kinesis, name).catch(() => undefined);
    kinesis.destroy();
  }
});

test('produceRecords writes N records that all read back, in seq order per key', { skip: noStack, timeout: 120_000 }, async () => {
  const kinesis = kinesisClient(kinesisEndpoint!);
  const name = uniqueName('it-produce');
  try {
    await ensureStream(kinesis, name, 3);
    const progress: number[] = [];
    // 1234 > 500: more than one batch, and a last partial batch.
    const result = await produceRecords(kinesis, { stream: name, count: 1234, partitionKeys: 7, runId: 'r1', onProgress: (w) => progress.push(w) });
    assert.equal(result.written, 1234);
    assert.deepEqual(progress, [500, 1000, 1234]);
    checkRecords(await readAll(kinesis, name), 1234, 'r1');
  } finally {
    await deleteStreamIfExists(kinesis, name).catch(() => undefined);
    kinesis.destroy();
  }
});

test('produceRecords paces to the rate, and an unbounded producer stops on abort without losing records', { skip: noStack, timeout: 120_000 }, async () => {
  const kinesis = kinesisClient(kinesisEndpoint!);
  const name = uniqueName('it-pace');
  try {
    await ensureStream(kinesis, name, 2);
    // 100/s in batches of 10: the third batch may not leave before 200 ms.
    const t0 = performance.now();
    const paced = await produceRecords(kinesis, { stream: name, count: 30, ratePerSecond: 100, partitionKeys: 3, runId: 'p' });
    assert.equal(paced.written, 30);
    assert.ok(performance.now() - t0 >= 190, `paced run took ${Math.round(performance.now() - t0)} ms`);

    const name2 = uniqueName('it-endless');
    await ensureStream(kinesis, name2, 2);
    try {
      const controller = new AbortController();
      const endless = await produceRecords(kinesis, {
        stream: name2,
        count: Infinity,
        ratePerSecond: 2_000,
        partitionKeys: 5,
        runId: 'e',
        signal: controller.signal,
        onProgress: (w) => {
          if (w >= 300) controller.abort();
        },
      });
      assert.ok(endless.written >= 300, `written ${endless.written}`);
      checkRecords(await readAll(kinesis, name2), endless.written, 'e');
    } finally {
      await deleteStreamIfExists(kinesis, name2).catch(() => undefined);
    }
    await assert.rejects(produceRecords(kinesis, { stream: name, count: Infinity }), /AbortSignal/);
  } finally {
    await deleteStreamIfExists(kinesis, name).catch(() => undefined);
    kinesis.destroy();
  }
});

test('a second stack starts on free ports, serves both APIs, and stop() leaves nothing behind', { timeout: 90_000 }, async () => {
  const stack = await startLocalStack({ streams: [{ name: 's1', shards: 2 }] });
  let stopped = false;
  try {
    assert.match(stack.kinesisEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(stack.dynamodbEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(stack.kinesisEndpoint, kinesisEndpoint, 'not the shared stack');
    assert.equal(await healthStatus(stack.ports.kinesis), 200);
    assert.ok(isAlive(stack.kinesisPid));

    const kinesis = kinesisClient(stack.kinesisEndpoint);
    const dynamo = createDynamoDBClient({ dynamoDBEndpoint: stack.dynamodbEndpoint, region: 'us-east-1' });
    try {
      assert.equal((await shardIds(kinesis, 's1')).length, 2);
      const tables = await dynamo.send(new ListTablesCommand({}));
      assert.deepEqual(tables.TableNames, []);
      // Stop while the clients still hold keep-alive connections: kinesis-local then ignores SIGTERM, and only
      // the SIGKILL after the grace period ends it. That is the trap stop() exists for.
      const t0 = performance.now();
      await Promise.all([stack.stop(), stack.stop()]);
      stopped = true;
      const stopMillis = performance.now() - t0;
      assert.ok(stopMillis < 10_000, `stop took ${Math.round(stopMillis)} ms`);
    } finally {
      kinesis.destroy();
      dynamo.destroy();
    }

    assert.equal(isAlive(stack.kinesisPid), false, 'kinesis-local child is gone');
    const children = kinesisLocalChildren();
    if (children) assert.deepEqual(children, [], 'no kinesis-local child left');
    assert.ok(await portFree(stack.ports.kinesis), `kinesis port ${stack.ports.kinesis} free`);
    assert.ok(await portFree(stack.ports.kinesisTls), `kinesis TLS port ${stack.ports.kinesisTls} free`);
    assert.ok(await portFree(stack.ports.dynamodb, '127.0.0.1'), `dynamodb port ${stack.ports.dynamodb} free`);
    const exit = await stack.kinesisExited;
    assert.ok(exit.code !== null || exit.signal !== null);
    await stack.stop(); // still idempotent afterwards
  } finally {
    if (!stopped) await stack.stop();
  }
});

test('a requested port that is in use fails clearly, naming the port, and starts nothing', { timeout: 30_000 }, async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen({ port: 0, exclusive: true }, () => resolve()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    await assert.rejects(startLocalStack({ kinesisPort: port }), (err: unknown) => {
      assert.ok(err instanceof PortInUseError);
      assert.equal(err.port, port);
      assert.match(err.message, new RegExp(`kinesis.*port ${port} is already in use`));
      return true;
    });
    await assert.rejects(startLocalStack({ dynamodbPort: port }), (err: unknown) => {
      assert.ok(err instanceof PortInUseError);
      assert.match(err.message, new RegExp(`dynamodb.*port ${port} is already in use`));
      return true;
    });
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

test('start-up can be aborted, and then stops what it started', { timeout: 60_000 }, async () => {
  const controller = new AbortController();
  const starting = startLocalStack({ signal: controller.signal });
  // Abort once the kinesis-local child exists (where /proc shows it), so the abort has a process to clean up.
  if (kinesisLocalChildren()) {
    const deadline = performance.now() + 20_000;
    while ((kinesisLocalChildren() ?? []).length === 0 && performance.now() < deadline) {
      await new Promise<void>((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(kinesisLocalChildren()?.length, 1, 'kinesis-local was spawned');
  }
  controller.abort(new Error('test abort'));
  await assert.rejects(starting, /test abort/);
  const children = kinesisLocalChildren();
  if (children) assert.deepEqual(children, [], 'no kinesis-local child left');
});
