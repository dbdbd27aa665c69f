/**
 * Lease-table scale: what 1,000 and 10,000 leases cost, measured with the project's own lease code (LeaseTable,
 * LeaseCoordinator with its taker and renewer, the decisions, `kcl status`, the status model) against dynalite
 * running in a process of its own. Prints figures and the machine; asserts nothing.
 *
 * Per lease count L:
 *  1. fill: L leases in the Java item format (leases/serializer.ts), BatchWriteItem;
 *  2. one full scan (LeaseTable.listLeases): pages, items, bytes as DynamoDB bills them, wall and CPU, and the
 *     read units AWS would charge;
 *  3. the taker's decisions as pure functions on L leases (fresh table, steady state, a worker joining);
 *  4. for each fleet size W: W worker processes (LeaseCoordinator, no shard sync, no consumers) on a fresh table:
 *     time until balanced, the taker's turns (takes per turn, wall and CPU), then the steady-state lease-table
 *     calls per shard-minute by purpose next to the Java KCL model and ours, CPU per lease;
 *  5. `kcl status` (plain, --json, --watch into a pipe) over the table: time to first output, total, size;
 *  6. the status model's /status snapshot and the --watch renderer on L leases: build time and size.
 *
 * Renewals cost about 2 ms of CPU each on this machine (the SDK's per-call work), so L leases at the default
 * failover (10 s: a renewal of every lease every 3.3 s) do not fit 2 shared cores. The failover therefore scales
 * with L (--failover auto: max(10 s, 15 ms × L)); calls per shard-minute scale as 1/failover for both us and the
 * Java model, so the comparison holds, and the figures at 10 s are printed scaled.
 *
 *   npm run bench:lease-scale -- [--leases 1000,10000] [--workers 1,4,16] [--failover auto|<ms>] [--window <s>]
 *                                [--baseline <other build's dist/> [--baseline-limit <s>]]
 *
 * With --baseline, each fleet first balances with the other build's workers (no steady-state window: what it
 * compares is the taker) and its `kcl status` runs next to ours, in the same run.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createDynamoDBClient } from '../src/aws/clients.js';
import { systemClock } from '../src/common/clock.js';
import { KclEvents, type LeaseView } from '../src/common/events.js';
import { aliveWorkers, decideLeasesToTake, nextTakerDelay, observe, shuffleWith, type Observations } from '../src/leases/decisions.js';
import { LeaseTable } from '../src/leases/lease-table.js';
import type { Lease } from '../src/leases/lease.js';
import { leaseToItem } from '../src/leases/serializer.js';
import { LeaseTableWatch } from '../src/cli/status-watch.js';
import { StatusModel } from '../src/status/model.js';
import { renderTableView } from '../src/status/terminal.js';
import type { LeaseTableCallCounts } from './lease-calls.js';
import { javaModel, ourModel } from './lease-scale/model.js';
import type { ChildOptions, ChildReport, TurnReport } from './lease-scale/protocol.js';
import { benchLease, dropTable, fillLeases, itemBytes, scanCost } from './lease-scale/table.js';
import { startEmulator } from './emulator-process.js';
import { processCpuMicros } from './proc.js';

const { values } = parseArgs({
  options: {
    leases: { type: 'string', default: '1000,10000' },
    workers: { type: 'string', default: '1,4,16' },
    failover: { type: 'string', default: 'auto' },
    window: { type: 'string' },
    repeat: { type: 'string', default: '5' },
    /** The dist/ of another build (a worktree at an earlier commit): its workers balance and its kcl status run too, as the baseline. */
    baseline: { type: 'string' },
    'baseline-limit': { type: 'string', default: '300' },
  },
});
const LEASE_COUNTS = values.leases.split(',').map(Number);
/** `--workers none`: only the fill, the scan, the decisions and the status measurements. */
const FLEETS = values.workers === 'none' ? [] : values.workers.split(',').map(Number);
const REPEAT = Number(values.repeat);
const here = path.dirname(fileURLToPath(import.meta.url));
const mainJs = path.join(here, '..', 'src', 'cli', 'main.js');
const childJs = path.join(here, 'lease-scale', 'worker-child.js');
const baseline = values.baseline ? { mainJs: path.join(values.baseline, 'src', 'cli', 'main.js'), childJs: path.join(values.baseline, 'bench', 'lease-scale', 'worker-child.js') } : undefined;

