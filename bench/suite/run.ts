/**
 * The side-by-side benchmark (`npm run bench`): every way of consuming one stream, on the same machine in one
 * run, with a bare AWS SDK v3 loop as the 1.0 baseline. Prints figures and the machine; asserts nothing.
 *
 * Throughput and CPU per record — kinesalite (fast, in memory, polling only) with leases in dynalite:
 *   bare SDK loop (JSON) · Worker in-process (polling; each Kinesis wire protocol) · MultiLangDaemon with a
 *   Node (aws-kcl) child per shard · with a kcl-ts/child child per shard · with a Python (amazon_kclpy-style)
 *   child per shard.
 * Enhanced fan-out — kinesis-local (the only emulator with SubscribeToShard; much slower, so fewer records):
 *   bare SDK loop · Worker polling · Worker fan-out.
 * Idle cost — a worker holding 8 and 64 shards of an empty stream (bench/idle-cost.ts).
 *
 * Every consumer runs in a process of its own and is charged its CPU (and its children's) from /proc between
 * "ready" (modules loaded, nothing read yet) and "done" (every record through the processor). Repetitions are
 * interleaved (run 1 of every consumer, then run 2, …) so a slow minute of the machine hits all of them alike.
 *
 *   npm run bench -- [--records 80000] [--shards 8] [--record-bytes 1024] [--reps 3]
 *                    [--fanout-records 8000] [--idle-seconds 20] [--skip fanout,idle,python,ts-child,…] [--base DIR]
 *
 * --base DIR adds "before" rows from another build in the same run: DIR is that build's compiled tree (its
 * `dist/`), into which this build's dist/bench/suite/consumer.js and dist/bench/bare-loop.js are copied; it runs
 * the Worker and the daemon with that build's code and its own defaults.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createKinesisClient } from '../../src/aws/clients.js';
import { forEachLine } from '../../src/common/lines.js';
import { KINESIS_PROTOCOLS } from '../../src/config/fields.js';
import { ensureStream } from '../../src/local/streams.js';
import { produceRecords } from '../../src/local/producer.js';
import { startLocalStack } from '../../src/local/stack.js';
import type { ConsumerOptions } from './consumer.js';
import { startEmulator } from '../emulator-process.js';
import { cpuBetween, sampleTree } from '../proc.js';
import { showSpread, spread, table } from './stats.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '80000' },
    shards: { type: 'string', default: '8' },
    'record-bytes': { type: 'string', default: '1024' },
    reps: { type: 'string', default: '3' },
    'fanout-records': { type: 'string', default: '8000' },
    'idle-seconds': { type: 'string', default: '20' },
    skip: { type: 'string', default: '' },
    base: { type: 'string' },
  },
});
const RECORDS = Number(values.records);
const SHARDS = Number(values.shards);
const RECORD_BYTES = Number(values['record-bytes']);
const REPS = Number(values.reps);
const FANOUT_RECORDS = Number(values['fanout-records']);
const IDLE_SECONDS = Number(values['idle-seconds']);
const SKIP = new Set(values.skip.split(',').filter(Boolean));
const RUN_DEADLINE_MILLIS = 600_000;

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const consumerScript = path.join(here, 'consumer.js');

interface Consumer {
  name: string;
  /** The consumer script to run: this build's, or a --base build's. */
  script?: string;
  kind: 'bare' | 'worker' | 'daemon';
  options: Omit<ConsumerOptions, 'stream' | 'records' | 'kinesisEndpoint' | 'dynamoDBEndpoint'>;
}

interface RunResult {
  recordsPerSecond: number;
  /** CPU per record, µs: the consumer process itself, its children (daemon), both. */
  ownMicros: number;
  childrenMicros: number;
  totalMicros: number;
  /** All processes' CPU per record after the first page went through, µs: the steady state, start-up left out. */
  steadyMicros: number;
  /** All processes' CPU from ready to the first page, ms: start-up (lease table, shard sync, takes, children). */
  startupMillis: number;
}

