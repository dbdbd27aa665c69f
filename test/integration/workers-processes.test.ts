/**
 * Workers as separate OS processes (bench/chaos/worker.js, the real Worker with a processor that logs every
 * delivery) sharing one stream through the lease table only: takeover after SIGKILL, graceful hand-off when a
 * worker joins and when one is stopped with SIGTERM, and no double processing after a SIGSTOP longer than the
 * failover time. Every verdict comes from the processes' own delivery logs, judged by the chaos analysis.
 */
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { terminate } from '../../src/common/child-process.js';
import { produceRecords } from '../../src/local/producer.js';
import { startWorkerProcess, type WorkerProcess } from '../../bench/chaos/harness.js';
import { analyzeChaos, type ChaosReport } from '../../bench/chaos/analysis.js';
import { readLines, shardOwners, type Fault } from '../../bench/chaos/log.js';
import { createTestStream, SKIP_REASON, testEnv, uniqueName, waitFor, type TestEnv } from '../helpers/env.js';

const env = testEnv();
after(() => env?.close());

const FAILOVER = 3000;
const now = (): number => performance.timeOrigin + performance.now();

/** A stream, a producer running until stop(), and worker processes; everything is stopped by close(). */
class Fleet {
  readonly procs: WorkerProcess[] = [];
  readonly faults: Fault[] = [];
  private readonly producing = new AbortController();
  private producer: Promise<{ written: number }> | undefined;
  private constructor(
    private readonly e: TestEnv,
    readonly stream: string,
    readonly app: string,
    readonly dir: string,
  ) {}

  static async create(e: TestEnv, prefix: string, shards: number): Promise<Fleet> {
    const stream = await createTestStream(e, prefix, shards);
    return new Fleet(e, stream, uniqueName('app'), fs.mkdtempSync(path.join(os.tmpdir(), `kcl-${prefix}-`)));
  }

  start(id: string): WorkerProcess {
    const p = startWorkerProcess(id, this.dir, {
      applicationName: this.app,
      streamName: this.stream,
      kinesisEndpoint: this.e.kinesisEndpoint,
      dynamodbEndpoint: this.e.dynamodbEndpoint,
      failoverTimeMillis: FAILOVER,
      checkpointIntervalMillis: 500,
      idleTimeBetweenReadsInMillis: 200,
      shardSyncIntervalMillis: 60_000,
      statsIntervalMillis: 1000,
    });
    this.procs.push(p);
    this.faults.push({ kind: 'start', w: id, t: now() });
    return p;
  }

  signal(p: WorkerProcess, kind: 'kill' | 'stop' | 'cont' | 'term'): void {
    const sig = { kill: 'SIGKILL', stop: 'SIGSTOP', cont: 'SIGCONT', term: 'SIGTERM' } as const;
    p.child.kill(sig[kind]);
    p.paused = kind === 'stop';
    this.faults.push({ kind, w: p.id, t: now() });
  }

  produce(): void {
    this.producer = produceRecords(this.e.kinesis, { stream: this.stream, count: Infinity, ratePerSecond: 100, partitionKeys: 32, signal: this.producing.signal, runId: 'r' });
  }

  /** Records flowing; worker a takes all 4 shards, then b joins and they settle at 2 and 2. Returns b. */
  async aThenB(): Promise<WorkerProcess> {
    this.produce();
    this.start('a');
    await waitFor('a processes all 4 shards', () => this.held('a') === 4, 30_000, 100);
    const b = this.start('b');
    await waitFor('2 and 2', () => this.held('a') === 2 && this.held('b') === 2, 30_000, 100);
    return b;
  }

  lines() {
    return this.procs.flatMap((p) => readLines(p.logFile));
  }

  /** Shards each worker is processing now. */
  held(id: string): number {
    return [...shardOwners(this.lines(), this.faults).values()].filter((w) => w === id).length;
  }

  /** Stops the producer and waits until every record written was delivered; then judges the run. */
  async finish(): Promise<ChaosReport> {
    this.producing.abort();
    const { written } = (await this.producer) ?? { written: 0 };
    await waitFor(`all ${written} records delivered`, () => new Set(this.lines().flatMap((l) => (l.e === 'recs' ? l.r.map((r) => r[0]) : []))).size >= written, 30_000, 200);
    return analyzeChaos({ produced: written, lines: this.lines(), faults: this.faults, failoverMillis: FAILOVER, run: { from: 0, to: now(), shards: 4 } });
  }

  async close(): Promise<void> {
    this.producing.abort();
    await this.producer?.catch(() => undefined);
    for (const p of this.procs) if (p.paused) p.child.kill('SIGCONT');
    await Promise.all(this.procs.map((p) => terminate(p.child, p.exited, 15_000)));
  }
}

