/**
 * One worker of the lease-scale bench, in a process of its own: the project's LeaseCoordinator (taker, renewer,
 * hand-off) on the real LeaseTable, without shard sync or consumers (the table has no stream behind it; see
 * docs/lease-protocol.md, 'Scale and cost'). It reports to the bench over IPC and answers its requests.
 *
 *   node dist/bench/lease-scale/worker-child.js '<json ChildOptions>'   (started by bench/lease-scale.ts)
 */
import { createDynamoDBClient } from '../../src/aws/clients.js';
import { systemClock } from '../../src/common/clock.js';
import { KclEvents } from '../../src/common/events.js';
import { silentLogger } from '../../src/common/logger.js';
import { LeaseCoordinator } from '../../src/leases/coordinator.js';
import { LeaseTable } from '../../src/leases/lease-table.js';
import type { Lease } from '../../src/leases/lease.js';
import { copyCounts, countLeaseTableCalls } from '../lease-calls.js';
import type { ChildOptions, ChildReport, ChildRequest, TurnReport } from './protocol.js';

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const send = (m: ChildReport) => process.send?.(m);
const cpuMillis = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The real table; only notes the CPU clock when a taker turn starts (its scan), to charge the turn its CPU. */
class TimedLeaseTable extends LeaseTable {
  turnStart: { cpu: number; wall: number } | undefined;
  override listLeases(): Promise<Lease[]> {
    this.turnStart = { cpu: cpuMillis(), wall: performance.now() };
    return super.listLeases();
  }
}

const events = new KclEvents();
const dynamodb = createDynamoDBClient({ dynamoDBEndpoint: options.endpoint });
const renewMillis = Math.max(1, Math.floor(options.failoverTimeMillis / 3) - 25);
const table = new TimedLeaseTable(dynamodb, options.table, systemClock, { writeDeadlineMillis: renewMillis, onCall: (o) => events.emit('aws.call', o) });
const coordinator = new LeaseCoordinator(
  table,
  {
    workerId: options.workerId,
    failoverTimeMillis: options.failoverTimeMillis,
    epsilonMillis: 25,
    maxLeasesForWorker: Number.MAX_SAFE_INTEGER,
    maxLeasesToStealAtOneTime: 1,
    maxLeaseRenewalThreads: 20,
    isGracefulLeaseHandoffEnabled: true,
    gracefulLeaseHandoffTimeoutMillis: 30_000,
  },
  systemClock,
  events,
  silentLogger,
);
// No consumer ever runs: a lease handed over by graceful hand-off is released at once, as a worker does for a
// lease whose consumer has not started.
events.on('lease.handoffRequested', ({ leaseKey }) => void coordinator.release(leaseKey));

const counts = countLeaseTableCalls(events);
const turns: TurnReport[] = [];
const failures: Record<string, number> = {};
events.on('aws.call', ({ service, outcome, purpose }) => {
  if (service !== 'dynamodb' || outcome === 'ok' || outcome === 'conditional-check-failed') return;
  const key = `${purpose ?? '?'} ${outcome}`;
  failures[key] = (failures[key] ?? 0) + 1;
});
events.on('leases.scanned', ({ wanted, moved, scanMillis, leases }) => {
  const start = table.turnStart;
  turns.push({ at: Date.now(), leases: leases.length, wanted, moved, scanMillis, turnMillis: start ? performance.now() - start.wall : 0, cpuMillis: start ? cpuMillis() - start.cpu : 0 });
});

const stop = new AbortController();
const running = coordinator.run(stop.signal, (err) => send({ kind: 'fatal', message: err.message }));

process.on('message', (m: ChildRequest) => {
  if (m.kind === 'status') {
    send({ kind: 'status', held: coordinator.heldLeases().length, pendingHandoffs: coordinator.pendingHandoffKeys().length, cpuMillis: cpuMillis(), rssBytes: process.memoryUsage().rss, failures: { ...failures }, calls: copyCounts(counts), turns: turns.splice(0) });
  } else if (m.kind === 'stop') {
    stop.abort();
    void running.finally(() => {
      dynamodb.destroy();
      send({ kind: 'stopped' });
      process.disconnect?.();
    });
  }
});
process.on('disconnect', () => stop.abort());
send({ kind: 'ready' });