/** Runs one consumer process to completion and charges it. */
async function runConsumer(consumer: Consumer, base: Omit<ConsumerOptions, 'applicationName'>, run: string): Promise<RunResult> {
  const options: ConsumerOptions = { ...base, ...consumer.options, applicationName: `bench-${run}` };
  const child = spawn(process.execPath, [consumer.script ?? consumerScript, consumer.kind, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let ready: { at: number; cpu: ReturnType<typeof sampleTree> } | undefined;
  let first: { cpu: ReturnType<typeof sampleTree>; records: number } | undefined;
  const deadline = setTimeout(() => child.kill('SIGKILL'), RUN_DEADLINE_MILLIS);
  try {
    const done = await new Promise<{ at: number; cpu: ReturnType<typeof sampleTree>; records: number }>((resolve, reject) => {
      void exited.then((code) => reject(new Error(`${consumer.name} exited with code ${code} before it was done`)));
      forEachLine(child.stdout!, (line) => {
        // Sample first: the line's parse and the bookkeeping must not sit between the event and the reading.
        const at = performance.now();
        const cpu = sampleTree(child.pid!);
        const message = JSON.parse(line) as { ready?: boolean; first?: boolean; done?: boolean; records?: number };
        if (message.ready) ready = { at, cpu };
        if (message.first) first = { cpu, records: message.records ?? 0 };
        if (message.done) resolve({ at, cpu, records: message.records ?? 0 });
      });
    });
    if (!ready || !first) throw new Error(`${consumer.name} was done before it was ready`);
    if (done.records < base.records) throw new Error(`${consumer.name} saw ${done.records} of ${base.records} records`);
    const used = cpuBetween(ready.cpu, done.cpu);
    const code = await exited;
    if (code !== 0) throw new Error(`${consumer.name} exited with code ${code}`);
    const n = done.records;
    const sum = (c: { ownMicros: number; descendantsMicros: number }) => c.ownMicros + c.descendantsMicros;
    return {
      steadyMicros: sum(cpuBetween(first.cpu, done.cpu)) / (n - first.records),
      startupMillis: sum(cpuBetween(ready.cpu, first.cpu)) / 1000,
      recordsPerSecond: (n * 1000) / (done.at - ready.at),
      ownMicros: used.ownMicros / n,
      childrenMicros: used.descendantsMicros / n,
      totalMicros: (used.ownMicros + used.descendantsMicros) / n,
    };
  } finally {
    clearTimeout(deadline);
    child.kill('SIGKILL');
  }
}

/** Runs every consumer `REPS` times, interleaved, and prints one table; the first consumer is the baseline. */
/** Medians by consumer name: records/s, CPU µs/record of all processes, of the consumer process alone. */
type Medians = Map<string, { rate: number; total: number; own: number; steady: number }>;

async function sideBySide(title: string, consumers: Consumer[], base: Omit<ConsumerOptions, 'applicationName'>): Promise<Medians> {
  const results = new Map<string, RunResult[]>(consumers.map((c) => [c.name, []]));
  const failures = new Map<string, string>();
  for (let rep = 1; rep <= REPS; rep++) {
    for (const consumer of consumers) {
      if (failures.has(consumer.name)) continue;
      const started = performance.now();
      try {
        const r = await runConsumer(consumer, base, `${title.split(' ')[0]!.toLowerCase()}-${rep}-${consumers.indexOf(consumer)}-${Date.now()}`);
        results.get(consumer.name)!.push(r);
        console.error(`  [${rep}/${REPS}] ${consumer.name}: ${r.recordsPerSecond.toFixed(0)} records/s, ${r.totalMicros.toFixed(1)} µs/record (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      } catch (err) {
        failures.set(consumer.name, (err as Error).message);
        console.error(`  [${rep}/${REPS}] ${consumer.name}: FAILED ${(err as Error).message}`);
      }
    }
  }
  const baseline = results.get(consumers[0]!.name)!;
  const baseRate = spread(baseline.map((r) => r.recordsPerSecond))?.median;
  const baseCpu = spread(baseline.map((r) => r.totalMicros))?.median;
  const baseSteady = spread(baseline.map((r) => r.steadyMicros))?.median;
  const rows = consumers.map((c) => {
    const rs = results.get(c.name)!;
    if (rs.length === 0) return [c.name, `failed: ${failures.get(c.name) ?? '?'}`, '', '', '', '', '', '', '', ''];
    const rate = spread(rs.map((r) => r.recordsPerSecond));
    const total = spread(rs.map((r) => r.totalMicros));
    const steady = spread(rs.map((r) => r.steadyMicros));
    return [
      c.name,
      showSpread(rate),
      showSpread(total, 1),
      showSpread(steady, 1),
      showSpread(spread(rs.map((r) => r.startupMillis))),
      showSpread(spread(rs.map((r) => r.ownMicros)), 1),
      c.kind === 'daemon' ? showSpread(spread(rs.map((r) => r.childrenMicros)), 1) : '',
      baseRate && rate ? `${(rate.median / baseRate).toFixed(2)}×` : '',
      baseCpu && total ? `${(total.median / baseCpu).toFixed(2)}×` : '',
      baseSteady && steady ? `${(steady.median / baseSteady).toFixed(2)}×` : '',
    ];
  });
  console.log(`\n${title}`);
  console.log(
    table(['consumer', 'records/s', 'CPU µs/record, all processes', 'after the 1st page', 'start-up CPU ms', 'consumer process', 'children', 'rate vs 1st', 'CPU vs 1st', 'after 1st page vs 1st'], rows),
  );
  const medians: Medians = new Map();
  for (const [name, rs] of results) {
    if (rs.length === 0) continue;
    const median = (f: (r: RunResult) => number) => spread(rs.map(f))!.median;
    medians.set(name, { rate: median((r) => r.recordsPerSecond), total: median((r) => r.totalMicros), own: median((r) => r.ownMicros), steady: median((r) => r.steadyMicros) });
  }
  return medians;
}

/** The daemon's children: an aws-kcl processor, a kcl-ts/child one and an amazon_kclpy-style one, as users write them. */
const nodeChild = () => `${process.execPath} ${path.join(repoRoot, 'bench/children/node-counter.cjs')}`;
const tsChild = () => `${process.execPath} ${path.join(repoRoot, 'dist/bench/children/ts-counter.js')}`;

function workerConsumers(retrievalMode: 'POLLING' | 'FANOUT', label: string): Consumer[] {
  return KINESIS_PROTOCOLS.map((kinesisProtocol) => ({
    name: `kcl-ts Worker, ${label}, ${kinesisProtocol}`,
    kind: 'worker',
    options: { config: { retrievalMode, kinesisProtocol } },
  }));
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const cpus = os.cpus();
  console.log(`machine: ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`${REPS} interleaved repetitions; figures are median (min–max)`);
  const stack = await startLocalStack({ streams: SKIP.has('fanout') ? [] : [{ name: 'bench-fanout', shards: SHARDS }] });
  const kinesalite = await startEmulator('kinesalite');
  try {
    // ---- throughput and CPU per record on kinesalite
    if (!SKIP.has('kinesalite')) {
      // Filled over JSON: kinesalite stores data put over CBOR in a form JSON readers cannot use (docs/retrieval.md).
      const kinesis = createKinesisClient({ kinesisEndpoint: kinesalite.endpoint, kinesisProtocol: 'JSON' });
      await ensureStream(kinesis, 'bench', SHARDS);
      const t0 = performance.now();
      await produceRecords(kinesis, { stream: 'bench', count: RECORDS, partitionKeys: 64, recordBytes: RECORD_BYTES });
      kinesis.destroy();
      console.error(`produced ${RECORDS} records of ${RECORD_BYTES} bytes on ${SHARDS} shards (kinesalite) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const daemonPolling = { retrievalMode: 'POLLING' } as ConsumerOptions['config'];
      const consumers: Consumer[] = [
        { name: 'bare AWS SDK v3 loops, one per shard (JSON)', kind: 'bare', options: {} },
        ...workerConsumers('POLLING', 'polling'),
        ...(SKIP.has('daemon') ? [] : [{ name: 'MultiLangDaemon, Node child per shard', kind: 'daemon' as const, options: { executableName: nodeChild(), config: daemonPolling } }]),
        ...(SKIP.has('daemon') || SKIP.has('ts-child') ? [] : [{ name: 'MultiLangDaemon, kcl-ts child per shard', kind: 'daemon' as const, options: { executableName: tsChild(), config: daemonPolling } }]),
      ];
      if (values.base) {
        const script = path.join(path.resolve(values.base), 'bench/suite/consumer.js');
        consumers.push({ name: 'before: kcl-ts Worker, polling', kind: 'worker', script, options: { config: daemonPolling } });
        if (!SKIP.has('daemon')) consumers.push({ name: 'before: MultiLangDaemon, Node child per shard', kind: 'daemon', script, options: { executableName: nodeChild(), config: daemonPolling } });
      }
      const python = path.join(repoRoot, 'bench/children/python-counter.py');
      if (!SKIP.has('daemon') && !SKIP.has('python')) {
        consumers.push({ name: 'MultiLangDaemon, Python child per shard', kind: 'daemon', options: { executableName: `python3 ${python}`, config: daemonPolling } });
      }
      const m = await sideBySide(
        `Consuming ${RECORDS.toLocaleString('en-US')} records of ${RECORD_BYTES} B from ${SHARDS} shards (kinesalite; leases in dynalite)`,
        consumers,
        { stream: 'bench', records: RECORDS, kinesisEndpoint: kinesalite.endpoint, dynamoDBEndpoint: stack.dynamodbEndpoint },
      );
      const bare = m.get(consumers[0]!.name);
      const worker = m.get(consumers[1]!.name);
      const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? `${(a / b).toFixed(2)}×` : '–');
      console.log(`Worker (CBOR) CPU per record vs the bare loop: ${ratio(worker?.total, bare?.total)} all-in, ${ratio(worker?.steady, bare?.steady)} after the first page`);
      for (const c of consumers.filter((c) => c.kind === 'daemon' && !c.script)) {
        const d = m.get(c.name);
        console.log(`${c.name}: throughput ${ratio(d?.rate, worker?.rate)} of the Worker's (CBOR); the daemon process's own CPU per record ${ratio(d?.own, worker?.own)} of the Worker's`);
      }
    }

    // ---- enhanced fan-out on kinesis-local
    if (!SKIP.has('fanout')) {
      const kinesis = createKinesisClient({ kinesisEndpoint: stack.kinesisEndpoint });
      const t0 = performance.now();
      await produceRecords(kinesis, { stream: 'bench-fanout', count: FANOUT_RECORDS, partitionKeys: 64, recordBytes: RECORD_BYTES });
      kinesis.destroy();
      console.error(`produced ${FANOUT_RECORDS} records on ${SHARDS} shards (kinesis-local) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      await sideBySide(
        `Enhanced fan-out: ${FANOUT_RECORDS.toLocaleString('en-US')} records from ${SHARDS} shards (kinesis-local, which sends one event per second per shard)`,
        [
          { name: 'bare AWS SDK v3 loops, one per shard (JSON)', kind: 'bare', options: {} },
          ...workerConsumers('POLLING', 'polling'),
          ...workerConsumers('FANOUT', 'enhanced fan-out'),
        ],
        { stream: 'bench-fanout', records: FANOUT_RECORDS, kinesisEndpoint: stack.kinesisEndpoint, dynamoDBEndpoint: stack.dynamodbEndpoint },
      );
    }
  } finally {
    await kinesalite.stop();
    await stack.stop();
  }

  // ---- idle cost
  if (!SKIP.has('idle')) await idle('polling');
  if (!SKIP.has('idle') && !SKIP.has('fanout')) await idle('fanout');
}

interface IdleLine {
  consumer: string;
  retrieval: string;
  source: string;
  shards: number;
  held: number;
  cpuPercent: number;
  cpuMicrosPerCall: number;
  callsPerSecond: { kinesis: number; dynamodb: number; total: number };
  rssPerShardBytes: number | null;
  heapPerShardBytes: number | null;
}

/** The idle figures come from bench/idle-cost.ts, run as a process of its own (it starts its own emulators). */
async function idle(retrieval: 'polling' | 'fanout'): Promise<void> {
  const script = path.join(here, '../idle-cost.js');
  const args = [script, '--shards', '8,64', '--seconds', String(IDLE_SECONDS), '--retrieval', retrieval, '--json', ...(retrieval === 'fanout' ? ['--no-bare'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot });
  const lines: IdleLine[] = [];
  forEachLine(child.stdout!, (line) => {
    if (line.startsWith('{')) lines.push(JSON.parse(line) as IdleLine);
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const source = lines[0]?.source ?? '?';
  console.log(`\nIdle: a consumer holding N shards of an empty stream, the first ${IDLE_SECONDS} s after it settled, V8 still warming up (bench/idle-cost.ts; ${retrieval} on ${source}; a long-running worker's steady state: npm run bench:idle -- --warmup 180)`);
  const mib = (b: number | null) => (b === null ? '–' : `${(b / 2 ** 20).toFixed(2)}`);
  console.log(
    table(
      ['consumer', 'shards held', 'CPU % of a core', 'Kinesis calls/s', 'DynamoDB calls/s', 'CPU µs per call', 'RSS MiB per shard', 'heap MiB per shard'],
      lines
        .filter((l) => l.shards > 1)
        .map((l) => [
          l.consumer === 'bare-sdk' ? 'bare SDK loop, same calls' : `kcl-ts Worker, ${l.retrieval}`,
          String(l.held),
          l.cpuPercent.toFixed(2),
          l.callsPerSecond.kinesis.toFixed(1),
          l.callsPerSecond.dynamodb.toFixed(1),
          l.cpuMicrosPerCall.toFixed(0),
          mib(l.rssPerShardBytes),
          mib(l.heapPerShardBytes),
        ]),
    ),
  );
  if (code !== 0) console.log(`idle-cost exited with code ${code}`);
}

await main();
