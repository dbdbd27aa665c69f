/**
 * What an idle shard costs: one consumer holding N shards of an empty stream, measured in its own process
 * (bench/idle-cost-child.ts) over a window once it has taken them all and reads every one of them. Emulators run
 * in other processes (bench/emulator-process.ts; kinesis-local's dynalite in this one), so the CPU figure is the
 * consumer's alone.
 *
 *   npm run bench:idle -- [--shards 8,64,256,1024] [--seconds 30] [--retrieval polling|fanout]
 *                         [--source kinesalite|kinesis-local] [--repeat 1] [--no-bare] [--json] [--profile DIR]
 *                         [--base DIR] [--failover 10000] [--idle 1500] [--max-idle MS] [--warmup 0] [--series]
 *
 * For each shard count it runs the kcl-ts Worker and, unless --no-bare, a bare SDK v3 loop making the same calls
 * (GetRecords per shard every idle interval, one UpdateItem per lease every renewal period; polling only), in
 * interleaved order, `--repeat` times, and reports medians. `--base DIR` adds the worker of another build (DIR is
 * its compiled tree, e.g. an older commit's `dist`, holding bench/idle-cost-child.js) as consumer "worker-base",
 * for before/after figures from one run. Memory per held shard is the slope between the run
 * with 1 shard (always made, as the baseline) and the run with N.
 *
 * The window starts `--warmup` seconds (default 0) after the consumer holds and reads all its shards and has
 * settled (its first renewals and scans). A worker that has just started is not yet at its idle cost: V8 goes on
 * compiling the SDK's and our call paths for minutes, since at a few calls a second they become hot slowly, so
 * the first minute after start costs more than the hours after it (docs/performance.md, 'Idle shards'). A warm-up
 * of 180 s or more measures the steady state; the default measures the start. `--series` prints the CPU and calls of
 * every 30 s of warm-up and window, to show the curve.
 *
 * --json prints one line per (consumer, shard count), fields:
 *   bench "idle", consumer "worker"|"bare-sdk"|"worker-base", retrieval, source, shards (asked), held (leases held / shards
 *   polled at the end), seconds (window), warmupSeconds, repeat, cpuPercent (of one core, median; cpuPercentMin/Max),
 *   cpuMicrosPerCall (median), callsPerSecond {kinesis, dynamodb, total}, batchesPerSecond (batches handed to the
 *   consumers: one per GetRecords, or per fan-out event), callsPerShardMinute {"<service>
 *   <Operation>[ <purpose>]": n}, rssBytes, heapUsedBytes (after a full GC, median), rssPerShardBytes,
 *   heapPerShardBytes (slope against the 1-shard run; null for the 1-shard run), node, cpus.
 * Without --json it prints a table. It asserts nothing.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DeleteStreamCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../src/aws/clients.js';
import { startLocalStack } from '../src/local/stack.js';
import { ensureStream } from '../src/local/streams.js';
import { killOnProcessExit, terminate, whenExited } from '../src/common/child-process.js';
import { startEmulator } from './emulator-process.js';
import type { IdleChildMessage, IdleChildOptions, IdleChildRequest, IdleSnapshot } from './idle-cost-child.js';

const { values } = parseArgs({
  options: {
    shards: { type: 'string', default: '8,64' },
    seconds: { type: 'string', default: '30' },
    retrieval: { type: 'string', default: 'polling' },
    source: { type: 'string' },
    repeat: { type: 'string', default: '1' },
    'no-bare': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    profile: { type: 'string' },
    failover: { type: 'string', default: '10000' },
    idle: { type: 'string', default: '1500' },
    base: { type: 'string' },
    'max-idle': { type: 'string' },
    warmup: { type: 'string', default: '0' },
    series: { type: 'boolean', default: false },
  },
});
const RETRIEVAL = values.retrieval === 'fanout' ? 'fanout' : 'polling';
const SOURCE = values.source ?? (RETRIEVAL === 'fanout' ? 'kinesis-local' : 'kinesalite');
if (SOURCE !== 'kinesalite' && SOURCE !== 'kinesis-local') throw new Error(`--source: kinesalite or kinesis-local, not ${SOURCE}`);
if (RETRIEVAL === 'fanout' && SOURCE !== 'kinesis-local') throw new Error('--retrieval fanout needs --source kinesis-local (kinesalite has no fan-out)');
const SHARDS = [...new Set([1, ...values.shards.split(',').map(Number)])].filter((n) => Number.isInteger(n) && n > 0).sort((a, b) => a - b);
const WINDOW_MILLIS = Number(values.seconds) * 1000;
const WARMUP_MILLIS = Number(values.warmup) * 1000;
if (!(WARMUP_MILLIS >= 0)) throw new Error(`--warmup: seconds, 0 or more, not ${values.warmup}`);
const REPEAT = Math.max(1, Number(values.repeat));
const FAILOVER = Number(values.failover);
const IDLE = Number(values.idle);
type Consumer = 'worker' | 'bare' | 'worker-base';
const CONSUMERS: Consumer[] = ['worker', ...(RETRIEVAL === 'polling' && !values['no-bare'] ? (['bare'] as const) : []), ...(values.base ? (['worker-base'] as const) : [])];
const JSON_OUT = values.json;

const here = path.dirname(fileURLToPath(import.meta.url));
const say = (line: string) => (JSON_OUT ? process.stderr : process.stdout).write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Emulators {
  kinesisEndpoint: string;
  dynamoDBEndpoint: string;
  stop(): Promise<void>;
}

async function startEmulators(): Promise<Emulators> {
  if (SOURCE === 'kinesalite') {
    const [kinesalite, dynalite] = await Promise.all([startEmulator('kinesalite'), startEmulator('dynalite')]);
    return { kinesisEndpoint: kinesalite.endpoint, dynamoDBEndpoint: dynalite.endpoint, stop: async () => void (await Promise.all([kinesalite.stop(), dynalite.stop()])) };
  }
  const stack = await startLocalStack();
  return { kinesisEndpoint: stack.kinesisEndpoint, dynamoDBEndpoint: stack.dynamodbEndpoint, stop: () => stack.stop() };
}

/** One consumer process, driven over IPC. */
class Child {
  private readonly waiting: ((m: IdleChildMessage) => void)[] = [];
  private readonly exited: ReturnType<typeof whenExited>;
  private failure: string | undefined;

