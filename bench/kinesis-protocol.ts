/**
 * CPU per record of a consumer by Kinesis wire protocol (JSON or CBOR), on kinesalite + dynalite (or, with
 * `--emulator kinesis-local`, on kinesis-local, which is slower but answers CBOR with record data as raw bytes,
 * as AWS does; kinesalite sends them as base64 text inside CBOR). Prints figures and the machine; asserts nothing.
 *
 * One stream (8 shards, 80,000 JSON records of 1 KB by default) is filled once, then drained again and again from
 * TRIM_HORIZON by four consumers, interleaved, each in a child process of its own whose CPU (process.cpuUsage
 * around the drain) is what is reported; the emulators run in another child, so their CPU is not counted:
 *   bare-json   a bare SDK v3 loop per shard (GetShardIterator + GetRecords, JSON.parse of each record), the SDK's
 *               defaults: the 1.0
 *   bare-cbor   the same loop with the library's CBOR protocol and body collector
 *   worker-json the kcl-ts Worker (polling, a processor that parses every record and checkpoints every batch)
 *   worker-cbor the same Worker with kinesisProtocol CBOR
 *
 *   npm run bench:protocol -- [--records N] [--shards N] [--bytes N] [--repetitions N] [--modes a,b] [--cpu-prof DIR]
 *                               [--emulator kinesalite|kinesis-local]
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import http from 'node:http';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createDynamoDBClient, createKinesisClient } from '../src/aws/clients.js';
import { KinesisCborProtocol } from '../src/aws/kinesis-protocol.js';
import { collectBody } from '../src/aws/body-collector.js';
import type { KinesisProtocol } from '../src/config/fields.js';
import { ensureStream } from '../src/local/streams.js';
import { startLocalStack } from '../src/local/stack.js';
import { produceRecords } from '../src/local/producer.js';
import { consumeCounted, cpuMicros } from './counting-logic.js';
import { drainWithBareLoop } from './bare-loop.js';
import { startEmulator } from './emulator-process.js';

const MODES = ['bare-json', 'bare-cbor', 'worker-json', 'worker-cbor'] as const;
type Mode = (typeof MODES)[number];
const STREAM = 'protocol-bench';

interface Measured {
  records: number;
  millis: number;
  cpuMicros: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');

// ---------------------------------------------------------------------------------------------------------------
// Children


/**
 * The bare loop's client: the SDK's defaults (its JSON protocol, body collector and no-op logger), with only the
 * HTTP/1.1 handler the emulators need; over CBOR, the library's wire protocol and body collector on top.
 */
function bareClient(endpoint: string, protocol: KinesisProtocol): KinesisClient {
  return new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true }) }),
    ...(protocol === 'CBOR' ? { protocol: KinesisCborProtocol, streamCollector: collectBody } : {}),
  });
}

