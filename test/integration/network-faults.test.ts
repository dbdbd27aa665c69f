/**
 * Network faults, each on its own, injected only at the network edge: a worker reaches DynamoDB or Kinesis
 * through a TCP fault proxy (test/helpers/fault-proxy.ts) that black-holes, half-opens, resets, delays or
 * refuses; nothing inside the library is stubbed. What a user relies on is asserted: a cut-off worker says so
 * (events, JSON log), stops processing before its leases could be taken, never shares a shard, loses nothing,
 * recovers on its own after the heal (also when the old connections stay silent for ever), and a SIGTERM ends
 * the process within its shutdown bound whatever the network does.
 *
 * The behaviour checked is the one docs/network-faults.md describes ('What an operator sees', 'Safety while cut
 * off', 'Shutdown'). Loss, duplicates, order and overlap are judged by the chaos run's analysis
 * (bench/chaos/analysis.ts) from what the processors saw (test/helpers/delivery-log.ts).
 */
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from '../../src/worker/worker.js';
import { silentLogger } from '../../src/common/logger.js';
import { awsErrorKind } from '../../src/aws/errors.js';
import { killOnProcessExit, terminate } from '../../src/common/child-process.js';
import { produceRecords } from '../../src/local/producer.js';
import { readLines, shardOwners, type ChaosLine } from '../../bench/chaos/log.js';
import { startWorkerProcess, type WorkerProcess } from '../../bench/chaos/harness.js';
import { now } from '../../bench/chaos/processor.js';
import type { ChaosReport } from '../../bench/chaos/analysis.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { DeliveryLog, EventLog, type SeenEvent } from '../helpers/delivery-log.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, workerConfig, type TestEnv } from '../helpers/env.js';
import { cliEnv, exitOf, isAlive, mainJs, withTimeout } from '../helpers/cli.js';
import { fixture, type ChildEvent } from '../helpers/multilang.js';
import type { KclConfigInput } from '../../src/config/config.js';

const env = testEnv();
after(() => env?.close());

const FAILOVER = 3000;
/** The lease write deadline the worker derives from FAILOVER: its renewal period (failover / 3 − epsilon 25). */
const WRITE_DEADLINE = Math.floor(FAILOVER / 3) - 25;
/** Scheduling slack on a timestamp taken right after a check the library made. */
const SLACK = 50;

const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** Records flowing into the stream until stop(), which returns how many were written. */
function startProducer(e: TestEnv, stream: string, ratePerSecond = 50): { stop(): Promise<number> } {
  const controller = new AbortController();
  const done = produceRecords(e.kinesis, { stream, count: Infinity, ratePerSecond, partitionKeys: 16, signal: controller.signal, runId: 'r' });
  return {
    async stop() {
      controller.abort();
      return (await done).written;
    },
  };
}

/** Stops the producer, waits until every record written was delivered, and judges the run. */
async function finish(producer: { stop(): Promise<number> }, log: DeliveryLog, shards: number): Promise<ChaosReport> {
  const written = await producer.stop();
  await waitFor(`all ${written} records delivered`, () => log.uniqueDelivered() >= written, 30_000, 100);
  return log.analyze(written, FAILOVER, shards);
}

function assertClean(r: ChaosReport, t: TestContext): void {
  t.diagnostic(`produced ${r.produced}, deliveries ${r.deliveries}, duplicates ${r.duplicates} (${r.duplicatesExplained} after a lease expired), sessions ${r.sessions}`);
  assert.equal(r.lost, 0, `lost: ${r.lostSample.join(', ')}`);
  assert.equal(r.duplicatesUnexplained, 0, r.unexplainedSample.join('; '));
  assert.equal(r.sessionOrderViolations, 0, 'order within each processor session');
  assert.equal(r.keyOrderViolations, 0, r.keyOrderSample.join('; '));
  assert.equal(r.overlaps.count, 0, `two workers processed one shard at once: ${r.overlaps.sample.join('; ')}`);
}

/** An in-process worker with fast failover, silent, its processors writing to `log`. */
function startWorker(e: TestEnv, stream: string, app: string, id: string, log: DeliveryLog, extra: Partial<KclConfigInput> = {}): Worker {
  return new Worker({
    config: workerConfig(e, stream, app, { workerId: id, failoverTimeMillis: FAILOVER, ...extra }),
    processorFactory: log.factory(id),
    logger: silentLogger,
    shutdownTimeoutMillis: 5_000,
  });
}

