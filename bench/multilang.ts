/**
 * The MultiLangDaemon against the in-process Worker, on one kinesalite stream, in one run: records/s, the
 * consumer process's own CPU per record and its children's CPU per record (the daemon's child processes,
 * summed), for
 *   in-process — a Worker with the counting processor (JSON-parse every record, checkpoint every batch);
 *   node       — the daemon with bench/children/node-counter.cjs (aws-kcl) as the child of every shard;
 *   ts         — the daemon with bench/children/ts-counter.ts (kcl-ts/child, the in-process run's processor);
 *   python     — the daemon with bench/children/python-counter.py (amazon_kclpy API) as the child;
 *   ack        — the daemon with bench/children/ack-child.cjs, which answers without reading the records: the
 *                ceiling of any child on this machine (not run unless asked for).
 * Every run is a fresh process (bench/multilang-run.ts) reading the whole stream from TRIM_HORIZON under a new
 * application name; kinesalite and dynalite run in processes of their own, so their CPU is never counted.
 * Repetitions are interleaved (each round runs every mode, the order rotating) and reported as min/median/max.
 * Prints figures; asserts nothing.
 *
 *   npm run bench:multilang -- [--records 80000] [--shards 8] [--record-bytes 1024] [--reps 3]
 *     [--max-records 10000] [--idle-millis 1500] [--modes inprocess,node,ts,python,ack] [--profile DIR] [--compare-dist DIR]
 *
 * --compare-dist DIR adds a run of each daemon mode with the daemon taken from another build's dist/ (e.g. a
 * worktree of the main branch after `npx tsc`; for the ts mode its kcl-ts child too, so that build needs
 * bench/children/ts-counter.ts), interleaved with the others: before/after in one run.
 * --profile DIR writes a V8 CPU profile of every consumer process (named after its run) and of every Node child
 * (CPU.*.cpuprofile) into DIR (bench/profile-summary.ts summarises one).
 */
import { execFileSync, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createKinesisClient } from '../src/aws/clients.js';
import { ensureStream } from '../src/local/streams.js';
import { produceRecords } from '../src/local/producer.js';
import type { RunMode, RunResult, RunSpec } from './multilang-run.js';
import { startEmulator } from './emulator-process.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '80000' },
    shards: { type: 'string', default: '8' },
    'record-bytes': { type: 'string', default: '1024' },
    reps: { type: 'string', default: '3' },
    'max-records': { type: 'string', default: '10000' },
    'idle-millis': { type: 'string', default: '1500' },
    modes: { type: 'string', default: 'inprocess,node,ts,python' },
    profile: { type: 'string' },
    'compare-dist': { type: 'string' },
  },
});
const RECORDS = Number(values.records);
const SHARDS = Number(values.shards);
const RECORD_BYTES = Number(values['record-bytes']);
const REPS = Number(values.reps);
const MODES = values.modes.split(',').map((m) => m.trim()) as RunMode[];
const COMPARE_DIST = values['compare-dist'] ? path.resolve(values['compare-dist']) : undefined;

/** One row of the table: a mode, with the daemon of this build or of the comparison build. */
interface Variant {
  key: string;
  mode: RunMode;
  daemonDist?: string;
}
const VARIANTS: Variant[] = MODES.flatMap((mode): Variant[] =>
  mode !== 'inprocess' && COMPARE_DIST ? [{ key: mode, mode }, { key: `${mode}@base`, mode, daemonDist: COMPARE_DIST }] : [{ key: mode, mode }],
);
const here = path.dirname(fileURLToPath(import.meta.url));
const LABELS: Record<RunMode, string> = { inprocess: 'in-process Worker', node: 'daemon + aws-kcl child', ts: 'daemon + kcl-ts child', python: 'daemon + Python child', ack: 'daemon + ack-only child' };
const label = (v: Variant) => `${LABELS[v.mode]}${v.daemonDist ? ' (base)' : ''}`;

/** One consumer run in a fresh process; its stderr (children's complaints) goes to ours. */
function runOnce(spec: RunSpec): Promise<RunResult> {
  const nodeArgs = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`, `--cpu-prof-name=${spec.applicationName}.cpuprofile`] : [];
  const env = values.profile ? { ...process.env, KCL_BENCH_CHILD_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${values.profile}` } : process.env;
  const proc = spawn(process.execPath, [...nodeArgs, path.join(here, 'multilang-run.js'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'], env });
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out.trim()) as RunResult);
      else reject(new Error(`${spec.mode} run exited with ${code}: ${out}`));
    });
  });
}