  constructor(private readonly process: ChildProcess) {
    killOnProcessExit(process);
    this.exited = whenExited(process);
    process.on('message', (m: IdleChildMessage) => {
      if (m.type === 'error') this.failure = m.message;
      this.waiting.shift()?.(m);
    });
    void this.exited.then((e) => {
      this.failure ??= `consumer process exited (code ${e.code}, signal ${e.signal})`;
      for (const w of this.waiting.splice(0)) w({ type: 'error', message: this.failure });
    });
  }

  static start(options: IdleChildOptions, dir = here): Child {
    const child = fork(path.join(dir, 'idle-cost-child.js'), [JSON.stringify(options)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    return new Child(child);
  }

  private next(): Promise<IdleChildMessage> {
    if (this.failure) return Promise.reject(new Error(this.failure));
    return new Promise((resolve) => this.waiting.push(resolve)).then((m) => {
      const message = m as IdleChildMessage;
      if (message.type === 'error') throw new Error(message.message);
      return message;
    });
  }

  ready(): Promise<IdleChildMessage> {
    return this.next();
  }

  async request(message: IdleChildRequest): Promise<IdleChildMessage> {
    const answer = this.next();
    if (!this.process.connected) throw new Error(this.failure ?? 'consumer process is gone');
    this.process.send(message, (err) => {
      if (err) this.failure ??= err.message;
    });
    return answer;
  }

  async snapshot(gc = false): Promise<IdleSnapshot> {
    return (await this.request({ type: 'snapshot', gc })) as IdleSnapshot;
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.request({ type: 'stop' }), sleep(20_000)]);
    } catch {
      // gone already
    }
    await terminate(this.process, this.exited, 5_000);
  }
}

