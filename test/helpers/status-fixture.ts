/**
 * A stand-in for the worker's status server, for tests of the page alone: serves `renderStatusPage()` at `/` and a
 * `StatusSnapshot` at `/status` that a test changes between looks (the scenario below, or any snapshot it sets).
 * Records every request path so a test can see the page polling.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderStatusPage } from '../../src/status/page.js';
import type { LeaseMove, ShardStatus, StatusError, StatusSnapshot, WorkerStatus } from '../../src/status/types.js';

export interface FixtureServer {
  url: string;
  readonly requests: string[];
  snapshot: StatusSnapshot;
  /** Answers /status with this HTTP status instead of the snapshot while set. */
  failWith?: number;
  close(): Promise<void>;
}

export async function startFixtureServer(initial: StatusSnapshot, pollMillis = 1000): Promise<FixtureServer> {
  const page = renderStatusPage({ pollMillis });
  const sockets = new Set<import('node:net').Socket>();
  const state: FixtureServer = {
    url: '',
    requests: [],
    snapshot: initial,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
  const server = http.createServer((req, res) => {
    state.requests.push(req.url ?? '');
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } else if (req.url === '/status') {
      if (state.failWith !== undefined) res.writeHead(state.failWith).end();
      else res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(state.snapshot));
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return state;
}

const SEQ = '49654213546540291378924345837492373428937493874934';

/**
 * A small application over time: this worker (worker-a) and worker-b share four shards; each step adds records;
 * from step `goneAt` worker-b's leases stop being renewed (it is gone), and at `takenAt` worker-a takes them.
 * shardId-000000000001 is stuck from the start: ours, 40 s behind, no record for 45 s. 4 is finished, 5 waits for
 * its parents, 6 is being handed off.
 */
export class StatusScenario {
  step = 0;
  private readonly start = Date.now();
  constructor(
    private readonly opts: { goneAt: number; takenAt: number } = { goneAt: 3, takenAt: 5 },
  ) {}

  snapshot(): StatusSnapshot {
    const now = this.start + this.step * 1000;
    const iso = (t: number) => new Date(t).toISOString();
    const bGone = this.step >= this.opts.goneAt;
    const aHasAll = this.step >= this.opts.takenAt;
    const series = (base: number) => Array.from({ length: Math.min(30, this.step + 5) }, (_, i) => base + ((i * 7 + this.step) % 5));
    const ours = (n: number): ShardStatus => ({
      shardId: `shardId-00000000000${n}`,
      owner: 'worker-a',
      state: 'processing',
      checkpoint: `${SEQ.slice(0, -3)}${String(100 + this.step * 10 + n)}`,
      parentShardIds: [],
      millisBehindLatest: 200 + n * 10,
      records: 1000 * (n + 1) + this.step * 25,
      recordsPerSecond: series(20 + n),
      lastRecordAt: iso(now - 300),
    });
    const shards: ShardStatus[] = [
      ours(0),
      {
        ...ours(1),
        millisBehindLatest: 40_000,
        records: 512,
        recordsPerSecond: series(0).map(() => 0),
        lastRecordAt: iso(now - 45_000),
      },
      ...[2, 3].map(
        (n): ShardStatus =>
          aHasAll
            ? { ...ours(n), records: (this.step - this.opts.takenAt) * 30 + 5 }
            : {
                shardId: `shardId-00000000000${n}`,
                // Gone but still named owner (the model calls that unowned: the next taker picks it up), then released.
                ...(bGone && this.step >= this.opts.takenAt - 1 ? {} : { owner: 'worker-b' }),
                state: bGone ? 'unowned' : 'owned-elsewhere',
                checkpoint: 'TRIM_HORIZON',
                parentShardIds: [],
                records: 0,
                recordsPerSecond: [],
              },
      ),
      {
        shardId: 'shardId-000000000004',
        state: 'shard-end',
        checkpoint: 'SHARD_END',
        parentShardIds: [],
        records: 77,
        recordsPerSecond: [],
      },
      {
        shardId: 'shardId-000000000005',
        owner: 'worker-a',
        state: 'waiting-on-parents',
        checkpoint: 'TRIM_HORIZON',
        parentShardIds: ['shardId-000000000004', 'shardId-000000000003'],
        records: 0,
        recordsPerSecond: [],
      },
      // Ours, being handed to worker-b (it asked): we finish it, then it moves.
      { ...ours(6), state: 'handoff-pending', records: 300 + this.step * 20 },
    ];
    const workers: WorkerStatus[] = [
      { workerId: 'worker-a', leases: aHasAll ? 6 : 4, alive: true, self: true },
      ...(aHasAll ? [] : [{ workerId: 'worker-b', leases: bGone && this.step >= this.opts.takenAt - 1 ? 0 : 2, alive: !bGone, self: false }]),
    ];
    const moves: LeaseMove[] = aHasAll
      ? [
          { at: iso(now - 200), leaseKey: 'shardId-000000000003', kind: 'taken', from: 'worker-b', to: 'worker-a' },
          { at: iso(now - 250), leaseKey: 'shardId-000000000002', kind: 'taken', from: 'worker-b', to: 'worker-a' },
        ]
      : [];
    const errors: StatusError[] = [
      { at: iso(now - 5_000), where: 'processRecords', shardId: 'shardId-000000000001', message: 'Error: the downstream database refused the connection (ECONNREFUSED 10.0.0.7:5432)' },
    ];
    const shardsRate = shards.reduce((sum, s) => sum + (s.recordsPerSecond.at(-1) ?? 0), 0);
    return {
      application: 'orders-consumer',
      stream: 'orders',
      workerId: 'worker-a',
      retrievalMode: 'POLLING',
      generatedAt: iso(now),
      sampleSeconds: 5,
      scannedAt: iso(now - 1500),
      workers,
      shards,
      recentMoves: moves,
      recentErrors: errors,
      totals: { records: shards.reduce((sum, s) => sum + s.records, 0), recordsPerSecond: shardsRate },
    };
  }
}
