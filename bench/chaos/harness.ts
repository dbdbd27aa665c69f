/**
 * The chaos run: real worker processes (bench/chaos/worker.ts), all polling or all reading by enhanced fan-out,
 * on one stream, a producer writing numbered records, and a seeded fault schedule of SIGKILL, SIGSTOP/SIGCONT,
 * SIGTERM and new workers — plus a split and a merge in the middle when resharding is on, and network partitions
 * when `partitionsPerMinute` is set: each worker then reaches DynamoDB and Kinesis through its own pair of fault
 * proxies (fault-proxy.ts), which black-hole, reset, delay or refuse its traffic for a while (a fan-out
 * subscription is one long answer on one connection, so it is cut, silenced or delayed like any call). Phases:
 *   1. one worker takes every shard;  2. the others join (time to balance);  3. a calm window (steady-state
 *   lease-table cost);  4. faults for `durationSeconds`;  5. everyone resumes, every partition heals, the
 *   producer stops, and the run waits until every produced record was delivered (or a drain timeout) and every
 *   partitioned worker showed it works again (or its bound passed);  6. SIGTERM to all, then analysis.
 * Owns every child process, proxy and timer it starts; nothing outlives runChaos.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeStreamSummaryCommand, MergeShardsCommand, SplitShardCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../../src/aws/clients.js';
import { killOnProcessExit, terminate, whenExited, type ChildExit } from '../../src/common/child-process.js';
import { systemClock } from '../../src/common/clock.js';
import { listShards, type ShardInfo } from '../../src/shards/shard-sync.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { ensureStream } from '../../src/local/streams.js';
import { produceRecords } from '../../src/local/producer.js';
import type { RetrievalMode } from '../../src/config/fields.js';
import { analyzeChaos, formatChaosReport, judgeRecoveries, KILLED_AFTER_GRACE, recoveryBoundMillis, type ChaosInput, type ChaosReport } from './analysis.js';
import { FaultProxy } from './fault-proxy.js';
import { LogTail, NET_FAULT_KINDS, readLines, shardOwners, type ChaosLine, type Fault, type NetFaultKind, type Service } from './log.js';
import type { WorkerProcessOptions } from './worker.js';

export interface ChaosOptions {
  workers: number;
  shards: number;
  durationSeconds: number;
  faultsPerMinute: number;
  seed: number;
  failoverTimeMillis: number;
  checkpointIntervalMillis: number;
  recordsPerSecond: number;
  calmSeconds: number;
  reshard: boolean;
  /** Pack this many user records into each KPL aggregate (1 = plain records). */
  aggregate?: number;
  /** Network partitions per minute on average, next to the process faults; 0 or absent: none, and no proxies. */
  partitionsPerMinute?: number;
  /** Which partitions to draw from (default: every kind). */
  partitionKinds?: readonly NetFaultKind[];
  /** Every worker's shutdown timeout, which a SIGTERMed worker must exit within. Default 10 s. */
  shutdownGraceMillis?: number;
  /** How every worker reads its shards: POLLING (the default) or FANOUT (enhanced fan-out, SubscribeToShard). */
  retrievalMode?: RetrievalMode;
  /** Use running emulators (the test suite's); otherwise a local stack is started and stopped. */
  kinesisEndpoint?: string;
  dynamodbEndpoint?: string;
  /** Where the worker logs go; a fresh temporary directory when absent. */
  dir?: string;
  print: (line: string) => void;
}

export interface ChaosResult {
  report: ChaosReport;
  summary: string[];
  passed: boolean;
  dir: string;
}

const WORKER_JS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js');

/** Mulberry32: a small seeded generator, so a run's fault schedule can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A worker process of the chaos run; also used by the multi-process integration tests. */
export interface WorkerProcess {
  id: string;
  logFile: string;
  child: ChildProcess;
  exited: Promise<ChildExit>;
  paused: boolean;
  tail: LogTail;
}

export type WorkerProcessSettings = Omit<WorkerProcessOptions, 'workerId' | 'logFile'>;