const WATCHED = [
  'lease.renewalsFailing',
  'lease.renewalsRecovered',
  'lease.lost',
  'lease.acquired',
  'retrieval.failing',
  'retrieval.recovered',
  'aws.call',
] as const;

/** The lease layer's events, for the evidence kept when a test fails. */
const LEASE_EVENTS = ['lease.acquired', 'lease.lost', 'lease.released', 'lease.handoffInitiated', 'lease.handoffRequested'] as const;

/** Events without the routine ones (successful Kinesis calls), for the evidence. */
function notRoutine(events: EventLog): EventLog['seen'] {
  return events.seen.filter((s) => s.name !== 'aws.call' || (s as SeenEvent<'aws.call'>).event.service === 'dynamodb' || (s as SeenEvent<'aws.call'>).event.outcome !== 'ok');
}

/** A failed test leaves what the processors and workers did in a file, for whoever reads the failure. */
function evidence(t: TestContext, name: string, data: unknown): void {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kcl-nf-evidence-')), `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(data, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v)));
  t.diagnostic(`evidence: ${file}`);
}

/** One in-process worker "W" on a 2-shard stream with records flowing, reaching the services named in `through` by fault proxies. */
interface Solo {
  log: DeliveryLog;
  events: EventLog;
  kinesisProxy: FaultProxy;
  dynamoProxy: FaultProxy;
  /** The shards W processes once started. */
  shards: string[];
  finish(): Promise<ChaosReport>;
  close(): Promise<void>;
}

async function soloWorker(e: TestEnv, prefix: string, through: readonly ('kinesis' | 'dynamodb')[], ratePerSecond = 50): Promise<Solo> {
  const stream = await createTestStream(e, prefix, 2);
  const proxies = { kinesis: await FaultProxy.start(e.kinesisEndpoint), dynamodb: await FaultProxy.start(e.dynamodbEndpoint) };
  const log = new DeliveryLog();
  const producer = startProducer(e, stream, ratePerSecond);
  const worker = startWorker(e, stream, uniqueName('app'), 'W', log, {
    kinesisEndpoint: through.includes('kinesis') ? proxies.kinesis.endpoint : e.kinesisEndpoint,
    dynamoDBEndpoint: through.includes('dynamodb') ? proxies.dynamodb.endpoint : e.dynamodbEndpoint,
  });
  const events = new EventLog(worker.events, WATCHED);
  const close = async () => {
    await producer.stop().catch(() => 0);
    await worker.shutdown();
    await Promise.all([proxies.kinesis.close(), proxies.dynamodb.close()]);
  };
  try {
    await worker.start();
    await waitFor('W processes both shards', () => log.processing('W').length === 2 && log.deliveries('W').length > 2, 30_000, 50);
  } catch (err) {
    await close();
    throw err;
  }
  return { log, events, kinesisProxy: proxies.kinesis, dynamoProxy: proxies.dynamodb, shards: log.processing('W').sort(), finish: () => finish(producer, log, 2), close };
}

/** A chaos worker process (bench/chaos/worker.ts): the lines its processors wrote, and its JSON log (stderr). */
class FaultWorker {
  private constructor(
    readonly proc: WorkerProcess,
    private readonly stderrFile: string,
  ) {}