const failoverFor = (leases: number) => (values.failover === 'auto' ? Math.max(10_000, 15 * leases) : Number(values.failover));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const cpuMillis = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f = (x: number, d = 1) => x.toFixed(d);
const kib = (bytes: number) => `${f(bytes / 1024)} KiB`;
/** CPU ms of another process, from /proc (user + system). */
const procCpuMillis = (pid: number | undefined): number => (pid === undefined ? Number.NaN : processCpuMicros(pid) / 1000);

// ---- scan -----------------------------------------------------------------------------------------------------

async function measureScan(table: LeaseTable, pagesSeen: { n: number }, leases: readonly Lease[]): Promise<{ pages: number }> {
  const walls: number[] = [];
  const cpus: number[] = [];
  let pages = 0;
  let items = 0;
  for (let i = 0; i < REPEAT; i++) {
    pagesSeen.n = 0;
    const c0 = cpuMillis();
    const t0 = performance.now();
    items = (await table.listLeases()).length;
    walls.push(performance.now() - t0);
    cpus.push(cpuMillis() - c0);
    pages = pagesSeen.n;
  }
  const sizes = leases.map((l) => itemBytes(leaseToItem(l)));
  const aws = scanCost(sizes);
  console.log(`  scan (LeaseTable.listLeases, eventually consistent: no ConsistentRead): ${items} items, ${pages} pages on dynalite (${f(items / pages, 0)} items/page), median of ${REPEAT}: ${f(median(walls), 0)} ms wall, ${f(median(cpus), 0)} ms CPU in this process (${f((median(cpus) * 1000) / items, 1)} µs per lease)`);
  console.log(`    as DynamoDB bills it: ${kib(aws.bytes)} (${f(aws.bytes / items, 0)} B per item), ${aws.pages} page${aws.pages === 1 ? '' : 's'} of ≤ 1 MB, ${f(aws.eventualRcu)} RCU eventually consistent (${aws.strongRcu} if strongly consistent)`);
  return { pages: aws.pages };
}

// ---- decisions ------------------------------------------------------------------------------------------------

function timeIt(fn: () => unknown): number {
  const runs: number[] = [];
  for (let i = 0; i < REPEAT * 3; i++) {
    const t0 = performance.now();
    fn();
    runs.push(performance.now() - t0);
  }
  return median(runs);
}

function measureDecisions(n: number): void {
  const workers = Array.from({ length: 16 }, (_, i) => `w${String(i).padStart(2, '0')}`);
  const fresh = Array.from({ length: n }, (_, i) => benchLease(i, n));
  const owned = fresh.map((l, i) => ({ ...l, leaseOwner: workers[i % 16], leaseCounter: 5 }));
  const now = 1_000_000;
  const obsOwned = observe(new Map(), owned, now - 1000);
  const mine = new Set(owned.filter((l) => l.leaseOwner === 'w00').map((l) => l.leaseKey));
  const shuffle = shuffleWith(Math.random);
  const decide = (leases: readonly Lease[], obs: Observations, workerId: string, held: ReadonlySet<string>) =>
    decideLeasesToTake({ leases, observations: obs, workerId, now, failoverMillis: 10_000, maxLeasesForWorker: Number.MAX_SAFE_INTEGER, maxLeasesToStealAtOneTime: 1, held, shuffle });
  const cases: [string, () => unknown][] = [
    ['observe (fold a scan into the observations)', () => observe(obsOwned, owned, now)],
    ['decide: fresh table, 1 worker', () => decide(fresh, new Map(), 'w00', new Set())],
    ['decide: 16 workers balanced, one at its share', () => decide(owned, obsOwned, 'w00', mine)],
    ['decide: a 17th worker joins (steal)', () => decide(owned, obsOwned, 'w16', new Set())],
    ['aliveWorkers', () => aliveWorkers(owned, obsOwned, 'w00', now, 10_000)],
    ['nextTakerDelay', () => nextTakerDelay({ turnDelayMillis: 10_000, moved: 0, renewIntervalMillis: 3308, leases: owned, observations: obsOwned, workerId: 'w00', scanAt: now, now, failoverMillis: 10_000, epsilonMillis: 25 })],
  ];
  console.log(`  decisions, pure functions on ${n} leases (median of ${REPEAT * 3}):`);
  for (const [name, fn] of cases) console.log(`    ${name.padEnd(48)} ${f(timeIt(fn), 2).padStart(8)} ms`);
}

// ---- fleets ---------------------------------------------------------------------------------------------------