/** Starts bench/chaos/worker.js as `id`, logging to `<dir>/<id>.jsonl` (stderr to `<id>.stderr.log`). */
export function startWorkerProcess(id: string, dir: string, settings: WorkerProcessSettings): WorkerProcess {
  const logFile = path.join(dir, `${id}.jsonl`);
  const options: WorkerProcessOptions = { ...settings, workerId: id, logFile };
  const stderr = fs.openSync(path.join(dir, `${id}.stderr.log`), 'a');
  const child = spawn(process.execPath, [WORKER_JS, JSON.stringify(options)], { stdio: ['ignore', 'ignore', stderr] });
  fs.closeSync(stderr);
  killOnProcessExit(child);
  return { id, logFile, child, exited: whenExited(child), paused: false, tail: new LogTail(logFile) };
}

const now = (): number => performance.timeOrigin + performance.now();
const DEFAULT_SHUTDOWN_GRACE_MILLIS = 10_000;
/** After this much more than its grace, a SIGTERMed worker that still runs is SIGKILLed (and fails the verdict). */
const KILL_AFTER_GRACE_MILLIS = 5_000;
/**
 * With fan-out the workers list shards this often. kinesis-local never sends the shard-end event, so a worker
 * ends a closed shard's subscription only once a shard listing shows the shard closed (retrieval/fanout.ts);
 * at the polling run's 60 s the split and merge parents would hold their children back for up to a minute.
 */
const FANOUT_SHARD_SYNC_MILLIS = 5_000;

interface WorkerProxies {
  dynamodb: FaultProxy;
  kinesis: FaultProxy;
}

interface ActivePartition {
  id: number;
  fault: NetFaultKind;
  services: Service[];
  workers: string[];
  timer: NodeJS.Timeout;
}