function stats(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0] ?? NaN, median: s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2, max: s[s.length - 1] ?? NaN };
}

function cell(xs: number[], digits: number): string {
  const { min, median, max } = stats(xs);
  return `${median.toFixed(digits)} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
}

function machine(): string {
  let python = 'no python3';
  try {
    python = execFileSync('python3', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as missing
  }
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, node ${process.version}, ${python}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  console.log(`machine: ${machine()}`);
  const [kinesalite, dynalite] = await Promise.all([startEmulator('kinesalite'), startEmulator('dynalite')]);
  const kinesisEndpoint = kinesalite.endpoint;
  const dynamodbEndpoint = dynalite.endpoint;
  // Filled over JSON: kinesalite stores data put over CBOR in a form its readers cannot use (docs/retrieval.md).
  const kinesis = createKinesisClient({ kinesisEndpoint, kinesisProtocol: 'JSON' });
  try {
    const stream = 'mlbench';
    await ensureStream(kinesis, stream, SHARDS);
    const t0 = performance.now();
    await produceRecords(kinesis, { stream, count: RECORDS, partitionKeys: 64, recordBytes: RECORD_BYTES });
    console.log(`produced ${RECORDS} records of ${RECORD_BYTES} B on ${SHARDS} shards (kinesalite) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const spec = (mode: RunMode, applicationName: string, daemonDist?: string): RunSpec => ({
      mode,
      daemonDist,
      kinesisEndpoint,
      dynamodbEndpoint,
      stream,
      applicationName,
      records: RECORDS,
      maxRecords: Number(values['max-records']),
      idleTimeBetweenReadsInMillis: Number(values['idle-millis']),
    });
    // Warms the emulator (its first full read of the stream is slower) without counting.
    await runOnce(spec('inprocess', 'warmup'));
    const results = new Map<string, RunResult[]>(VARIANTS.map((v) => [v.key, []]));
    for (let rep = 0; rep < REPS; rep++) {
      for (let i = 0; i < VARIANTS.length; i++) {
        const v = VARIANTS[(i + rep) % VARIANTS.length] as Variant;
        const r = await runOnce(spec(v.mode, `${v.key.replace('@', '-')}-${rep}`, v.daemonDist));
        results.get(v.key)?.push(r);
        console.log(
          `  rep ${rep + 1} ${v.key.padEnd(12)} ${((r.delivered * 1000) / r.millis).toFixed(0).padStart(6)} rec/s  own ${(r.ownCpuMicros / r.delivered).toFixed(1).padStart(6)} µs/rec  children(${r.children}) ${(r.childCpuMicros / r.delivered).toFixed(1).padStart(6)} µs/rec`,
        );
      }
    }
    const perRecord = (rs: RunResult[], f: (r: RunResult) => number) => rs.map((r) => f(r) / r.delivered);
    const rates = (rs: RunResult[]) => rs.map((r) => (r.delivered * 1000) / r.millis);
    const base = results.get('inprocess');
    const baseRate = base && base.length ? stats(rates(base)).median : NaN;
    const baseCpu = base && base.length ? stats(perRecord(base, (r) => r.ownCpuMicros)).median : NaN;
    console.log(`\n${RECORDS} records × ${RECORD_BYTES} B, ${SHARDS} shards, maxRecords ${values['max-records']}, idleTimeBetweenReadsInMillis ${values['idle-millis']}, checkpoint every batch; ${REPS} interleaved repetitions: median (min–max); each run includes start-up`);
    console.log(`${'consumer'.padEnd(29)} ${'records/s'.padEnd(22)} ${'own CPU µs/record'.padEnd(22)} ${'children CPU µs/record'.padEnd(24)} vs in-process (median)`);
    for (const v of VARIANTS) {
      const { mode } = v;
      const rs = results.get(v.key) ?? [];
      const rate = stats(rates(rs)).median;
      const own = stats(perRecord(rs, (r) => r.ownCpuMicros)).median;
      const vs = mode === 'inprocess' ? '1.00' : `${(rate / baseRate).toFixed(2)}× throughput, own CPU ${(own / baseCpu).toFixed(2)}×`;
      console.log(`${label(v).padEnd(29)} ${cell(rates(rs), 0).padEnd(22)} ${cell(perRecord(rs, (r) => r.ownCpuMicros), 1).padEnd(22)} ${cell(perRecord(rs, (r) => r.childCpuMicros), 1).padEnd(24)} ${vs}`);
    }
  } finally {
    kinesis.destroy();
    await Promise.all([kinesalite.stop(), dynalite.stop()]);
  }
}

await main();