type Status = Extract<ChildReport, { kind: 'status' }>;

class Fleet {
  readonly children: ChildProcess[] = [];
  private readonly waiting = new Map<ChildProcess, (s: Status) => void>();

  constructor(
    private readonly endpoint: string,
    private readonly table: string,
    private readonly failover: number,
    private readonly script = childJs,
  ) {}

  async start(n: number): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const opts: ChildOptions = { endpoint: this.endpoint, table: this.table, workerId: `worker-${String(i).padStart(2, '0')}`, failoverTimeMillis: this.failover };
      const child = fork(this.script, [JSON.stringify(opts)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      this.children.push(child);
      ready.push(
        new Promise((resolve) => {
          child.on('message', (m: ChildReport) => {
            if (m.kind === 'ready') resolve();
            else if (m.kind === 'status') {
              this.waiting.get(child)?.(m);
              this.waiting.delete(child);
            } else if (m.kind === 'fatal') console.log(`    ${opts.workerId}: FATAL ${m.message}`);
          });
        }),
      );
    }
    await Promise.all(ready);
  }

  status(): Promise<Status[]> {
    return Promise.all(
      this.children.map(
        (c) =>
          new Promise<Status>((resolve) => {
            this.waiting.set(c, resolve);
            c.send({ kind: 'status' });
          }),
      ),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            c.send({ kind: 'stop' });
          }),
      ),
    );
  }
}

function sumCalls(statuses: readonly Status[]): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (k: string, v: number) => (out[k] = (out[k] ?? 0) + v);
  for (const { calls } of statuses) {
    const c: LeaseTableCallCounts = calls;
    for (const [k, v] of Object.entries({ scan: c.scan, get: c.get, put: c.put, delete: c.delete, ...c.updates })) add(k, v);
  }
  return out;
}

interface FleetResult {
  readonly workers: number;
  readonly balancedSeconds: number;
  readonly firstTurn: TurnReport | undefined;
  readonly turnsToBalance: number;
  readonly perShardMinute: Record<string, number>;
  readonly total: number;
  readonly cpuPerLeaseMinute: number;
  readonly dynaliteCpuShare: number;
  readonly idleTurn: { cpu: number; wall: number; count: number };
  readonly failures: Record<string, number>;
  /** CPU of all workers from start until balanced (baseline runs only). */
  readonly cpuToBalance?: number;
}

