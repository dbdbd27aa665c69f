/**
 * `npm run chaos`: the many-workers proof (see harness.ts). Prints the fault log as it happens, then the
 * summary; exits 1 when a record was lost, a duplicate is unexplained, order broke, two workers overlapped, a
 * partitioned worker did not come back after its heal, or a SIGTERMed worker outlived its grace.
 *
 *   npm run chaos -- [--workers 4] [--shards 8] [--duration 180] [--kill-rate 8] [--seed N]
 *                    [--failover 10000] [--aggregate N] [--no-reshard]
 *                    [--partition-rate N] [--partitions blackhole,half-open,reset,latency,refuse] [--no-network]
 *                    [--shutdown-grace 10000] [--retrieval polling|fanout]
 */
import os from 'node:os';
import { Command, Option } from 'commander';
import { runChaos } from './harness.js';
import { NET_FAULT_KINDS, type NetFaultKind } from './log.js';

const int = (name: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
};

const program = new Command('chaos')
  .description('kill, pause, stop and add worker processes while records flow; then check nothing was lost')
  .addOption(new Option('--workers <n>', 'worker processes after scale-out').default(4).argParser(int('workers', 2)))
  .addOption(new Option('--shards <n>', 'shards of the stream').default(8).argParser(int('shards', 1)))
  .addOption(new Option('--duration <seconds>', 'length of the fault phase').default(180).argParser(int('duration', 5)))
  .addOption(new Option('--kill-rate <n>', 'faults per minute on average: SIGKILL, SIGSTOP/SIGCONT, SIGTERM or a new worker').default(8).argParser(int('kill-rate', 1)))
  .addOption(new Option('--faults-per-minute <n>', 'same as --kill-rate').argParser(int('faults-per-minute', 1)))
  .addOption(new Option('--seed <n>', 'seed of the fault schedule').default(Date.now() % 100_000).argParser(int('seed', 0)))
  .addOption(new Option('--failover <ms>', 'failoverTimeMillis of every worker').default(10_000).argParser(int('failover', 1000)))
  .addOption(new Option('--checkpoint-interval <ms>', 'the processors checkpoint after a batch once this much time has passed').default(1000).argParser(int('checkpoint-interval', 0)))
  .addOption(new Option('--rate <n>', 'records per second produced').default(200).argParser(int('rate', 1)))
  .addOption(new Option('--calm <seconds>', 'fault-free window after balancing, for the steady-state cost').default(30).argParser(int('calm', 1)))
  .addOption(new Option('--aggregate <n>', 'KPL-aggregate this many user records per Kinesis record (1 = plain)').default(1).argParser(int('aggregate', 1)))
  .addOption(
    new Option('--partition-rate <n>', 'network partitions per minute on average, besides the process faults (default: a third of --kill-rate, at least 2)').argParser(
      int('partition-rate', 1),
    ),
  )
  .addOption(
    new Option('--partitions <kinds>', `the partitions to draw from, comma-separated (default: all of ${NET_FAULT_KINDS.join(',')})`).argParser((value) => {
      const kinds = value.split(',').map((k) => k.trim());
      const unknown = kinds.filter((k) => !(NET_FAULT_KINDS as readonly string[]).includes(k));
      if (unknown.length > 0) throw new Error(`--partitions: unknown kind ${unknown.join(', ')} (known: ${NET_FAULT_KINDS.join(', ')})`);
      return kinds as NetFaultKind[];
    }),
  )
  .option('--no-network', 'no network partitions (workers reach the emulators directly, without fault proxies)')
  .addOption(
    new Option('--retrieval <mode>', 'how every worker reads its shards: polling (GetRecords) or fanout (enhanced fan-out, SubscribeToShard)')
      .choices(['polling', 'fanout'])
      .default('polling'),
  )
  .addOption(new Option('--shutdown-grace <ms>', 'every worker\'s shutdown timeout; a SIGTERMed worker must exit within it').default(10_000).argParser(int('shutdown-grace', 1000)))
  .option('--no-reshard', 'no split and merge during the faults')
  .option('--dir <path>', 'directory for the worker logs (default: a new temporary directory)');

program.parse();
const o = program.opts<{
  workers: number;
  shards: number;
  duration: number;
  killRate: number;
  faultsPerMinute?: number;
  seed: number;
  failover: number;
  checkpointInterval: number;
  rate: number;
  calm: number;
  aggregate: number;
  partitionRate?: number;
  partitions?: NetFaultKind[];
  network: boolean;
  shutdownGrace: number;
  retrieval: 'polling' | 'fanout';
  reshard: boolean;
  dir?: string;
}>();

const faultsPerMinute = o.faultsPerMinute ?? o.killRate;
const partitionsPerMinute = o.network ? (o.partitionRate ?? Math.max(2, Math.round(faultsPerMinute / 3))) : 0;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
const retrievalMode = o.retrieval === 'fanout' ? 'FANOUT' : 'POLLING';
console.log(
  `chaos run: seed ${o.seed}, ${o.retrieval === 'fanout' ? 'enhanced fan-out' : 'polling'}, ${o.workers} workers, ${o.shards} shards, ${o.duration} s of faults at ~${faultsPerMinute}/min, failover ${o.failover} ms, ` +
    `checkpoint every ${o.checkpointInterval} ms, ${o.rate} records/s${o.aggregate > 1 ? ` in KPL aggregates of ${o.aggregate}` : ''}, resharding ${o.reshard ? 'on' : 'off'}, ` +
    `network partitions ${partitionsPerMinute > 0 ? `~${partitionsPerMinute}/min (${(o.partitions ?? NET_FAULT_KINDS).join(', ')})` : 'off'}, shutdown grace ${o.shutdownGrace} ms`,
);
const result = await runChaos({
  workers: o.workers,
  shards: o.shards,
  durationSeconds: o.duration,
  faultsPerMinute,
  seed: o.seed,
  failoverTimeMillis: o.failover,
  checkpointIntervalMillis: o.checkpointInterval,
  recordsPerSecond: o.rate,
  calmSeconds: o.calm,
  reshard: o.reshard,
  aggregate: o.aggregate,
  partitionsPerMinute,
  partitionKinds: o.partitions,
  shutdownGraceMillis: o.shutdownGrace,
  retrievalMode,
  dir: o.dir,
  print: (line) => console.log(line),
});
console.log('');
for (const line of result.summary) console.log(line);
process.exitCode = result.passed ? 0 : 1;