interface RunResult {
  consumer: Consumer;
  shards: number;
  held: number;
  seconds: number;
  cpuPercent: number;
  calls: Record<string, number>;
  batches: number;
  rss: number;
  heapUsed: number;
}

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)] as const).filter(([, v]) => v > 0));

let runNumber = 0;

const SERIES_STEP_MILLIS = 30_000;

/** Lets `millis` pass; with --series, prints the consumer's CPU and calls over every 30 s of it (time counted from `settled`). */
async function pass(child: Child, consumer: Consumer, shards: number, settled: IdleSnapshot, millis: number, label: string): Promise<void> {
  if (!values.series) return sleep(millis);
  const end = Date.now() + millis;
  let previous = await child.snapshot();
  while (Date.now() < end) {
    await sleep(Math.min(SERIES_STEP_MILLIS, end - Date.now()));
    const now = await child.snapshot();
    const seconds = (now.at - previous.at) / 1000;
    say(`    ${consumer} ${shards} ${label} ${Math.round((previous.at - settled.at) / 1000)}–${Math.round((now.at - settled.at) / 1000)} s: ${(((now.cpuMicros - previous.cpuMicros) / 1e6 / seconds) * 100).toFixed(2)} % CPU, ${(Object.values(diff(now.calls, previous.calls)).reduce((a, b) => a + b, 0) / seconds).toFixed(1)} calls/s`);
    previous = now;
  }
}

