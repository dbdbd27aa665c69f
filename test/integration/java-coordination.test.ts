/**
 * A worker refuses to start on a lease table that a live Java KCL 3.x leader coordinates, and shares the table
 * when the Java leader lock is stale or released, or when the Java fleet runs in a 2.x-compatible mode. The Java
 * items are written here as the Java KCL and the DynamoDB lock client write them; a "live" leader is a loop that
 * renews `recordVersionNumber` as the lock client's heartbeat does, stopped through an AbortSignal.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Item } from '../../src/leases/serializer.js';
import { Worker } from '../../src/worker/worker.js';
import { produceRecords } from '../../src/local/producer.js';
import { LeaseTable } from '../../src/leases/lease-table.js';
import { sleepUnlessAborted, systemClock } from '../../src/common/clock.js';
import { silentLogger, type Logger } from '../../src/common/logger.js';
import { InvalidStateException } from '../../src/common/errors.js';
import { Recorder } from '../helpers/recording-processor.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig, type TestEnv } from '../helpers/env.js';

const env = testEnv();
after(() => env?.close());

type Layout = { table: string; hashKey: 'leaseKey' | 'key'; singleTable: boolean };

/** The lease table (3.5 single-table format), created the way our worker creates it. */
async function singleTable(e: TestEnv, app: string): Promise<Layout> {
  await new LeaseTable(e.dynamodb, app, systemClock).createTableIfNotExists();
  return { table: app, hashKey: 'leaseKey', singleTable: true };
}

/** The 3.0–3.4 `<applicationName>-CoordinatorState` table (hash key `key`). */
async function coordinatorStateTable(e: TestEnv, app: string): Promise<Layout> {
  const table = `${app}-CoordinatorState`;
  await e.dynamodb.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitFor(`${table} usable`, async () => {
    try {
      await e.dynamodb.send(new GetItemCommand({ TableName: table, Key: { key: { S: 'probe' } } }));
      return true;
    } catch {
      return false;
    }
  });
  return { table, hashKey: 'key', singleTable: false };
}

async function putClientVersion(e: TestEnv, at: Layout, cv: string): Promise<void> {
  const item: Item = {
    [at.hashKey]: { S: 'Migration3.0' },
    cv: { S: cv },
    mb: { S: 'java-worker-1' },
    mts: { N: String(Date.now()) },
  };
  if (at.singleTable) item.entityType = { S: 'CLIENT_VERSION_MIGRATION' };
  await e.dynamodb.send(new PutItemCommand({ TableName: at.table, Item: item }));
}

/** A Leader lock as amazon-dynamodb-lock-client writes it; `leaseDuration` is in milliseconds. */
async function putLeaderLock(e: TestEnv, at: Layout, leaseDurationMillis: number, released = false): Promise<Item> {
  const item: Item = {
    [at.hashKey]: { S: 'Leader' },
    ownerName: { S: 'java-leader-1' },
    leaseDuration: { S: String(leaseDurationMillis) },
    recordVersionNumber: { S: randomUUID() },
  };
  if (released) item.isReleased = { S: '1' };
  if (at.singleTable) item.entityType = { S: 'LEADER' };
  await e.dynamodb.send(new PutItemCommand({ TableName: at.table, Item: item }));
  return item;
}

async function getItem(e: TestEnv, at: Layout, key: string): Promise<Item | undefined> {
  return (await e.dynamodb.send(new GetItemCommand({ TableName: at.table, Key: { [at.hashKey]: { S: key } }, ConsistentRead: true }))).Item;
}

/** The Java leader's heartbeat: a new recordVersionNumber every `everyMillis` until the signal aborts. */
async function heartbeat(e: TestEnv, at: Layout, signal: AbortSignal, everyMillis = 200): Promise<void> {
  while (await sleepUnlessAborted(systemClock, everyMillis, signal)) {
    await e.dynamodb.send(
      new UpdateItemCommand({
        TableName: at.table,
        Key: { [at.hashKey]: { S: 'Leader' } },
        UpdateExpression: 'SET recordVersionNumber = :rvn',
        ExpressionAttributeValues: { ':rvn': { S: randomUUID() } },
      }),
    );
  }
}

/** Runs `body` while a Java leader heartbeats its lock; the heartbeat stops (and is awaited) afterwards. */
async function withLiveLeader(e: TestEnv, at: Layout, body: () => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const beating = heartbeat(e, at, stop.signal);
  try {
    await body();
  } finally {
    stop.abort();
    await beating;
  }
}