async function runChild(mode: Mode, kinesisEndpoint: string, dynamoDBEndpoint: string, records: number, app: string): Promise<Measured> {
  const kinesisProtocol: KinesisProtocol = mode.endsWith('cbor') ? 'CBOR' : 'JSON';
  const kinesis = mode.startsWith('bare') ? bareClient(kinesisEndpoint, kinesisProtocol) : createKinesisClient({ kinesisEndpoint, kinesisProtocol });
  const dynamodb = createDynamoDBClient({ dynamoDBEndpoint });
  try {
    if (mode.startsWith('bare')) {
      const started = performance.now();
      const cpu0 = cpuMicros();
      const n = await drainWithBareLoop(kinesis, STREAM);
      return { records: n, millis: performance.now() - started, cpuMicros: cpuMicros() - cpu0 };
    }
    const config = {
      streamName: STREAM,
      applicationName: app,
      kinesisEndpoint,
      dynamoDBEndpoint,
      kinesisProtocol,
      initialPositionInStream: 'TRIM_HORIZON' as const,
      idleTimeBetweenReadsInMillis: 200,
    };
    const { worker, delivered, millis, cpuMicros: cpu } = await consumeCounted(config, records, { kinesis, dynamodb });
    await worker.shutdown();
    return { records: delivered, millis, cpuMicros: cpu };
  } finally {
    kinesis.destroy();
    dynamodb.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Parent

function spawnNode(args: string[]) {
  return spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
}

type Emulator = 'kinesalite' | 'kinesis-local';

async function startEmulators(emulator: Emulator): Promise<{ kinesisEndpoint: string; dynamoDBEndpoint: string; stop: () => void | Promise<void> }> {
  if (emulator === 'kinesis-local') {
    // kinesis-local runs in a child of its own; dynalite in this (unmeasured) process.
    const stack = await startLocalStack();
    return { kinesisEndpoint: stack.kinesisEndpoint, dynamoDBEndpoint: stack.dynamodbEndpoint, stop: () => stack.stop() };
  }
  const [kinesalite, dynalite] = await Promise.all([startEmulator('kinesalite'), startEmulator('dynalite')]);
  return { kinesisEndpoint: kinesalite.endpoint, dynamoDBEndpoint: dynalite.endpoint, stop: async () => void (await Promise.all([kinesalite.stop(), dynalite.stop()])) };
}

async function measureInChild(mode: Mode, endpoints: { kinesisEndpoint: string; dynamoDBEndpoint: string }, records: number, app: string, cpuProf: string | undefined): Promise<Measured> {
  const prof = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`, `--cpu-prof-name=${mode}-${app}.cpuprofile`] : [];
  const child = spawnNode([...prof, fileURLToPath(import.meta.url), '--child', mode, '--kinesis', endpoints.kinesisEndpoint, '--dynamodb', endpoints.dynamoDBEndpoint, '--records', String(records), '--app', app]);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`${mode} child failed (exit ${code}): ${out}`);
  return JSON.parse(line) as Measured;
}

function stats(values: number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]! };
}

async function parent(options: { emulator: Emulator; records: number; shards: number; bytes: number; repetitions: number; modes: Mode[]; cpuProf: string | undefined }): Promise<void> {
  const cpus = os.cpus();
  console.log(`machine: ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const emulators = await startEmulators(options.emulator);
  try {
    // Filled over JSON: kinesalite keeps what it is given, and data put over CBOR it stores in a form only a CBOR
    // reader gets back (see docs/retrieval.md, 'Wire protocol'); data put over JSON reads back either way.
    const kinesis = createKinesisClient({ kinesisEndpoint: emulators.kinesisEndpoint, kinesisProtocol: 'JSON' });
    try {
      await ensureStream(kinesis, STREAM, options.shards);
      const t0 = performance.now();
      await produceRecords(kinesis, { stream: STREAM, count: options.records, partitionKeys: 256, recordBytes: options.bytes });
      console.log(`${options.emulator}: ${options.records} records of ${options.bytes} B on ${options.shards} shards, written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      kinesis.destroy();
    }
    const results = new Map<Mode, Measured[]>(options.modes.map((m) => [m, []]));
    for (let rep = 1; rep <= options.repetitions; rep++) {
      for (const mode of options.modes) {
        const m = await measureInChild(mode, emulators, options.records, `bench-${mode}-${rep}-${Date.now()}`, options.cpuProf);
        if (m.records < options.records) throw new Error(`${mode}: drained ${m.records} of ${options.records} records`);
        results.get(mode)!.push(m);
        console.log(`  repetition ${rep} ${mode.padEnd(11)} ${(m.cpuMicros / m.records).toFixed(1).padStart(6)} µs/record  ${((m.records * 1000) / m.millis).toFixed(0).padStart(6)} records/s`);
      }
    }
    const baseline = results.has('bare-json') ? stats(results.get('bare-json')!.map((m) => m.cpuMicros / m.records)).median : undefined;
    console.log('');
    console.log(`consumer       CPU µs/record (min / median / max)   records/s (min / median / max)   CPU vs bare-json`);
    for (const mode of options.modes) {
      const runs = results.get(mode)!;
      const cpu = stats(runs.map((m) => m.cpuMicros / m.records));
      const rate = stats(runs.map((m) => (m.records * 1000) / m.millis));
      const vs = baseline === undefined ? '' : `${(cpu.median / baseline).toFixed(2)}×`;
      console.log(
        `${mode.padEnd(13)}  ${cpu.min.toFixed(1).padStart(6)} / ${cpu.median.toFixed(1).padStart(6)} / ${cpu.max.toFixed(1).padStart(6)}              ` +
          `${rate.min.toFixed(0).padStart(6)} / ${rate.median.toFixed(0).padStart(6)} / ${rate.max.toFixed(0).padStart(6)}           ${vs}`,
      );
    }
    console.log('');
    console.log('CPU is the consumer process only (emulators run in another process); the worker figures include its start-up (lease table, shard sync, first takes) and one checkpoint per batch.');
  } finally {
    await emulators.stop();
  }
}

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    kinesis: { type: 'string' },
    dynamodb: { type: 'string' },
    app: { type: 'string', default: 'bench' },
    records: { type: 'string', default: '80000' },
    shards: { type: 'string', default: '8' },
    bytes: { type: 'string', default: '1024' },
    repetitions: { type: 'string', default: '3' },
    modes: { type: 'string', default: MODES.join(',') },
    'cpu-prof': { type: 'string' },
    emulator: { type: 'string', default: 'kinesalite' },
  },
});

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (values.child !== undefined) {
  const measured = await runChild(values.child as Mode, values.kinesis!, values.dynamodb!, Number(values.records), values.app!);
  console.log(JSON.stringify(measured));
} else {
  const modes = values.modes!.split(',').map((m) => m.trim()) as Mode[];
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m}; one of ${MODES.join(', ')}`);
  if (values.emulator !== 'kinesalite' && values.emulator !== 'kinesis-local') throw new Error('--emulator is kinesalite or kinesis-local');
  await parent({
    emulator: values.emulator,
    records: Number(values.records),
    shards: Number(values.shards),
    bytes: Number(values.bytes),
    repetitions: Number(values.repetitions),
    modes,
    cpuProf: values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined,
  });
}
