/**
 * Lease-table cost model: DynamoDB calls per shard-minute in steady state, for several fleet sizes, measured
 * against the local emulators and printed next to the Java KCL 2.x model at the same failover time.
 *
 * Each configuration: a fresh idle stream of S shards (no records, so no checkpoints: the worst case for us,
 * since a checkpoint also serves as the renewal), W workers in this process (each with its own clients and
 * worker id, sharing only the lease table), wait until every lease is held and the counts differ by ≤ 1, let
 * the moves settle, then count every lease-table call for the window.
 *
 *   npm run bench:lease-cost -- [--window 30] [--failover 10000] [--fleets 1x8,2x8,4x8,4x32,8x32]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createDynamoDBClient, createKinesisClient } from '../src/aws/clients.js';
import { silentLogger } from '../src/common/logger.js';
import { startLocalStack } from '../src/local/stack.js';
import { ensureStream } from '../src/local/streams.js';
import { Worker } from '../src/worker/worker.js';
import { workerInternals } from '../src/worker/internals.js';
import { idleProcessor } from './idle-processor.js';
import { javaLeaseCalls } from './chaos/analysis.js';
import { countLeaseTableCalls, type LeaseTableCallCounts } from './lease-calls.js';

const { values } = parseArgs({
  options: {
    window: { type: 'string', default: '30' },
    failover: { type: 'string', default: '10000' },
    fleets: { type: 'string', default: '1x8,2x8,4x8,4x32,8x32' },
  },
});
const WINDOW_MILLIS = Number(values.window) * 1000;
const FAILOVER = Number(values.failover);
const FLEETS = values.fleets.split(',').map((f) => f.split('x').map(Number) as [number, number]);


const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function total(counters: LeaseTableCallCounts[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of counters) {
    for (const [k, v] of Object.entries({ scan: c.scan, get: c.get, put: c.put, delete: c.delete, ...c.updates })) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}


/**
 * DynamoDB bills request units, not calls: a write of a small item is 1 write unit, an eventually consistent
 * scan 0.5 read unit per 4 KB read (a lease item is ~300 bytes), a consistent GetItem 1 read unit; on-demand,
 * a write unit costs 5 read units. Returned in read-unit equivalents per shard-minute.
 */
function requestCost(perKind: Record<string, number>, shards: number): number {
  const scanUnits = 0.5 * Math.ceil((shards * 300) / 4096);
  let cost = 0;
  for (const [kind, n] of Object.entries(perKind)) cost += kind === 'scan' ? n * scanUnits : kind === 'get' ? n : 5 * n;
  return cost;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  console.log(`failover ${FAILOVER} ms, window ${WINDOW_MILLIS / 1000} s per fleet, idle streams (no checkpoints)`);
  const stack = await startLocalStack();
  const admin = createKinesisClient({ kinesisEndpoint: stack.kinesisEndpoint });
  const rows: string[] = [];
  try {
    for (const [W, S] of FLEETS) {
      const stream = `cost-${W}x${S}-${Date.now().toString(36)}`;
      await ensureStream(admin, stream, S);
      const clients: { destroy(): void }[] = [];
      const client = <T extends { destroy(): void }>(c: T): T => (clients.push(c), c);
      const workers = Array.from(
        { length: W },
        (_, i) =>
          new Worker({
            config: {
              streamName: stream,
              applicationName: `${stream}-app`,
              workerId: `worker-${i}`,
              failoverTimeMillis: FAILOVER,
              initialPositionInStream: 'TRIM_HORIZON',
              kinesisEndpoint: stack.kinesisEndpoint,
              dynamoDBEndpoint: stack.dynamodbEndpoint,
            },
            processorFactory: idleProcessor,
            kinesis: client(createKinesisClient({ kinesisEndpoint: stack.kinesisEndpoint })),
            dynamodb: client(createDynamoDBClient({ dynamoDBEndpoint: stack.dynamodbEndpoint })),
            logger: silentLogger,
          }),
      );
      const counters = workers.map((w) => countLeaseTableCalls(w.events));
      try {
        for (const w of workers) await w.start();
        const started = Date.now();
        for (;;) {
          const counts = workers.map((w) => workerInternals(w).leases.heldLeases().length);
          const pending = workers.some((w) => workerInternals(w).leases.pendingHandoffKeys().length > 0);
          if (!pending && counts.reduce((a, b) => a + b, 0) === S && Math.max(...counts) - Math.min(...counts) <= 1) break;
          if (Date.now() - started > 120_000) throw new Error(`${W}×${S}: not balanced after 120 s (${counts.join('/')})`);
          await sleep(200);
        }
        const balancedAfter = (Date.now() - started) / 1000;
        await sleep(FAILOVER); // let follow-up scans and the first renewals settle
        const before = total(counters);
        const t0 = performance.now();
        await sleep(WINDOW_MILLIS);
        const after = total(counters);
        const shardMinutes = (S * (performance.now() - t0)) / 60_000;
        const kinds = Object.keys(after)
          .map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)] as const)
          .filter(([, v]) => v > 0);
        const calls = kinds.reduce((a, [, v]) => a + v, 0);
        const perShardMinute = calls / shardMinutes;
        const java = javaLeaseCalls(FAILOVER, W, S);
        const perKind = Object.fromEntries(kinds.map(([k, v]) => [k, v / shardMinutes]));
        const cost = requestCost(perKind, S);
        const javaCost = requestCost({ renew: java.renewals, scan: java.scans }, S);
        const pct = (x: number, y: number) => `${x >= y ? '+' : ''}${((x / y - 1) * 100).toFixed(0)} %`;
        const row =
          `${String(W).padStart(7)}  ${String(S).padStart(6)}  ${balancedAfter.toFixed(1).padStart(6)} s  ${perShardMinute.toFixed(1).padStart(14)}  ${java.calls.toFixed(1).padStart(8)}  ` +
          `${pct(perShardMinute, java.calls).padStart(6)}  ${pct(cost, javaCost).padStart(6)}   ${kinds.map(([k]) => `${k} ${perKind[k]!.toFixed(1)}`).join(', ')}`;
        rows.push(row);
        console.log(row);
      } finally {
        await Promise.all(workers.map((w) => w.shutdown()));
        // The workers do not destroy clients they were given.
        for (const c of clients.splice(0)) c.destroy();
      }
    }
  } finally {
    admin.destroy();
    await stack.stop();
  }
  console.log('');
  console.log('workers  shards  balanced  calls/shard-min  Java 2.x  calls   cost    (ours by kind, per shard-minute)');
  console.log('                                                   vs Java vs Java (request units, write = 5 reads)');
  for (const r of rows) console.log(r);
}

await main();