  static start(e: TestEnv, id: string, stream: string, endpoints: { kinesis?: string; dynamodb?: string }, shutdownTimeoutMillis: number): FaultWorker {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kcl-nf-${id}-`));
    const proc = startWorkerProcess(id, dir, {
      applicationName: uniqueName('app'),
      streamName: stream,
      kinesisEndpoint: endpoints.kinesis ?? e.kinesisEndpoint,
      dynamodbEndpoint: endpoints.dynamodb ?? e.dynamodbEndpoint,
      failoverTimeMillis: FAILOVER,
      checkpointIntervalMillis: 500,
      idleTimeBetweenReadsInMillis: 200,
      shardSyncIntervalMillis: 60_000,
      statsIntervalMillis: 60_000,
      shutdownTimeoutMillis,
    });
    return new FaultWorker(proc, path.join(dir, `${id}.stderr.log`));
  }

  lines(): ChaosLine[] {
    return readLines(this.proc.logFile);
  }

  processing(): string[] {
    return [...shardOwners(this.lines()).entries()].filter(([, w]) => w === this.proc.id).map(([shard]) => shard);
  }

  /** stderr, line by line: what an operator reads. */
  stderr(): string[] {
    return fs.existsSync(this.stderrFile) ? fs.readFileSync(this.stderrFile, 'utf8').split('\n').filter(Boolean) : [];
  }

  /** The JSON log, parsed (a line still being written is left out). */
  entries(): Record<string, unknown>[] {
    return this.stderr().flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** The JSON log lines whose message matches. */
  logLines(msg: RegExp): Record<string, unknown>[] {
    return this.entries().filter((o) => typeof o.msg === 'string' && msg.test(o.msg));
  }
}

// The two groups run side by side (most of their time is waiting for failover and deadlines, the Kinesis test
// alone waits out a 10 s GetRecords deadline); the tests within a group run one after another.
describe('network faults at the edge', { skip: env ? false : SKIP_REASON, concurrency: true }, () => {
  describe('DynamoDB cut off, slow or refused; resets (in-process workers)', { concurrency: false }, () => {
    test(
      'DynamoDB black-holed for worker A: A says so once, stops before its leases could be taken, B takes over without overlap; after a heal (plain, then half-open) A recovers and gets its share back',
      { timeout: 90_000 },
      async (t) => {
        const e = env!;
        const stream = await createTestStream(e, 'nf-ddb', 4);
        const app = uniqueName('app');
        const proxy = await FaultProxy.start(e.dynamodbEndpoint);
        const log = new DeliveryLog();
        const producer = startProducer(e, stream);
        const a = startWorker(e, stream, app, 'A', log, { dynamoDBEndpoint: proxy.endpoint });
        const b = startWorker(e, stream, app, 'B', log);
        const eventsA = new EventLog(a.events, WATCHED);
        const eventsB = new EventLog(b.events, LEASE_EVENTS);
        const leaseEventsA = new EventLog(a.events, LEASE_EVENTS);
        try {
          await Promise.all([a.start(), b.start()]);
          const named: { heal: string; named: string[]; held: string[] }[] = [];
          await waitFor('A and B at 2 shards each', () => log.processing('A').length === 2 && log.processing('B').length === 2, 30_000, 50);

          for (const halfOpen of [false, true]) {
            const heal = halfOpen ? 'half-open heal' : 'heal';
            const held = log.processing('A').sort();
            const cutAt = now();
            proxy.blackhole();

            const failing = await waitFor('lease.renewalsFailing from A', () => eventsA.of('lease.renewalsFailing', cutAt)[0], FAILOVER * 2);
            // Checked at the end, so the rest of the outage is judged even when the naming is wrong.
            named.push({ heal, named: [...failing.event.leaseKeys].sort(), held });
            t.diagnostic(`${heal}: renewalsFailing ${secs(failing.t - cutAt)} after the cut: ${failing.event.error.message}`);

            await waitFor('B processes all 4 shards', () => log.processing('B').length === 4 && held.every((s) => log.deliveries('B', s).some((l) => l.t > cutAt)), FAILOVER * 5, 50);
            const lastLanded = Math.max(...eventsA.of('aws.call').filter((s) => s.event.service === 'dynamodb' && s.event.outcome === 'ok' && s.t <= failing.t).map((s) => s.t));
            for (const shard of held) {
              const byA = log.deliveries('A', shard);
              const lastByA = byA.at(-1)!.t;
              const firstByB = log.deliveries('B', shard).find((l) => l.t > cutAt);
              assert.ok(lastByA <= lastLanded + FAILOVER + SLACK, `${shard}: A delivered ${secs(lastByA - lastLanded)} after its last DynamoDB answer (failover ${FAILOVER} ms)`);
              assert.ok(firstByB && firstByB.t > lastByA, `${shard}: B started only after A's last delivery`);
              t.diagnostic(`${heal}: ${shard}: A's last delivery ${secs(lastByA - cutAt)} after the cut, B's first ${secs(firstByB.t - cutAt)} after it`);
            }
            // The drop (and its warning) comes with A's next renewal round, which may wait behind a hanging write.
            await waitFor('lease.lost from A for both leases', () => eventsA.of('lease.lost', cutAt).length >= held.length, FAILOVER * 2);
            const lost = eventsA.of('lease.lost', cutAt);
            assert.deepEqual(lost.map((l) => l.event.leaseKey).sort(), held, 'A dropped exactly the leases it held');
            t.diagnostic(`${heal}: lease.lost ${lost.map((l) => secs(l.t - cutAt)).join(', ')} after the cut`);
            assert.ok(lost.every((l) => l.event.reason === 'expired'), 'dropped as expired by its own clock');