function applyFault(proxy: FaultProxy, fault: NetFaultKind, latencyMillis: number): void {
  if (fault === 'blackhole' || fault === 'half-open') proxy.blackhole();
  else if (fault === 'reset') proxy.reset({ untilHeal: true });
  else if (fault === 'latency') proxy.latency(latencyMillis);
  else proxy.refuse();
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitUntil(what: string, check: () => boolean, timeoutMillis: number, print: (l: string) => void): Promise<boolean> {
  const deadline = Date.now() + timeoutMillis;
  while (!check()) {
    if (Date.now() > deadline) {
      print(`  (gave up waiting for ${what} after ${(timeoutMillis / 1000).toFixed(0)} s)`);
      return false;
    }
    await sleep(100);
  }
  return true;
}

/** The open shards, in hash-key order (adjacent shards are neighbours). */
async function openShards(kinesis: KinesisClient, stream: string): Promise<ShardInfo[]> {
  const shards = await listShards(kinesis, stream, systemClock);
  const start = (s: ShardInfo) => BigInt(s.hashKeyRange?.startingHashKey ?? '0');
  return shards.filter((s) => s.endingSequenceNumber === undefined).sort((a, b) => (start(a) < start(b) ? -1 : 1));
}

async function waitStreamActive(kinesis: KinesisClient, stream: string): Promise<void> {
  for (;;) {
    const out = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (out.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await sleep(100);
  }
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const print = opts.print;
  const random = seededRandom(opts.seed);
  // A generator of its own, so that turning partitions on or off leaves the process-fault draws as they were.
  const netRandom = seededRandom(opts.seed ^ 0x5bd1e995);
  const partitionsPerMinute = opts.partitionsPerMinute ?? 0;
  const grace = opts.shutdownGraceMillis ?? DEFAULT_SHUTDOWN_GRACE_MILLIS;
  const retrievalMode = opts.retrievalMode ?? 'POLLING';
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), `kcl-chaos-${opts.seed}-`));
  fs.mkdirSync(dir, { recursive: true });
  let stack: LocalStack | undefined;
  if (!opts.kinesisEndpoint || !opts.dynamodbEndpoint) {
    print('starting the local stack (kinesis-local + dynalite on 127.0.0.1)…');
    stack = await startLocalStack();
  }
  const kinesisEndpoint = opts.kinesisEndpoint ?? stack!.kinesisEndpoint;
  const dynamodbEndpoint = opts.dynamodbEndpoint ?? stack!.dynamodbEndpoint;
  const kinesis = createKinesisClient({ kinesisEndpoint });
  const stream = `chaos-${opts.seed}-${Date.now().toString(36)}`;
  const app = `${stream}-app`;
  const procs: WorkerProcess[] = [];
  const faults: Fault[] = [];
  const lines: ChaosLine[] = [];
  const exits: { w: string; t: number }[] = [];
  const proxies = new Map<string, WorkerProxies>();
  const partitions = new Map<number, ActivePartition>();
  const terminating = new Set<string>();
  const graceTimers: NodeJS.Timeout[] = [];
  let partitionCount = 0;
  let finalStop: number | undefined;
  const producerStop = new AbortController();
  let workerCount = 0;
  const t0 = now();
  const at = () => `${((now() - t0) / 1000).toFixed(1).padStart(6)} s`;

  const collect = () => {
    for (const p of procs) lines.push(...p.tail.read());
  };
  const startWorker = async (): Promise<WorkerProcess> => {
    const id = `w${++workerCount}`;
    let endpoints = { kinesisEndpoint, dynamodbEndpoint };
    if (partitionsPerMinute > 0) {
      const pair = { dynamodb: await FaultProxy.start(dynamodbEndpoint), kinesis: await FaultProxy.start(kinesisEndpoint) };
      proxies.set(id, pair);
      endpoints = { kinesisEndpoint: pair.kinesis.endpoint, dynamodbEndpoint: pair.dynamodb.endpoint };
    }
    const proc = startWorkerProcess(id, dir, {
      applicationName: app,
      streamName: stream,
      ...endpoints,
      failoverTimeMillis: opts.failoverTimeMillis,
      checkpointIntervalMillis: opts.checkpointIntervalMillis,
      retrievalMode,
      idleTimeBetweenReadsInMillis: 250,
      shardSyncIntervalMillis: retrievalMode === 'FANOUT' ? FANOUT_SHARD_SYNC_MILLIS : 60_000,
      statsIntervalMillis: 1000,
      shutdownTimeoutMillis: grace,
    });
    procs.push(proc);
    faults.push({ kind: 'start', w: id, t: now() });
    void proc.exited.then(() => exits.push({ w: id, t: now() }));
    return proc;
  };
  const partitionLabel = (p: { workers: string[]; services: Service[] }) => `${p.workers.join('+')} ${p.services.join('+')}`;
  const heal = async (id: number): Promise<void> => {
    const p = partitions.get(id);
    if (!p) return;
    partitions.delete(id);
    clearTimeout(p.timer);
    for (const w of p.workers) {
      for (const service of p.services) await proxies.get(w)![service].heal({ halfOpen: p.fault === 'half-open' });
      faults.push({ kind: 'heal', w, t: now(), net: { id, fault: p.fault, services: p.services } });
    }
    print(`${at()}  heal ${partitionLabel(p)}${p.fault === 'half-open' ? ' (connections open during the blackhole stay silent)' : ''}`);
  };
  const partition = (candidates: WorkerProcess[]): void => {
    const kinds = opts.partitionKinds?.length ? opts.partitionKinds : NET_FAULT_KINDS;
    const fault = kinds[Math.floor(netRandom() * kinds.length)]!;
    const roll = netRandom();
    const services: Service[] = roll < 0.4 ? ['dynamodb'] : roll < 0.7 ? ['kinesis'] : ['dynamodb', 'kinesis'];
    // Mostly one worker; sometimes several at once, up to half the fleet.
    const several = candidates.length >= 2 && netRandom() < 0.3;
    const count = several ? 2 + Math.floor(netRandom() * Math.max(1, Math.ceil(candidates.length / 2) - 1)) : 1;
    const pool = [...candidates];
    const victims: string[] = [];
    while (victims.length < Math.min(count, candidates.length)) victims.push(pool.splice(Math.floor(netRandom() * pool.length), 1)[0]!.id);
    // From a few seconds up to a few failover periods.
    const millis = Math.round(2000 + netRandom() * (3 * opts.failoverTimeMillis - 2000));
    const latencyMillis = Math.round(2000 + netRandom() * 6000);
    const id = ++partitionCount;
    for (const w of victims) {
      for (const service of services) applyFault(proxies.get(w)![service], fault, latencyMillis);
      faults.push({ kind: 'partition', w, t: now(), detail: `${millis} ms`, net: { id, fault, services } });
    }
    const what =
      fault === 'blackhole' || fault === 'half-open'
        ? `blackhole for ${(millis / 1000).toFixed(1)} s${fault === 'half-open' ? ' (half-open after)' : ''}`
        : fault === 'latency'
          ? `latency ${(latencyMillis / 1000).toFixed(1)} s for ${(millis / 1000).toFixed(1)} s`
          : `${fault} connections for ${(millis / 1000).toFixed(1)} s`;
    const held = victims.map((w) => activeShards(w).length).join('+');
    print(`${at()}  partition ${partitionLabel({ workers: victims, services })}: ${what} (processing ${held} shards)`);
    partitions.set(id, { id, fault, services, workers: victims, timer: setTimeout(() => void heal(id), millis) });
  };
  const live = () => procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  const activeShards = (w?: string) => [...shardOwners(lines, faults).entries()].filter(([, o]) => w === undefined || o === w).map(([shard]) => shard);

  let produced = 0;
  let producer: Promise<unknown> = Promise.resolve();
  const resume: NodeJS.Timeout[] = [];
  let scaleOut: ChaosInput['scaleOut'];
  let calm: ChaosInput['calm'];
  try {
    await ensureStream(kinesis, stream, opts.shards);
    print(`${at()}  stream ${stream} (${opts.shards} shards); logs in ${dir}`);
    const runId = 'r';
    producer = produceRecords(kinesis, {
      stream,
      count: Infinity,
      ratePerSecond: opts.recordsPerSecond,
      partitionKeys: 64,
      signal: producerStop.signal,
      runId,
      aggregate: opts.aggregate,
      onProgress: (n) => {
        produced = n;
      },
    });

    // 1. One worker takes every shard.
    const first = await startWorker();
    await waitUntil('the first worker to take every shard', () => (collect(), activeShards(first.id).length === opts.shards), 60_000, print);
    print(`${at()}  ${first.id} processes all ${opts.shards} shards`);

    // 2. Scale out.
    const scaleOutAt = now();
    for (let i = 1; i < opts.workers; i++) await startWorker();
    const scaleOutWorkers = live().map((p) => p.id);
    scaleOut = { t: scaleOutAt, workers: scaleOutWorkers, shards: opts.shards };
    const balanced = () => {
      collect();
      const counts = scaleOutWorkers.map((w) => activeShards(w).length);
      return activeShards().length === opts.shards && Math.max(...counts) - Math.min(...counts) <= 1;
    };
    await waitUntil('balance after scale-out', balanced, 90_000, print);
    print(`${at()}  ${opts.workers} workers balanced after ${((now() - scaleOutAt) / 1000).toFixed(1)} s`);

    // 3. Calm window: steady-state cost (starting after the next call-count lines, so no move is counted).
    await sleep(2000);
    const calmFrom = now();
    await sleep(opts.calmSeconds * 1000);
    const calmTo = now();
    calm = { from: calmFrom, to: calmTo, shards: opts.shards, workers: opts.workers };
    print(`${at()}  calm window of ${opts.calmSeconds} s measured`);

    // 4. Faults.
    const chaosEnd = now() + opts.durationSeconds * 1000;
    const reshardAt = opts.reshard ? [now() + (opts.durationSeconds * 1000) / 3, now() + (opts.durationSeconds * 2000) / 3] : [];
    let splitChildren: string[] = [];
    const meanGap = 60_000 / opts.faultsPerMinute;
    let nextFault = now() + meanGap * (0.5 + random());
    const meanPartitionGap = partitionsPerMinute > 0 ? 60_000 / partitionsPerMinute : Infinity;
    let nextPartition = now() + meanPartitionGap * (0.5 + netRandom());
    while (now() < chaosEnd) {
      await sleep(Math.max(0, Math.min(nextFault, nextPartition, reshardAt[0] ?? Infinity, chaosEnd) - now()));
      collect();
      if (now() >= nextPartition && now() < chaosEnd) {
        nextPartition = now() + meanPartitionGap * (0.5 + netRandom());
        const partitioned = new Set([...partitions.values()].flatMap((p) => p.workers));
        const candidates = live().filter((p) => !p.paused && !partitioned.has(p.id) && !terminating.has(p.id));
        if (candidates.length > 0) partition(candidates);
        continue;
      }
      if (reshardAt.length > 0 && now() >= reshardAt[0]!) {
        reshardAt.shift();
        const open = await openShards(kinesis, stream);
        if (splitChildren.length === 0) {
          const shard = open[Math.floor(random() * open.length)]!;
          const lo = BigInt(shard.hashKeyRange!.startingHashKey);
          const hi = BigInt(shard.hashKeyRange!.endingHashKey);
          await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: shard.shardId, NewStartingHashKey: ((lo + hi) / 2n).toString() }));
          await waitStreamActive(kinesis, stream);
          const after = await openShards(kinesis, stream);
          splitChildren = after.filter((s) => s.parentShardIds.includes(shard.shardId)).map((s) => s.shardId);
          faults.push({ kind: 'split', t: now(), detail: `${shard.shardId} → ${splitChildren.join(' + ')}` });
          print(`${at()}  split ${shard.shardId} → ${splitChildren.join(' + ')}`);
        } else {
          // Merge the two children of the split: they are adjacent, and the merge child then has two parents
          // that are themselves children, so order is checked across three generations.
          const [a, b] = open.filter((s) => splitChildren.includes(s.shardId));
          if (a && b) {
            await kinesis.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: a.shardId, AdjacentShardToMerge: b.shardId }));
            await waitStreamActive(kinesis, stream);
            faults.push({ kind: 'merge', t: now(), detail: `${a.shardId} + ${b.shardId}` });
            print(`${at()}  merged ${a.shardId} + ${b.shardId}`);
          }
        }
        continue;
      }
      if (now() < nextFault) continue;
      nextFault = now() + meanGap * (0.5 + random());
      const alive = live();
      // A worker shutting down after a SIGTERM is left alone: its time to exit is judged.
      const running = alive.filter((p) => !p.paused && !terminating.has(p.id));
      const choices: Fault['kind'][] = [];
      if (alive.length < opts.workers + 2) choices.push('start');
      if (alive.length > 2 && running.length > 1) choices.push('kill', 'kill', 'term', 'term');
      if (running.length > 1) choices.push('stop', 'stop');
      if (alive.length < opts.workers - 1) choices.splice(0, choices.length, 'start');
      const kind = choices[Math.floor(random() * choices.length)] ?? 'start';
      if (kind === 'start') {
        const p = await startWorker();
        print(`${at()}  start ${p.id}`);
        continue;
      }
      const victim = running[Math.floor(random() * running.length)]!;
      const held = activeShards(victim.id).length;
      if (kind === 'kill') {
        victim.child.kill('SIGKILL');
        faults.push({ kind: 'kill', w: victim.id, t: now() });
        print(`${at()}  SIGKILL ${victim.id} (processing ${held} shards)`);
      } else if (kind === 'term') {
        victim.child.kill('SIGTERM');
        terminating.add(victim.id);
        faults.push({ kind: 'term', w: victim.id, t: now() });
        print(`${at()}  SIGTERM ${victim.id} (processing ${held} shards)`);
        graceTimers.push(
          setTimeout(() => {
            if (victim.child.exitCode !== null || victim.child.signalCode !== null) return;
            victim.child.kill('SIGKILL');
            faults.push({ kind: 'kill', w: victim.id, t: now(), detail: KILLED_AFTER_GRACE });
            print(`${at()}  SIGKILL ${victim.id}: still running ${((grace + KILL_AFTER_GRACE_MILLIS) / 1000).toFixed(1)} s after SIGTERM`);
          }, grace + KILL_AFTER_GRACE_MILLIS),
        );
      } else {
        // Pauses both shorter and longer than the failover time: short ones must not move leases, long ones must.
        const pauseMillis = Math.round(opts.failoverTimeMillis * (0.3 + 1.7 * random()));
        victim.child.kill('SIGSTOP');
        victim.paused = true;
        faults.push({ kind: 'stop', w: victim.id, t: now(), detail: `${pauseMillis} ms` });
        print(`${at()}  SIGSTOP ${victim.id} for ${(pauseMillis / 1000).toFixed(1)} s (processing ${held} shards)`);
        resume.push(
          setTimeout(() => {
            if (!victim.paused) return;
            victim.paused = false;
            victim.child.kill('SIGCONT');
            faults.push({ kind: 'cont', w: victim.id, t: now() });
            print(`${at()}  SIGCONT ${victim.id}`);
          }, pauseMillis),
        );
      }
    }

    // 5. Everyone resumes and every partition heals; back to the planned number of workers; stop producing; drain.
    for (const t of resume) clearTimeout(t);
    for (const p of live().filter((x) => x.paused)) {
      p.paused = false;
      p.child.kill('SIGCONT');
      faults.push({ kind: 'cont', w: p.id, t: now() });
    }
    for (const id of [...partitions.keys()]) await heal(id);
    while (live().filter((p) => !terminating.has(p.id)).length < opts.workers) await startWorker();
    producerStop.abort();
    await producer;
    print(`${at()}  faults over; producer stopped after ${produced} records; draining`);
    const delivered = new Set<number>();
    let counted = 0;
    const drained = () => {
      collect();
      for (let i = counted; i < lines.length; i++) {
        const l = lines[i]!;
        if (l.e === 'recs') for (const r of l.r) delivered.add(r[0]);
      }
      counted = lines.length;
      return delivered.size >= produced;
    };
    drained();
    await waitUntil('every record delivered', drained, opts.failoverTimeMillis * 3 + 60_000, print);
    print(`${at()}  ${delivered.size} of ${produced} records delivered`);
    if (faults.some((f) => f.kind === 'heal')) {
      // A worker healed at the end must get its chance to show it works again before everyone is stopped.
      const judged = () => (collect(), !judgeRecoveries(lines, faults, opts.failoverTimeMillis, now(), exits, retrievalMode).some((r) => r.status === 'pending'));
      await waitUntil('every partitioned worker to process again', judged, recoveryBoundMillis(opts.failoverTimeMillis, retrievalMode) + 60_000, print);
    }
    print(`${at()}  stopping the workers`);
  } finally {
    producerStop.abort();
    await producer.catch(() => undefined);
    for (const t of [...resume, ...graceTimers]) clearTimeout(t);
    for (const p of partitions.values()) clearTimeout(p.timer);
    for (const p of procs) if (p.paused) p.child.kill('SIGCONT');
    finalStop = now();
    const wasRunning = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    const stopped = await Promise.all(wasRunning.map((p) => terminate(p.child, p.exited, grace + KILL_AFTER_GRACE_MILLIS)));
    const killed = exits.filter((e) => e.t - finalStop! > grace + KILL_AFTER_GRACE_MILLIS && wasRunning.some((p) => p.id === e.w)).map((e) => e.w);
    if (killed.length > 0) print(`${at()}  SIGKILL ${killed.join(', ')}: still running ${((grace + KILL_AFTER_GRACE_MILLIS) / 1000).toFixed(1)} s after SIGTERM`);
    const survivors = wasRunning.filter((_, i) => !stopped[i]).map((p) => p.id);
    if (survivors.length > 0) print(`  (still running after SIGKILL: ${survivors.join(', ')})`);
    for (const pair of proxies.values()) await Promise.all([pair.dynamodb.close(), pair.kinesis.close()]);
    kinesis.destroy();
    await stack?.stop();
  }

  // What the analysis reads besides the worker logs, so that a run can be looked into (and re-judged) afterwards.
  fs.writeFileSync(path.join(dir, 'harness.json'), JSON.stringify({ t0, faults, exits, finalStop, shutdownGraceMillis: grace, failoverMillis: opts.failoverTimeMillis, retrievalMode, produced }));
  const all = procs.flatMap((p) => readLines(p.logFile));
  const report = analyzeChaos({
    produced,
    lines: all,
    faults,
    failoverMillis: opts.failoverTimeMillis,
    scaleOut,
    calm,
    run: { from: t0, to: now(), shards: opts.shards },
    exits,
    finalStop,
    shutdownGraceMillis: grace,
    retrievalMode,
  });
  const { lines: summary, passed } = formatChaosReport(report, opts.failoverTimeMillis, t0);
  return { report, summary, passed, dir };
}