async function runFleet(endpoint: string, dynalitePid: number | undefined, n: number, w: number, failover: number, windowMillis: number, script = childJs, limitMillis = 600_000): Promise<FleetResult> {
  const tableName = `scale-${n}-${w}-${Date.now().toString(36)}`;
  const dynamodb = createDynamoDBClient({ dynamoDBEndpoint: endpoint });
  const table = new LeaseTable(dynamodb, tableName, systemClock);
  await table.createTableIfNotExists();
  await fillLeases(dynamodb, tableName, Array.from({ length: n }, (_, i) => benchLease(i, n)));
  const fleet = new Fleet(endpoint, tableName, failover, script);
  const turns: TurnReport[] = [];
  try {
    const started = performance.now();
    await fleet.start(w);
    let balancedSeconds = NaN;
    for (;;) {
      const s = await fleet.status();
      for (const x of s) turns.push(...x.turns);
      const held = s.map((x) => x.held);
      const total = held.reduce((a, b) => a + b, 0);
      if (total === n && Math.max(...held) - Math.min(...held) <= 1 && s.every((x) => x.pendingHandoffs === 0)) {
        balancedSeconds = (performance.now() - started) / 1000;
        break;
      }
      if (performance.now() - started > limitMillis) {
        console.log(`    ${w} workers: not balanced after ${limitMillis / 1000} s (held ${held.join('/')})`);
        break;
      }
      await sleep(250);
    }
    const turnsToBalance = turns.length;
    const firstTurn = turns.filter((t) => t.moved > 0).sort((a, b) => b.moved - a.moved)[0];
    const atBalance = await fleet.status();
    const cpuToBalance = atBalance.reduce((x, st) => x + st.cpuMillis, 0);
    if (windowMillis === 0) {
      const s = atBalance;
      const failures = s.reduce<Record<string, number>>((x, st) => {
        for (const [k, v] of Object.entries(st.failures)) x[k] = (x[k] ?? 0) + v;
        return x;
      }, {});
      return { workers: w, balancedSeconds, firstTurn, turnsToBalance, perShardMinute: {}, total: NaN, cpuPerLeaseMinute: NaN, dynaliteCpuShare: NaN, idleTurn: { cpu: NaN, wall: NaN, count: 0 }, failures, cpuToBalance };
    }
    // Let follow-up scans and a renewal round pass before counting.
    await sleep(Math.min(failover / 2, 20_000));
    const before = await fleet.status();
    const dynaliteBefore = procCpuMillis(dynalitePid);
    const t0 = performance.now();
    await sleep(windowMillis);
    const after = await fleet.status();
    const elapsed = performance.now() - t0;
    const dynaliteCpu = procCpuMillis(dynalitePid) - dynaliteBefore;
    const idle = after.flatMap((x) => x.turns).filter((t) => t.moved === 0 && t.wanted === 0);
    const b = sumCalls(before);
    const a = sumCalls(after);
    const shardMinutes = (n * elapsed) / 60_000;
    const perShardMinute: Record<string, number> = Object.fromEntries(Object.keys(a).map((k): [string, number] => [k, ((a[k] ?? 0) - (b[k] ?? 0)) / shardMinutes]).filter(([, v]) => v > 0));
    const total = Object.values(perShardMinute).reduce((x, y) => x + y, 0);
    const cpu = after.reduce((x, s, i) => x + s.cpuMillis - (before[i]?.cpuMillis ?? 0), 0);
    return {
      workers: w,
      balancedSeconds,
      firstTurn,
      turnsToBalance,
      perShardMinute,
      total,
      cpuPerLeaseMinute: cpu / shardMinutes,
      dynaliteCpuShare: dynaliteCpu / elapsed,
      idleTurn: { cpu: median(idle.map((t) => t.cpuMillis)), wall: median(idle.map((t) => t.turnMillis)), count: idle.length },
      cpuToBalance,
      failures: after.reduce<Record<string, number>>((x, s) => {
        for (const [k, v] of Object.entries(s.failures)) x[k] = (x[k] ?? 0) + v;
        return x;
      }, {}),
    };
  } finally {
    await fleet.stop();
    // The table stays for the status measurements when it is the last fleet; dropped by the caller.
    dynamodb.destroy();
  }
}