/** A logger that keeps what is logged at info and above, for asserting on the start-up messages. */
function capturingLogger(lines: { level: string; msg: string; fields: Record<string, unknown> }[]): Logger {
  const at =
    (level: string) =>
    (a: Record<string, unknown> | string, b?: string): void => {
      if (typeof a === 'string') lines.push({ level, msg: a, fields: {} });
      else lines.push({ level, msg: b ?? '', fields: a });
    };
  const logger: Logger = { debug: () => undefined, info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

/** Starts a worker and checks it consumes what is written to its stream, then shuts it down. */
async function startsAndConsumes(e: TestEnv, stream: string, app: string, logger: Logger = silentLogger): Promise<void> {
  const recorder = new Recorder();
  const worker = new Worker({ config: workerConfig(e, stream, app), processorFactory: recorder.factory, logger });
  try {
    await worker.start();
    await produceRecords(e.kinesis, { stream, count: 20 });
    await waitFor('20 records', () => recorder.deliveries.length >= 20);
  } finally {
    await worker.shutdown();
  }
  assert.equal(recorder.deliveries.length, 20);
}

/** Starts a worker that must refuse; returns the error. Nothing keeps running either way. */
async function refusesToStart(e: TestEnv, stream: string, app: string, logger: Logger = silentLogger): Promise<Error> {
  const recorder = new Recorder();
  const worker = new Worker({ config: workerConfig(e, stream, app), processorFactory: recorder.factory, logger });
  let error: Error | undefined;
  try {
    await assert.rejects(worker.start(), (err: Error) => {
      error = err;
      return err instanceof InvalidStateException;
    });
  } finally {
    await worker.shutdown();
  }
  assert.equal(recorder.calls.length, 0, 'no processor ran');
  return error!;
}

describe('a lease table coordinated by a Java KCL 3.x leader', { skip: env ? false : SKIP_REASON }, () => {
  test('single-table format, CLIENT_VERSION_3X, live leader: start() refuses with a clear error and migration advice', { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'java3', 1);
    const app = uniqueName('app');
    const at = await singleTable(e, app);
    await putClientVersion(e, at, 'CLIENT_VERSION_3X');
    const leader = await putLeaderLock(e, at, 3000);
    const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
    let error: Error | undefined;
    await withLiveLeader(e, at, async () => {
      error = await refusesToStart(e, stream, app, capturingLogger(lines));
    });
    assert.match(error!.message, new RegExp(`lease table ${app} `));
    assert.match(error!.message, /java-leader-1/);
    assert.match(error!.message, /CLIENT_VERSION_3X/);
    assert.match(error!.message, /CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X/);
    assert.match(error!.message, /checkpoints in the table are kept/);
    const waiting = lines.find((l) => l.level === 'info' && l.msg.includes('waiting up to') && l.msg.includes('whether the Java leader is alive'));
    assert.ok(waiting, 'logs that it waits to see whether the Java leader is alive');
    assert.equal(waiting.fields.waitMillis, 4000, 'the lock lease (3000 ms) plus 1 s');
    const after = await getItem(e, at, 'Leader');
    assert.equal(after?.ownerName?.S, leader.ownerName!.S, 'the Java leader lock is not touched');
    assert.deepEqual((await new LeaseTable(e.dynamodb, app, systemClock).listLeases()).length, 0, 'no lease was created');
  });

  test('the leader lock is never heartbeated (stale): the worker starts after its lease and consumes', { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'java3stale', 1);
    const app = uniqueName('app');
    const at = await singleTable(e, app);
    await putClientVersion(e, at, 'CLIENT_VERSION_3X');
    const leader = await putLeaderLock(e, at, 1500);
    const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
    await startsAndConsumes(e, stream, app, capturingLogger(lines));
    assert.ok(lines.some((l) => l.level === 'warn' && l.msg.includes('leader lock is stale')), 'warns that the lock is stale');
    assert.deepEqual(await getItem(e, at, 'Leader'), leader, 'the stale Java leader lock is left as it was');
    assert.equal((await getItem(e, at, 'Migration3.0'))?.cv?.S, 'CLIENT_VERSION_3X', 'the client version item is left as it was');
  });

  test('CLIENT_VERSION_UPGRADE_FROM_2X (2.x-compatible) with a live leader: the table is shared', { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'java2x', 1);
    const app = uniqueName('app');
    const at = await singleTable(e, app);
    await putClientVersion(e, at, 'CLIENT_VERSION_UPGRADE_FROM_2X');
    // A long lease: if the worker waited on this lock, the test would time out.
    await putLeaderLock(e, at, 120_000);
    await withLiveLeader(e, at, () => startsAndConsumes(e, stream, app));
  });

  test('3.0–3.4 layout (<app>-CoordinatorState, hash key "key"), live leader: start() refuses', { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'java3legacy', 1);
    const app = uniqueName('app');
    const at = await coordinatorStateTable(e, app);
    await putClientVersion(e, at, 'CLIENT_VERSION_3X_WITH_ROLLBACK');
    await putLeaderLock(e, at, 3000);
    let error: Error | undefined;
    await withLiveLeader(e, at, async () => {
      error = await refusesToStart(e, stream, app);
    });
    assert.match(error!.message, new RegExp(`lease table ${app} `));
    assert.match(error!.message, new RegExp(`${app}-CoordinatorState`));
    assert.match(error!.message, /CLIENT_VERSION_3X_WITH_ROLLBACK/);
    assert.match(error!.message, /CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X/);
  });

  test('a released leader lock (isReleased "1"): the worker starts at once and consumes', { timeout: 60_000 }, async () => {
    const e = env!;
    const stream = await createTestStream(e, 'java3rel', 1);
    const app = uniqueName('app');
    const at = await singleTable(e, app);
    await putClientVersion(e, at, 'CLIENT_VERSION_3X');
    // A long lease: a released lock must not be waited on.
    const leader = await putLeaderLock(e, at, 120_000, true);
    await startsAndConsumes(e, stream, app);
    assert.deepEqual(await getItem(e, at, 'Leader'), leader);
  });
});