function assertClean(r: ChaosReport, t: TestContext): void {
  t.diagnostic(`produced ${r.produced}, deliveries ${r.deliveries}, duplicates ${r.duplicates} (${r.duplicatesExplained} after a crash or pause)`);
  assert.equal(r.lost, 0, `lost: ${r.lostSample.join(', ')}`);
  assert.equal(r.duplicatesUnexplained, 0, r.unexplainedSample.join('; '));
  assert.equal(r.sessionOrderViolations, 0);
  assert.equal(r.keyOrderViolations, 0, r.keyOrderSample.join('; '));
  assert.equal(r.overlaps.count, 0, r.overlaps.sample.join('; '));
}

describe('worker processes sharing a stream', { skip: env ? false : SKIP_REASON, concurrency: false }, () => {
  test('a joining worker gets its share by graceful hand-off, and a SIGTERMed one hands everything back: no record twice', { timeout: 90_000 }, async (t) => {
    const fleet = await Fleet.create(env!, 'procs-handoff', 4);
    try {
      const b = await fleet.aThenB();
      fleet.signal(b, 'term');
      const exit = await b.exited;
      assert.equal(exit.code, 0, 'b exits cleanly after its graceful shutdown');
      await waitFor('a processes all 4 again', () => fleet.held('a') === 4, 30_000, 100);
      const report = await fleet.finish();
      assertClean(report, t);
      assert.equal(report.duplicates, 0, 'planned moves (hand-off to b, release by b) deliver nothing twice');
      assert.equal(report.startedBeforeHandoff, 0, 'the new owner started only after the old one finished shutdownRequested');
      const ends = fleet.lines().filter((l) => l.e === 'end');
      assert.ok(ends.filter((l) => l.w === 'a').length >= 2 && ends.filter((l) => l.w === 'a').every((l) => l.reason === 'shutdownRequested'), 'a handed 2 shards over after shutdownRequested');
      assert.ok(ends.filter((l) => l.w === 'b').length === 2 && ends.filter((l) => l.w === 'b').every((l) => l.reason === 'shutdownRequested'), 'b checkpointed both on SIGTERM');
      t.diagnostic(`pickup after SIGTERM: ${JSON.stringify(report.failover.graceful.all)}`);
    } finally {
      await fleet.close();
    }
  });

  test('SIGKILL: the survivor takes the dead worker\'s shards after the failover time; only un-checkpointed records repeat', { timeout: 90_000 }, async (t) => {
    const fleet = await Fleet.create(env!, 'procs-kill', 4);
    try {
      const b = await fleet.aThenB();
      fleet.signal(b, 'kill');
      await waitFor('a processes all 4 again', () => fleet.held('a') === 4, FAILOVER * 5, 100);
      const report = await fleet.finish();
      assertClean(report, t);
      assert.equal(report.failover.crash.all.count, 2, 'both of b\'s shards moved to a');
      t.diagnostic(`failover after SIGKILL (failover ${FAILOVER} ms): ${JSON.stringify(report.failover.crash.all)}`);
    } finally {
      await fleet.close();
    }
  });

  test('SIGSTOP past the failover time: the other worker takes over, and the paused one delivers nothing more for those shards after SIGCONT', { timeout: 90_000 }, async (t) => {
    const fleet = await Fleet.create(env!, 'procs-pause', 4);
    try {
      const b = await fleet.aThenB();
      fleet.signal(b, 'stop');
      // a's own sessions on b's shards start only once b's leases expired by a's clock.
      await waitFor('a processes all 4 while b is paused', () => fleet.held('a') === 4, FAILOVER * 5, 100);
      const resumedAt = now();
      fleet.signal(b, 'cont');
      await waitFor('b is told it lost both leases', () => fleet.lines().filter((l) => l.e === 'end' && l.w === 'b' && l.reason === 'leaseLost').length >= 2, 20_000, 100);
      const report = await fleet.finish();
      assertClean(report, t);
      const pausedAt = fleet.faults.find((f) => f.kind === 'stop')!.t;
      const sessionsBeforePause = new Set(fleet.lines().flatMap((l) => (l.e === 'init' && l.w === 'b' && l.t < pausedAt ? [l.s] : [])));
      assert.equal(sessionsBeforePause.size, 2);
      const late = fleet.lines().filter((l) => l.e === 'recs' && sessionsBeforePause.has(l.s) && l.t > resumedAt);
      assert.equal(late.length, 0, 'after SIGCONT b handed no record of a shard it had lost to its processor');
    } finally {
      await fleet.close();
    }
  });
});
