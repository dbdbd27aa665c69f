/**
 * What a daemon child costs per record, with no emulator and no daemon: a fresh child process is fed the protocol
 * over its pipes (initialize, then `--batches` processRecords lines of 10,000 records of 1 KB, each as our
 * daemon encodes it, with the checkpoint round trip each child makes), and its CPU is read from /proc after
 * initialize (start-up, shown apart) and after the last batch. Children: the aws-kcl one
 * (bench/children/node-counter.cjs) and the kcl-ts one (bench/children/ts-counter.ts); `--base DIR` adds the
 * kcl-ts child of another build's compiled tree. A child per shard lives as long as its lease, so the figure with
 * several batches is the one that matters in production; one batch shows a child that has just started.
 * Repetitions are interleaved; medians (min–max). Prints figures; asserts nothing.
 *
 *   npm run bench:child -- [--batches 1,5] [--reps 7] [--records 10000] [--base DIR] [--profile DIR]
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LineSplitter } from '../src/common/lines.js';
import { processRecordsLine } from '../src/multilang/records-line.js';
import { createUserRecord } from '../src/retrieval/user-record.js';
import { processCpuMicros } from './proc.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '1,5' },
    reps: { type: 'string', default: '7' },
    records: { type: 'string', default: '10000' },
    base: { type: 'string' },
    profile: { type: 'string' },
  },
});
const BATCHES = values.batches.split(',').map(Number);
const REPS = Number(values.reps);
const RECORDS = Number(values.records);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const children: Record<string, string> = {
  'aws-kcl child': path.join(repoRoot, 'bench/children/node-counter.cjs'),
  'kcl-ts child': path.join(repoRoot, 'dist/bench/children/ts-counter.js'),
  ...(values.base ? { 'kcl-ts child (base)': path.join(path.resolve(values.base), 'bench/children/ts-counter.js') } : {}),
};

const payload = JSON.stringify({ id: 1, text: 'x'.repeat(990) });
const batch = Buffer.concat([
  ...processRecordsLine(
    Array.from({ length: RECORDS }, (_, i) =>
      createUserRecord({ data: Buffer.from(payload), partitionKey: `pk-${i}`, sequenceNumber: `4959${String(i).padStart(52, '0')}`, approximateArrivalTimestamp: new Date() }),
    ),
    0,
  ),
]);

interface Message {
  action: string;
  responseFor?: string;
  sequenceNumber?: string | null;
  subSequenceNumber?: number | null;
}

/** One child through `batches` batches; its CPU (µs) at start-up and per record after it. */
async function once(script: string, batches: number): Promise<{ startupMicros: number; perRecordMicros: number }> {
  const nodeArgs = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const splitter = new LineSplitter();
  const queue: Message[] = [];
  let wake: (() => void) | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    for (const line of splitter.push(chunk)) if (line.trim() !== '') queue.push(JSON.parse(line) as Message);
    wake?.();
  });
  const next = async (): Promise<Message> => {
    while (queue.length === 0) {
      if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
      await new Promise<void>((resolve) => (wake = resolve));
    }
    return queue.shift()!;
  };
  const send = (data: string | Buffer) => new Promise<void>((resolve, reject) => child.stdin.write(data, (err) => (err ? reject(err) : resolve())));
  /** Answers checkpoints as the daemon would until the status for `action` arrives. */
  const until = async (action: string) => {
    for (;;) {
      const m = await next();
      if (m.action === 'checkpoint') {
        await send(`${JSON.stringify({ action: 'checkpoint', sequenceNumber: m.sequenceNumber ?? null, subSequenceNumber: m.subSequenceNumber ?? null, error: null })}\n`);
      } else if (m.action === 'status' && m.responseFor === action) return;
    }
  };
  try {
    await send('{"action":"initialize","shardId":"shardId-000000000000","sequenceNumber":"TRIM_HORIZON","subSequenceNumber":0}\n');
    await until('initialize');
    const startupMicros = processCpuMicros(child.pid!);
    for (let b = 0; b < batches; b++) {
      await send(batch);
      await until('processRecords');
    }
    const total = processCpuMicros(child.pid!);
    return { startupMicros, perRecordMicros: (total - startupMicros) / (RECORDS * batches) };
  } finally {
    child.stdin.end('{"action":"leaseLost"}\n');
    await exited;
  }
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[s.length >> 1]!.toFixed(1)} (${s[0]!.toFixed(1)}–${s[s.length - 1]!.toFixed(1)})`;
}

const cpus = os.cpus();
console.log(`machine: ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`batches of ${RECORDS.toLocaleString('en-US')} records of 1 KB (${(batch.length / 2 ** 20).toFixed(1)} MiB lines), ${REPS} interleaved repetitions: median (min–max)`);
for (const batches of BATCHES) {
  const results = new Map<string, { startupMicros: number; perRecordMicros: number }[]>(Object.keys(children).map((k) => [k, []]));
  for (let rep = 0; rep < REPS; rep++) for (const [name, script] of Object.entries(children)) results.get(name)!.push(await once(script, batches));
  console.log(`\n${batches} batch${batches === 1 ? '' : 'es'} per child`);
  console.log(`${'child'.padEnd(22)}${'CPU µs/record'.padEnd(24)}start-up ms`);
  for (const [name, rs] of results) {
    console.log(`${name.padEnd(22)}${stats(rs.map((r) => r.perRecordMicros)).padEnd(24)}${stats(rs.map((r) => r.startupMicros / 1000))}`);
  }
}