            const healedAt = now();
            await proxy.heal({ halfOpen });
            const recovered = await waitFor('lease.renewalsRecovered from A', () => eventsA.of('lease.renewalsRecovered', healedAt)[0], FAILOVER * 5);
            await waitFor('A back at 2 shards, B at 2', () => log.processing('A').length === 2 && log.processing('B').length === 2, FAILOVER * 6, 50);
            const firstAgain = await waitFor('a delivery by A after the heal', () => log.deliveries('A').find((l) => l.t > healedAt), FAILOVER * 3);
            assert.equal(eventsA.of('lease.renewalsFailing', cutAt).length, 1, 'renewalsFailing said once per outage');
            assert.equal(eventsA.of('lease.renewalsRecovered', cutAt).length, 1, 'renewalsRecovered said once');
            t.diagnostic(
              `${heal}: recovered ${secs(recovered.t - healedAt)} after the heal (failed for ${secs(recovered.event.failedForMillis)}), ` +
                `A delivered again ${secs(firstAgain.t - healedAt)} after it, back at 2 shards ${secs(now() - healedAt)} after it`,
            );
          }

          const report = await finish(producer, log, 4);
          assertClean(report, t);
          for (const n of named) assert.deepEqual(n.named, n.held, `${n.heal}: lease.renewalsFailing names every lease A held`);
        } catch (err) {
          evidence(t, 'ddb-blackhole', { lines: log.lines, A: [...notRoutine(eventsA), ...leaseEventsA.seen.filter((s) => s.name.startsWith('lease.handoff') || s.name === 'lease.released')], B: eventsB.seen });
          throw err;
        } finally {
          await producer.stop().catch(() => 0);
          await Promise.all([a.shutdown(), b.shutdown()]);
          await proxy.close();
        }
      },
    );

    test('connections reset again and again while records flow: processing goes on, nothing lost', { timeout: 60_000 }, async (t) => {
      const e = env!;
      const { log, events, kinesisProxy, dynamoProxy, finish, close } = await soloWorker(e, 'nf-reset', ['kinesis', 'dynamodb'], 100);
      let resets: NodeJS.Timeout | undefined;
      try {
        const from = now();
        // The fault schedule, not a synchronisation: every open connection to both services is reset each 200 ms.
        resets = setInterval(() => {
          kinesisProxy.reset();
          dynamoProxy.reset();
        }, 200);
        const deliveredSince = () => log.deliveries('W').filter((l) => l.t > from).reduce((n, l) => n + l.r.length, 0);
        await waitFor('400 records delivered and 40 connections reset', () => deliveredSince() >= 400 && kinesisProxy.stats.resets + dynamoProxy.stats.resets >= 40, 30_000, 50);
        clearInterval(resets);
        t.diagnostic(`${kinesisProxy.stats.resets} Kinesis and ${dynamoProxy.stats.resets} DynamoDB connections reset in ${secs(now() - from)}; ${deliveredSince()} records delivered meanwhile`);
        const failedCalls = events.of('aws.call', from).filter((s) => s.event.outcome !== 'ok');
        t.diagnostic(`calls failed meanwhile: ${JSON.stringify(Object.fromEntries([...new Set(failedCalls.map((s) => `${s.event.service} ${s.event.outcome}`))].map((k) => [k, failedCalls.filter((s) => `${s.event.service} ${s.event.outcome}` === k).length])))}`);
        const report = await finish();
        assertClean(report, t);
        assert.deepEqual(events.of('lease.lost').map((l) => `${l.event.leaseKey} ${l.event.reason}`), [], 'resets cost no lease');
        assert.equal(report.duplicates, 0, 'nothing delivered twice');
      } catch (err) {
        evidence(t, 'resets', { lines: log.lines, events: notRoutine(events) });
        throw err;
      } finally {
        clearInterval(resets);
        await close();
      }
    });

    test('seconds of latency on DynamoDB: lease writes fail at their deadline instead of hanging, processing stops before the leases could expire, and it recovers when the latency goes', { timeout: 60_000 }, async (t) => {
      const e = env!;
      const { log, events, dynamoProxy: proxy, shards: held, finish, close } = await soloWorker(e, 'nf-latency', ['dynamodb']);
      try {
        const slowAt = now();
        proxy.latency(2_500);
        const failing = await waitFor('lease.renewalsFailing', () => events.of('lease.renewalsFailing', slowAt)[0], FAILOVER * 2);
        const named = [...failing.event.leaseKeys].sort();
        assert.equal(awsErrorKind(failing.event.error), 'timeout', `renewals fail by their deadline: ${failing.event.error.message}`);
        await waitFor('both leases dropped as expired', () => events.of('lease.lost', slowAt).length === 2, FAILOVER * 2);
        const writes = events.of('aws.call', slowAt).filter((s) => s.event.service === 'dynamodb' && s.event.operation === 'UpdateItem');
        assert.ok(writes.length >= 2 && writes.every((s) => s.event.outcome === 'timeout'), `every lease write timed out: ${writes.map((s) => s.event.outcome).join(',')}`);
        const longest = Math.max(...writes.map((s) => s.event.millis));
        assert.ok(longest <= WRITE_DEADLINE + 250, `no lease write outlived its ${WRITE_DEADLINE} ms deadline by much (longest ${longest.toFixed(0)} ms)`);
        t.diagnostic(`renewalsFailing ${secs(failing.t - slowAt)} after 2.5 s of latency began; ${writes.length} lease writes, all timed out, longest ${longest.toFixed(0)} ms`);

        const lastLanded = Math.max(...events.of('aws.call').filter((s) => s.event.service === 'dynamodb' && s.event.outcome === 'ok' && s.t <= failing.t).map((s) => s.t));
        for (const shard of held) {
          const last = log.deliveries('W', shard).at(-1)!;
          assert.ok(last.t <= lastLanded + FAILOVER + SLACK, `${shard}: delivered ${secs(last.t - lastLanded)} after its last DynamoDB answer (failover ${FAILOVER} ms)`);
        }

        const healedAt = now();
        await proxy.heal();
        const recovered = await waitFor('lease.renewalsRecovered', () => events.of('lease.renewalsRecovered', healedAt)[0], FAILOVER * 3);
        await waitFor('W processes both shards again', () => log.processing('W').length === 2 && held.every((s) => log.deliveries('W', s).some((l) => l.t > healedAt)), FAILOVER * 5, 50);
        t.diagnostic(`recovered ${secs(recovered.t - healedAt)} after the latency went, processing both shards again ${secs(now() - healedAt)} after it`);
        assertClean(await finish(), t);
        assert.deepEqual(named, held, 'lease.renewalsFailing names every lease held');
      } finally {
        await close();
      }
    });

    test('refused connections to DynamoDB and Kinesis: clear errors classified as unreachable, and recovery after the heal', { timeout: 60_000 }, async (t) => {
      const e = env!;
      const { log, events, kinesisProxy, dynamoProxy, shards, finish, close } = await soloWorker(e, 'nf-refuse', ['kinesis', 'dynamodb']);
      try {
        const cutAt = now();
        kinesisProxy.refuse();
        dynamoProxy.refuse();
        const renewals = await waitFor('lease.renewalsFailing', () => events.of('lease.renewalsFailing', cutAt)[0], FAILOVER * 2);
        await waitFor('retrieval.failing for both shards', () => events.of('retrieval.failing', cutAt).length === 2, 10_000);
        for (const error of [renewals.event.error, ...events.of('retrieval.failing', cutAt).map((f) => f.event.error)]) {
          assert.equal(awsErrorKind(error), 'unreachable', error.message);
          assert.equal(error.name, 'KinesisClientLibDependencyException');
          assert.match(error.message, /cannot reach the service \(.*(ECONNREFUSED|ECONNRESET)/, error.message);
        }
        t.diagnostic(`renewals: ${renewals.event.error.message}`);
        t.diagnostic(`reads: ${events.of('retrieval.failing', cutAt)[0]!.event.error.message}`);
        const refusedCalls = events.of('aws.call', cutAt).filter((s) => s.event.outcome === 'unreachable');
        assert.ok(['kinesis', 'dynamodb'].every((service) => refusedCalls.some((s) => s.event.service === service)), 'calls to both services ended as unreachable');
        assert.ok(refusedCalls.every((s) => s.event.millis < 1_000), 'a refused connection fails at once, not at a deadline');

        const healedAt = now();
        await Promise.all([kinesisProxy.heal(), dynamoProxy.heal()]);
        const recovered = await waitFor('lease.renewalsRecovered', () => events.of('lease.renewalsRecovered', healedAt)[0], FAILOVER * 3);
        await waitFor('retrieval.recovered for both shards', () => events.of('retrieval.recovered', healedAt).length === 2, 20_000);
        await waitFor('records of both shards after the heal', () => shards.every((s) => log.deliveries('W', s).some((l) => l.t > healedAt)), 20_000, 50);
        t.diagnostic(`after the heal: renewals recovered in ${secs(recovered.t - healedAt)}, reads in ${secs(Math.max(...events.of('retrieval.recovered', healedAt).map((s) => s.t)) - healedAt)}, records again in ${secs(now() - healedAt)}`);
        assertClean(await finish(), t);
      } finally {
        await close();
      }
    });
  });

  describe('Kinesis cut off; worker processes and the daemon', { concurrency: false }, () => {
    test('Kinesis black-holed for a worker: retrieval.failing per shard, the leases are kept, and after a half-open heal it resumes where it was: nothing skipped, nothing twice, order kept', { timeout: 60_000 }, async (t) => {
      const e = env!;
      const { log, events, kinesisProxy: proxy, shards, finish, close } = await soloWorker(e, 'nf-kin', ['kinesis']);
      try {
        const cutAt = now();
        proxy.blackhole();
        // A GetRecords in flight ends at its deadline (10 s), so the first failure is seen that late.
        await waitFor('retrieval.failing for both shards', () => new Set(events.of('retrieval.failing', cutAt).map((s) => s.event.shardId)).size === 2, 20_000);
        const failing = events.of('retrieval.failing', cutAt);
        assert.deepEqual(failing.map((f) => f.event.shardId).sort(), shards, 'one retrieval.failing per shard');
        for (const f of failing) t.diagnostic(`${f.event.shardId}: retrieval.failing ${secs(f.t - cutAt)} after the cut (${awsErrorKind(f.event.error)}): ${f.event.error.message}`);
        assert.ok(failing.every((f) => awsErrorKind(f.event.error) === 'timeout'), 'a silent Kinesis is a timeout');

        const healedAt = now();
        await proxy.heal({ halfOpen: true });
        await waitFor('retrieval.recovered for both shards', () => new Set(events.of('retrieval.recovered', healedAt).map((s) => s.event.shardId)).size === 2, 20_000);
        for (const shard of shards) {
          const recovered = events.of('retrieval.recovered', healedAt).find((s) => s.event.shardId === shard)!;
          const again = await waitFor(`a delivery of ${shard} after the heal`, () => log.deliveries('W', shard).find((l) => l.t > healedAt), 20_000);
          t.diagnostic(`${shard}: retrieval.recovered ${secs(recovered.t - healedAt)} after the heal, records again ${secs(again.t - healedAt)} after it`);
        }
        assert.equal(events.of('retrieval.failing', cutAt).length, 2, 'said once per shard per outage');

        const report = await finish();
        assertClean(report, t);
        assert.equal(events.of('lease.lost').length, 0, 'DynamoDB was fine: the leases were kept');
        assert.equal(report.sessions, 2, 'one processor session per shard: it resumed where it was');
        assert.equal(report.duplicates, 0, 'nothing delivered twice');
      } finally {
        await close();
      }
    });

    test('what an operator sees: the JSON log says renewals fail (naming the leases), that processing stopped, and that it recovered; no raw SDK console lines', { timeout: 60_000 }, async (t) => {
      const e = env!;
      const stream = await createTestStream(e, 'nf-oplog', 2);
      const proxy = await FaultProxy.start(e.dynamodbEndpoint);
      const producer = startProducer(e, stream);
      const p = FaultWorker.start(e, 'op', stream, { dynamodb: proxy.endpoint }, 5_000);
      try {
        await waitFor('the process processes both shards', () => p.processing().length === 2, 30_000, 50);
        const held = p.processing().sort();
        const cutAt = Date.now();
        proxy.blackhole();
        const failing = await waitFor('the renewals-failing warning', () => p.logLines(/lease renewals are failing/)[0], FAILOVER * 2);
        assert.equal(failing.level, 40, 'a warning');
        const named = [...(failing.leaseKeys as string[])].sort();
        // One warning per renewal round that dropped leases: together they name every lease held.
        const stoppedFor = () => [...new Set(p.logLines(/^stopped processing/).flatMap((o) => o.leaseKeys as string[]))].sort();
        await waitFor('stopped-processing warnings naming both leases', () => stoppedFor().length === held.length, FAILOVER * 2);
        const healedAt = Date.now();
        await proxy.heal({ halfOpen: true });
        const recovered = await waitFor('the recovery line', () => p.logLines(/the lease table answers again/)[0], FAILOVER * 3);
        await waitFor('processing again after the heal', () => p.processing().length === 2 && p.lines().some((l) => l.e === 'recs' && l.t > healedAt), FAILOVER * 5, 50);
        t.diagnostic(`processing again ${secs(Date.now() - healedAt)} after the half-open heal`);
        const partition = p.entries().filter((o) => (o.time as number) >= cutAt && (o.level as number) >= 40);
        const sdk = partition.filter((o) => o.component === 'aws-sdk');
        t.diagnostic(`warnings from the cut on (without the ${sdk.length} aws-sdk lines, levels ${[...new Set(sdk.map((o) => o.level))].join(',')}):\n${partition.filter((o) => o.component !== 'aws-sdk').map((o) => JSON.stringify(o)).join('\n')}`);
        assert.ok(recovered.level === 40 || recovered.level === 30);
        p.proc.child.kill('SIGTERM');
        assert.equal((await withTimeout(p.proc.exited, 10_000, 'exit')).code, 0);
        for (const line of p.stderr()) {
          assert.ok(!line.includes('@smithy/node-http-handler - ['), `no raw SDK console warning: ${line}`);
          assert.doesNotThrow(() => JSON.parse(line), `every stderr line is a JSON log line: ${line}`);
        }
        assert.deepEqual(named, held, 'the renewals-failing warning names every lease held');
        assert.deepEqual(stoppedFor(), held, 'the stopped-processing warnings name every lease held');
      } finally {
        await producer.stop().catch(() => 0);
        await terminate(p.proc.child, p.proc.exited, 10_000);
        await proxy.close();
      }
    });

    test('SIGTERM while every call hangs (DynamoDB and Kinesis black-holed): the worker process exits 0 within its shutdown timeout and names the leases it could not release', { timeout: 60_000 }, async (t) => {
      const e = env!;
      const stream = await createTestStream(e, 'nf-term', 2);
      const kinesisProxy = await FaultProxy.start(e.kinesisEndpoint);
      const dynamoProxy = await FaultProxy.start(e.dynamodbEndpoint);
      const producer = startProducer(e, stream);
      const shutdownTimeoutMillis = 3_000;
      const p = FaultWorker.start(e, 'term', stream, { kinesis: kinesisProxy.endpoint, dynamodb: dynamoProxy.endpoint }, shutdownTimeoutMillis);
      try {
        await waitFor('the process processes both shards', () => p.processing().length === 2 && p.lines().filter((l) => l.e === 'recs').length > 4, 30_000, 50);
        const held = p.processing().sort();
        kinesisProxy.blackhole();
        dynamoProxy.blackhole();
        // Calls are in flight on the silenced connections (GetRecords every 200 ms): SIGTERM now.
        const termAt = performance.now();
        const termWallAt = Date.now();
        p.proc.child.kill('SIGTERM');
        const exit = await withTimeout(p.proc.exited, shutdownTimeoutMillis + 10_000, 'exit after SIGTERM');
        const tookMillis = performance.now() - termAt;
        t.diagnostic(`SIGTERM to exit with every call hanging: ${tookMillis.toFixed(0)} ms (shutdownTimeoutMillis ${shutdownTimeoutMillis})`);
        assert.equal(exit.code, 0, p.stderr().join('\n'));
        assert.ok(tookMillis <= shutdownTimeoutMillis + 1_000, `exited ${tookMillis.toFixed(0)} ms after SIGTERM, bound ${shutdownTimeoutMillis} ms`);
        // Whatever the wording: warnings after SIGTERM about releasing, naming leases (leaseKey or leaseKeys).
        const unreleased = p
          .logLines(/releas/i)
          .filter((o) => (o.time as number) >= termWallAt && (o.level as number) >= 40)
          .flatMap((o) => [...(typeof o.leaseKey === 'string' ? [o.leaseKey] : []), ...(Array.isArray(o.leaseKeys) ? (o.leaseKeys as string[]) : [])]);
        t.diagnostic(`what it said after SIGTERM:\n${p.entries().filter((o) => (o.time as number) >= termWallAt && o.component !== 'aws-sdk').map((o) => JSON.stringify(o)).join('\n')}`);
        assert.deepEqual([...new Set(unreleased)].sort(), held, 'the log names every lease it could not release');
      } finally {
        await producer.stop().catch(() => 0);
        await terminate(p.proc.child, p.proc.exited, 5_000);
        await kinesisProxy.close();
        await dynamoProxy.close();
      }
    });

    test('kcl multilang cut off from DynamoDB: a child\'s checkpoint is answered with KinesisClientLibDependencyException within the lease write deadline; then, with Kinesis cut off too, SIGTERM ends the daemon within shutdownGraceMillis and no child is left', { timeout: 60_000 }, async (t) => {
      const e = env!;
      const stream = await createTestStream(e, 'nf-ml', 2);
      const kinesisProxy = await FaultProxy.start(e.kinesisEndpoint);
      const dynamoProxy = await FaultProxy.start(e.dynamodbEndpoint);
      const producer = startProducer(e, stream, 20);
      const failover = 6_000;
      const writeDeadline = Math.floor(failover / 3) - 25;
      const grace = 4_000;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kcl-nf-ml-'));
      const log = path.join(dir, 'events.jsonl');
      fs.writeFileSync(log, '');
      const props = path.join(dir, 'app.properties');
      fs.writeFileSync(
        props,
        [
          `executableName = ${process.execPath} ${fixture('aws_kcl_processor.cjs')}`,
          `streamName = ${stream}`,
          `applicationName = ${uniqueName('app')}`,
          'initialPositionInStream = TRIM_HORIZON',
          'idleTimeBetweenReadsInMillis = 200',
          `failoverTimeMillis = ${failover}`,
          `shutdownGraceMillis = ${grace}`,
          `kinesisEndpoint = ${kinesisProxy.endpoint}`,
          `dynamoDBEndpoint = ${dynamoProxy.endpoint}`,
          '',
        ].join('\n'),
      );
      const daemon = spawn(process.execPath, [mainJs, 'multilang', '--properties-file', props], {
        env: { ...cliEnv(), KCL_TEST_LOG: log, KCL_FIXTURE_MODE: 'normal' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      killOnProcessExit(daemon);
      let stderr = '';
      daemon.stderr!.setEncoding('utf8');
      daemon.stderr!.on('data', (c: string) => (stderr += c));
      const exited = exitOf(daemon);
      const events = () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ChildEvent);
      try {
        await waitFor('both children checkpointing records', () => new Set(events().filter((x) => x.event === 'checkpoint_ok').map((x) => x.shard)).size === 2, 60_000, 100);
        const cutAt = Date.now();
        dynamoProxy.blackhole();
        const isAnswer = (x: ChildEvent) => x.event === 'checkpoint_error' && (x.t ?? 0) >= cutAt;
        await waitFor('a checkpoint error', () => events().some(isAnswer), failover, 50);
        const all = events();
        const at = all.findIndex(isAnswer);
        const answered = all[at]!;
        assert.match(answered.error ?? '', /KinesisClientLibDependencyException/);
        // The child sent its request right after it logged the batch's records.
        const asked = all.slice(0, at).filter((x) => x.pid === answered.pid && x.event === 'record').at(-1)!;
        const answerMillis = answered.t! - asked.t!;
        t.diagnostic(`checkpoint answered in ${answerMillis} ms with ${answered.error} (lease write deadline ${writeDeadline} ms, failover ${failover} ms)`);
        assert.ok(answerMillis <= failover, `answered within the failover time, not an endless wait (${answerMillis} ms)`);
        const children = [...new Set(events().map((x) => x.pid))];

        kinesisProxy.blackhole();
        const termAt = performance.now();
        daemon.kill('SIGTERM');
        const exit = await withTimeout(exited, grace + 10_000, 'daemon exit after SIGTERM');
        const tookMillis = performance.now() - termAt;
        t.diagnostic(`daemon: SIGTERM to exit with every call hanging: ${tookMillis.toFixed(0)} ms (shutdownGraceMillis ${grace})`);
        assert.equal(exit.signal, null, stderr);
        assert.ok(tookMillis <= grace + 1_000, `exited ${tookMillis.toFixed(0)} ms after SIGTERM, bound ${grace} ms`);
        for (const pid of children) await waitFor(`child ${pid} gone`, () => !isAlive(pid), 2_000);
      } finally {
        await producer.stop().catch(() => 0);
        await terminate(daemon, exited, 5_000);
        await kinesisProxy.close();
        await dynamoProxy.close();
      }
    });
  });
});