function printFleet(r: FleetResult, n: number, failover: number, scanPages: number): void {
  const java = javaModel({ failoverMillis: failover, workers: r.workers, leases: n, scanPages });
  const ours = ourModel({ failoverMillis: failover, workers: r.workers, leases: n, scanPages });
  const scale = failover / 10_000;
  const byKind = Object.entries(r.perShardMinute)
    .map(([k, v]) => `${k} ${v < 0.1 ? v.toFixed(4) : f(v, 2)}`)
    .join(', ');
  const t = r.firstTurn;
  console.log(`  ${r.workers} worker${r.workers === 1 ? '' : 's'}: balanced after ${f(r.balancedSeconds)} s, ${r.turnsToBalance} turns in all, workers' CPU until then ${f((r.cpuToBalance ?? NaN) / 1000, 1)} s`);
  if (t) console.log(`    biggest turn: ${t.wanted} wanted, ${t.moved} taken, scan ${f(t.scanMillis, 0)} ms, turn ${f(t.turnMillis / 1000, 2)} s wall, ${f(t.cpuMillis / 1000, 2)} s CPU (${f((t.cpuMillis * 1000) / Math.max(1, t.moved), 0)} µs per take incl. the scan)`);
  console.log(`    turn with nothing to take (steady state): ${f(r.idleTurn.wall, 0)} ms wall, ${f(r.idleTurn.cpu, 0)} ms CPU (median of ${r.idleTurn.count}; CPU includes renewals running meanwhile)`);
  console.log(`    steady state, lease-table calls per shard-minute at failover ${failover / 1000} s: ${f(r.total, 3)} (${byKind}); calls failed (not on a condition) since start: ${Object.entries(r.failures).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  console.log(`      model, ours: ${f(ours.total, 3)} (renew ${f(ours.renew, 3)}, taker scan pages ${ours.scan.toFixed(4)}, shard-sync scan pages ≤ ${ours.otherScan.toFixed(4)})`);
  console.log(`      model, Java: ${f(java.total, 3)} (renew ${f(java.renew, 3)}, taker scan pages ${java.scan.toFixed(4)}, auditor + leader election pages ${java.otherScan.toFixed(4)})`);
  console.log(`      at the default failover (10 s) that is ${f(r.total * scale, 2)} measured, Java ${f(javaModel({ failoverMillis: 10_000, workers: r.workers, leases: n, scanPages }).total, 2)}`);
  console.log(`    CPU: workers ${f(r.cpuPerLeaseMinute, 2)} ms per lease-minute (${f((r.cpuPerLeaseMinute * scale), 2)} at failover 10 s: ${f((r.cpuPerLeaseMinute * scale * n) / 60_000 * 100, 0)} % of a core for ${n} leases); dynalite ${f(r.dynaliteCpuShare * 100, 0)} % of a core`);
}

// ---- kcl status ------------------------------------------------------------------------------------------------

/** Where the first --watch frame ends in pipe output (after its LEASE MOVES section), or -1. */
function frameEnd(text: string): number {
  const moves = text.indexOf('LEASE MOVES');
  const end = moves < 0 ? -1 : text.indexOf('\n\n', moves);
  return end < 0 ? -1 : end + 1;
}

async function runCli(js: string, args: string[], stopAfterFirstOutput = false): Promise<{ firstMillis: number; totalMillis: number; bytes: number; lines: number; head: string }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [js, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', NO_COLOR: '1' } });
  let first = NaN;
  let bytes = 0;
  let text = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += String(d)));
  await new Promise<void>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (Number.isNaN(first)) first = performance.now() - t0;
      bytes += d.length;
      if (text.length < 2_000_000) text += String(d);
      // --watch into a pipe: a frame ends with its lease-moves section and a blank line.
      if (stopAfterFirstOutput && frameEnd(text) > 0) child.kill('SIGINT');
    });
    child.once('exit', () => resolve());
  });
  if (err.trim()) console.log(`    stderr: ${err.trim().slice(0, 300)}`);
  const frame = stopAfterFirstOutput ? text.slice(0, frameEnd(text)) : text;
  // Lines are counted in what was kept (the first 2 MB).
  return { firstMillis: first, totalMillis: performance.now() - t0, bytes: stopAfterFirstOutput ? Buffer.byteLength(frame) : bytes, lines: text.length < 2_000_000 || stopAfterFirstOutput ? frame.split('\n').length - 1 : NaN, head: frame.split('\n').slice(0, 3).join(' | ') };
}

async function measureStatus(endpoint: string, tableName: string, n: number): Promise<void> {
  const base = ['status', '--application', tableName, '--dynamodb-endpoint', endpoint, '--region', 'us-east-1'];
  for (const [name, args, watch] of [
    ['kcl status', base, false],
    ['kcl status --json', [...base, '--json'], false],
    ['kcl status --watch (into a pipe, first frame)', [...base, '--watch'], true],
  ] as const) {
    for (const [who, js] of [...(baseline ? [['BASELINE ', baseline.mainJs]] : []), ['', mainJs]] as const) {
      const r = await runCli(js, [...args], watch);
      console.log(`  ${(who + name).padEnd(55)} first output ${f(r.firstMillis, 0)} ms, ${watch ? 'frame' : 'done'} ${f(r.totalMillis, 0)} ms, ${kib(r.bytes)}, ${Number.isNaN(r.lines) ? 'lines not counted (over 2 MB)' : `${r.lines} lines`}`);
    }
  }

  // In-process: the --watch model and renderer, and a worker's /status snapshot, on the same leases.
  const dynamodb = createDynamoDBClient({ dynamoDBEndpoint: endpoint });
  const leases = await new LeaseTable(dynamodb, tableName, systemClock).listLeases();
  dynamodb.destroy();
  const watch = new LeaseTableWatch({ table: tableName, failoverMillis: 10_000 });
  let view = watch.observe(leases, { sentAt: 0, answeredAt: 1, wallAt: Date.now() });
  const observeMs = timeIt(() => (view = watch.observe(leases, { sentAt: 2000, answeredAt: 2001, wallAt: Date.now() })));
  let lines: string[] = [];
  const renderMs = timeIt(() => (lines = renderTableView(view, { width: 160, height: 50, color: true, now: Date.now(), intervalMillis: 2000 })));
  console.log(`  --watch per frame, ${n} leases: observe ${f(observeMs, 1)} ms, render for a 160×50 terminal ${f(renderMs, 1)} ms (${lines.length} lines)`);

  const events = new KclEvents();
  const model = new StatusModel(events.readOnly(), { application: 'app', stream: 'stream', workerId: leases[0]?.leaseOwner ?? 'w', retrievalMode: 'POLLING', clock: systemClock });
  const views: LeaseView[] = leases.map((l) => ({ leaseKey: l.leaseKey, leaseOwner: l.leaseOwner, leaseCounter: l.leaseCounter, checkpoint: l.checkpoint, parentShardIds: l.parentShardIds }));
  const workers = [...new Set(leases.map((l) => l.leaseOwner).filter((o): o is string => o !== undefined))];
  const scanMs = timeIt(() => events.emit('leases.scanned', { workerId: 'w', leases: views, workers, wanted: 0, moved: 0, scanMillis: 1 }));
  let json = '';
  const snapMs = timeIt(() => (json = JSON.stringify(model.snapshot())));
  console.log(`  worker status model, ${n} leases: a scan event ${f(scanMs, 1)} ms, GET /status (snapshot + JSON) ${f(snapMs, 1)} ms, ${kib(Buffer.byteLength(json))}`);
  model.close();
}

// ---- main ------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${os.loadavg().map((x) => f(x, 2)).join(' ')}`);
  const dynalite = await startEmulator('dynalite');
  console.log(`dynalite in its own process (pid ${dynalite.pid}) at ${dynalite.endpoint}`);
  try {
    for (const n of LEASE_COUNTS) {
      const failover = failoverFor(n);
      // A whole number of renewal periods: every worker renews all its leases in one burst per period, so a window
      // of 12.5 periods would count 12 or 13 bursts (±8 %) depending on where it starts.
      const period = Math.floor(failover / 3) - 25;
      const windowMillis = Math.max(1, Math.round((values.window ? Number(values.window) * 1000 : Math.max(60_000, failover)) / period)) * period;
      console.log(`\n== ${n} leases (failover ${failover / 1000} s: renewals every ${f((Math.floor(failover / 3) - 25) / 1000)} s; steady-state window ${windowMillis / 1000} s)`);
      const dynamodb = createDynamoDBClient({ dynamoDBEndpoint: dynalite.endpoint });
      const tableName = `scale-${n}-${Date.now().toString(36)}`;
      const pages = { n: 0 };
      const table = new LeaseTable(dynamodb, tableName, systemClock, { onCall: (o) => o.purpose === 'scan' && pages.n++ });
      await table.createTableIfNotExists();
      const leases = Array.from({ length: n }, (_, i) => benchLease(i, n));
      const t0 = performance.now();
      await fillLeases(dynamodb, tableName, leases);
      console.log(`  fill: ${n} leases by BatchWriteItem in ${f((performance.now() - t0) / 1000, 1)} s`);
      const { pages: scanPages } = await measureScan(table, pages, leases);
      measureDecisions(n);
      await dropTable(dynamodb, tableName);
      dynamodb.destroy();

      let lastTable: string | undefined;
      for (const w of FLEETS) {
        if (baseline) {
          const b = await runFleet(dynalite.endpoint, dynalite.pid, n, w, failover, 0, baseline.childJs, Number(values['baseline-limit']) * 1000);
          const t = b.firstTurn;
          console.log(`  BASELINE ${w} worker${w === 1 ? '' : 's'}: balanced after ${f(b.balancedSeconds)} s, ${b.turnsToBalance} turns, workers' CPU ${f((b.cpuToBalance ?? NaN) / 1000, 1)} s` +
            (t ? `; biggest turn ${t.wanted} wanted, ${t.moved} taken in ${f(t.turnMillis / 1000, 2)} s` : '') + `; calls failed (not on a condition): ${Object.entries(b.failures).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
        }
        const r = await runFleet(dynalite.endpoint, dynalite.pid, n, w, failover, windowMillis);
        printFleet(r, n, failover, scanPages);
      }
      // kcl status over a table as a fleet leaves it: every lease owned, counters moved.
      const owners = Array.from({ length: Math.max(16, ...FLEETS) }, (_, i) => `worker-${String(i).padStart(2, '0')}`);
      lastTable = `scale-status-${n}-${Date.now().toString(36)}`;
      const admin = createDynamoDBClient({ dynamoDBEndpoint: dynalite.endpoint });
      await new LeaseTable(admin, lastTable, systemClock).createTableIfNotExists();
      await fillLeases(admin, lastTable, leases.map((l, i) => benchLease(i, n, owners[i % owners.length], 40)));
      await measureStatus(dynalite.endpoint, lastTable, n);
      await dropTable(admin, lastTable);
      admin.destroy();
    }
  } finally {
    await dynalite.stop();
  }
}

await main();