async function measure(emulators: Emulators, consumer: Consumer, shards: number, stream: string): Promise<RunResult> {
  const id = `idle-${consumer}-${shards}-${Date.now().toString(36)}-${runNumber++}`;
  const child = Child.start({
    mode: consumer === 'bare' ? 'bare' : 'worker',
    retrieval: RETRIEVAL,
    streamName: stream,
    applicationName: id,
    kinesisEndpoint: emulators.kinesisEndpoint,
    dynamoDBEndpoint: emulators.dynamoDBEndpoint,
    idleTimeBetweenReadsMillis: IDLE,
    failoverTimeMillis: FAILOVER,
    maxIdleTimeBetweenReadsMillis: values['max-idle'] === undefined ? undefined : Number(values['max-idle']),
  }, consumer === 'worker-base' ? path.resolve(values.base!, 'bench') : here);
  try {
    await child.ready();
    const started = Date.now();
    for (;;) {
      const s = await child.snapshot();
      if (s.held >= shards && s.reading >= shards) break;
      // A worker that cannot keep up with its shards' calls takes its leases slowly: 1,024 polled shards saturate a core.
      const limit = Math.max(180_000, shards * 400);
      if (Date.now() - started > limit) throw new Error(`${consumer} ${shards}: holds ${s.held}, reads ${s.reading} after ${limit / 1000} s`);
      await sleep(250);
    }
    // Past the start: every consumer's first reads, the taker's follow-up scans and the first renewals.
    await sleep(Math.max(5_000, FAILOVER / 2));
    const settled = await child.snapshot();
    await pass(child, consumer, shards, settled, WARMUP_MILLIS, 'warm-up');
    const profile = values.profile && consumer !== 'bare' ? path.resolve(values.profile, `${RETRIEVAL}-${shards}-${consumer}-${id}.cpuprofile`) : undefined;
    if (profile) await child.request({ type: 'profile-start' });
    const before = await child.snapshot();
    await pass(child, consumer, shards, settled, WINDOW_MILLIS, 'window');
    const after = await child.snapshot(true);
    if (profile) {
      await child.request({ type: 'profile-stop', file: profile });
      say(`profile: ${profile}`);
    }
    const seconds = (after.at - before.at) / 1000;
    return {
      consumer,
      shards,
      held: after.held,
      seconds,
      cpuPercent: ((after.cpuMicros - before.cpuMicros) / 1e6 / seconds) * 100,
      calls: diff(after.calls, before.calls),
      // A build without the batch count (--base) reports none.
      batches: (after.batches ?? 0) - (before.batches ?? 0),
      rss: after.rss,
      heapUsed: after.heapUsed,
    };
  } finally {
    await child.stop();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Summary {
  bench: 'idle';
  consumer: 'worker' | 'bare-sdk' | 'worker-base';
  retrieval: string;
  source: string;
  shards: number;
  held: number;
  seconds: number;
  warmupSeconds: number;
  repeat: number;
  cpuPercent: number;
  cpuPercentMin: number;
  cpuPercentMax: number;
  cpuMicrosPerCall: number | null;
  callsPerSecond: { kinesis: number; dynamodb: number; total: number };
  batchesPerSecond: number;
  callsPerShardMinute: Record<string, number>;
  rssBytes: number;
  heapUsedBytes: number;
  rssPerShardBytes: number | null;
  heapPerShardBytes: number | null;
  node: string;
  cpus: string;
}

function summarise(runs: RunResult[], baseline: RunResult[] | undefined): Summary {
  const first = runs[0]!;
  const seconds = median(runs.map((r) => r.seconds));
  const perSecond = (service: string) => median(runs.map((r) => Object.entries(r.calls).reduce((a, [k, v]) => (k.startsWith(`${service} `) ? a + v : a), 0) / r.seconds));
  const kinesis = perSecond('kinesis');
  const dynamodb = perSecond('dynamodb');
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.calls)))].sort();
  const callsPerShardMinute = Object.fromEntries(keys.map((k) => [k, round(median(runs.map((r) => ((r.calls[k] ?? 0) / r.seconds) * 60 / r.shards)), 3)]));
  const cpu = runs.map((r) => r.cpuPercent);
  const total = kinesis + dynamodb;
  const rss = median(runs.map((r) => r.rss));
  const heap = median(runs.map((r) => r.heapUsed));
  const slope = (value: number, base: number | undefined) => (base === undefined || first.shards === 1 ? null : Math.round((value - base) / (first.shards - 1)));
  return {
    bench: 'idle',
    consumer: first.consumer === 'bare' ? 'bare-sdk' : first.consumer,
    retrieval: RETRIEVAL,
    source: SOURCE,
    shards: first.shards,
    held: Math.min(...runs.map((r) => r.held)),
    seconds: round(seconds, 1),
    warmupSeconds: WARMUP_MILLIS / 1000,
    repeat: runs.length,
    cpuPercent: round(median(cpu), 2),
    cpuPercentMin: round(Math.min(...cpu), 2),
    cpuPercentMax: round(Math.max(...cpu), 2),
    cpuMicrosPerCall: total > 0 ? Math.round(median(runs.map((r) => (r.cpuPercent / 100) * 1e6 / (Object.values(r.calls).reduce((a, b) => a + b, 0) / r.seconds)))) : null,
    callsPerSecond: { kinesis: round(kinesis, 2), dynamodb: round(dynamodb, 2), total: round(total, 2) },
    batchesPerSecond: round(median(runs.map((r) => r.batches / r.seconds)), 2),
    callsPerShardMinute,
    rssBytes: Math.round(rss),
    heapUsedBytes: Math.round(heap),
    rssPerShardBytes: slope(rss, baseline && median(baseline.map((r) => r.rss))),
    heapPerShardBytes: slope(heap, baseline && median(baseline.map((r) => r.heapUsed))),
    node: process.version,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function printTable(summaries: Summary[]): void {
  const kib = (b: number | null) => (b === null ? '—' : `${(b / 1024).toFixed(1)} KiB`);
  say('');
  const start = WARMUP_MILLIS > 0 ? `starting ${WARMUP_MILLIS / 1000} s after the consumer settled${WARMUP_MILLIS >= 180_000 ? ' (the steady state)' : ''}` : 'starting as the consumer settled (its first minute: V8 still compiling)';
  say(`idle cost, ${RETRIEVAL} on ${SOURCE}, window ${WINDOW_MILLIS / 1000} s ${start}, ${REPEAT} repetition(s) (medians), idle ${IDLE} ms, failover ${FAILOVER} ms`);
  say('consumer   shards  held   CPU % (min–max)      calls/s (Kinesis + DynamoDB)   µs CPU/call   RSS      heap     RSS/shard  heap/shard');
  for (const s of summaries) {
    say(
      `${s.consumer.padEnd(11)} ${String(s.shards).padStart(6)} ${String(s.held).padStart(5)}   ${s.cpuPercent.toFixed(2).padStart(6)} (${s.cpuPercentMin.toFixed(1)}–${s.cpuPercentMax.toFixed(1)})`.padEnd(48) +
        `${s.callsPerSecond.total.toFixed(1).padStart(7)} (${s.callsPerSecond.kinesis.toFixed(1)} + ${s.callsPerSecond.dynamodb.toFixed(1)})`.padEnd(31) +
        `${String(s.cpuMicrosPerCall ?? '—').padStart(8)}   ${(s.rssBytes / 2 ** 20).toFixed(0).padStart(4)} MiB ${(s.heapUsedBytes / 2 ** 20).toFixed(1).padStart(6)} MiB ${kib(s.rssPerShardBytes).padStart(10)} ${kib(s.heapPerShardBytes).padStart(10)}`,
    );
  }
  say('');
  say('calls per shard per minute, by kind:');
  for (const s of summaries) {
    say(`  ${s.consumer} ${s.shards}: ${Object.entries(s.callsPerShardMinute).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  }
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (values.profile) mkdirSync(values.profile, { recursive: true });
  say(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const emulators = await startEmulators();
  const admin = createKinesisClient({ kinesisEndpoint: emulators.kinesisEndpoint });
  const streams = new Map<number, string>();
  const results: RunResult[] = [];
  try {
    for (const n of SHARDS) {
      const name = `idle-${n}-${Date.now().toString(36)}`;
      await ensureStream(admin, name, n);
      streams.set(n, name);
    }
    for (let rep = 0; rep < REPEAT; rep++) {
      for (const n of SHARDS) {
        // Interleaved, the order alternating between repetitions, so a slow spell of the machine does not land on one consumer only.
        const order = rep % 2 === 0 ? CONSUMERS : [...CONSUMERS].reverse();
        for (const consumer of order) {
          const r = await measure(emulators, consumer, n, streams.get(n)!);
          results.push(r);
          say(`  run ${rep + 1}/${REPEAT} ${consumer} ${n} shards: ${r.cpuPercent.toFixed(2)} % CPU, ${(Object.values(r.calls).reduce((a, b) => a + b, 0) / r.seconds).toFixed(1)} calls/s`);
        }
      }
    }
  } finally {
    for (const name of streams.values()) await admin.send(new DeleteStreamCommand({ StreamName: name, EnforceConsumerDeletion: SOURCE === 'kinesis-local' ? true : undefined })).catch(() => undefined);
    admin.destroy();
    await emulators.stop();
  }
  const summaries: Summary[] = [];
  for (const consumer of CONSUMERS) {
    const baseline = results.filter((r) => r.consumer === consumer && r.shards === 1);
    for (const n of SHARDS) summaries.push(summarise(results.filter((r) => r.consumer === consumer && r.shards === n), baseline.length ? baseline : undefined));
  }
  if (JSON_OUT) for (const s of summaries) process.stdout.write(`${JSON.stringify(s)}\n`);
  else printTable(summaries);
}

await main();
