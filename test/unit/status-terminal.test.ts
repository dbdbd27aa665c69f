/**
 * `kcl status --watch` without DynamoDB: what successive lease-table scans tell (cli/status-watch.ts) and how one screen
 * of it reads (terminal.ts), as text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from '../../src/leases/lease.js';
import { LeaseTableWatch, type ScanTimes } from '../../src/cli/status-watch.js';
import { formatAge, renderTableView, shortCheckpoint, type TerminalOptions } from '../../src/status/terminal.js';

const SEQ = '49654213546540291378924345837492373428937493874934';

function lease(leaseKey: string, owner: string | undefined, leaseCounter: number, extra: Partial<Lease> = {}): Lease {
  return {
    leaseKey,
    ...(owner ? { leaseOwner: owner } : {}),
    leaseCounter,
    checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
    ...extra,
  };
}

const WALL0 = Date.parse('2026-03-01T10:00:00Z');
const at = (ms: number): ScanTimes => ({ sentAt: ms, answeredAt: ms + 5, wallAt: WALL0 + ms + 5 });
const plain = (extra: Partial<TerminalOptions> = {}): TerminalOptions => ({ width: 160, color: false, now: WALL0 + 60_000, intervalMillis: 2000, ...extra });

/** Four shards: a holds 0 and 1, b holds 2; 3 is unowned; 4 finished; 5 is 4's child (ready) and 6 is 2's child (waiting). */
function table(step: number, opts: { bRenews: boolean; aCheckpoints?: boolean }): Lease[] {
  const bCounter = opts.bRenews ? 10 + step : 10;
  return [
    lease('shardId-000000000000', 'worker-a', 100 + step, { checkpoint: { sequenceNumber: opts.aCheckpoints ? `${SEQ.slice(0, -2)}${10 + step}` : SEQ, subSequenceNumber: 0 } }),
    lease('shardId-000000000001', 'worker-a', 200 + step),
    lease('shardId-000000000002', 'worker-b', bCounter),
    lease('shardId-000000000003', undefined, 0),
    lease('shardId-000000000004', undefined, 7, { checkpoint: { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 } }),
    lease('shardId-000000000005', 'worker-a', 300 + step, { parentShardIds: ['shardId-000000000004'] }),
    lease('shardId-000000000006', 'worker-a', 400 + step, { parentShardIds: ['shardId-000000000002'] }),
  ];
}

test('a first scan gives each shard its state and each worker its leases, and says gone workers need a failover of watching', () => {
  const watch = new LeaseTableWatch({ table: 'orders', failoverMillis: 10_000 });
  const view = watch.observe(table(0, { bRenews: true }), at(0));
  assert.deepEqual(
    view.shards.map((s) => [s.shardId.slice(-1), s.owner ?? '-', s.state]),
    [
      ['0', 'worker-a', 'processing'],
      ['1', 'worker-a', 'processing'],
      ['2', 'worker-b', 'processing'],
      ['3', '-', 'unowned'],
      ['4', '-', 'shard-end'],
      ['5', 'worker-a', 'processing'],
      ['6', 'worker-a', 'waiting-on-parents'],
    ],
  );
  assert.deepEqual(view.workers, [
    { workerId: 'worker-a', leases: 4, alive: true },
    { workerId: 'worker-b', leases: 1, alive: true },
  ]);
  const lines = renderTableView(view, plain());
  assert.match(lines[0]!, /^kcl status {2}lease table orders · 7 leases · 2 workers · scanned \d\d:\d\d:\d\d in 5 ms · every 2 s, Ctrl-C quits$/);
  assert.match(lines[1]!, /watching for 0 s: an owner shows as gone once its leases' counters stay still for 10 s/);
  assert.ok(lines.includes('WORKERS'));
  assert.ok(lines.some((l) => /^ {2}● worker-a {2}4 leases$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^SHARD +OWNER +STATE +CHECKPOINT +CHECKPOINTED +COUNTER +PARENTS$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^shardId-000000000000 +worker-a +processing +4965…93874934 +- +100 +-$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^shardId-000000000006 +worker-a +waiting on parents +TRIM_HORIZON .* shardId-000000000002$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^ {2}none seen since the watch started$/.test(l)));
});

test('a worker whose counters stay still for the failover time is shown gone, its shards free; its return clears it', () => {
  const watch = new LeaseTableWatch({ table: 'orders', failoverMillis: 10_000 });
  for (let t = 0; t <= 8_000; t += 2_000) watch.observe(table(t, { bRenews: false, aCheckpoints: true }), at(t));
  let view = watch.observe(table(10_000, { bRenews: false, aCheckpoints: true }), at(10_000));
  assert.equal(view.workers.find((w) => w.workerId === 'worker-b')?.alive, true, 'not yet: exactly the failover time');
  view = watch.observe(table(12_000, { bRenews: false, aCheckpoints: true }), at(12_000));
  const b = view.workers.find((w) => w.workerId === 'worker-b');
  assert.deepEqual(b, { workerId: 'worker-b', leases: 1, alive: false });
  const a = view.workers.find((w) => w.workerId === 'worker-a');
  assert.equal(a?.alive, true);
  assert.equal(a?.renewalSeenAt, WALL0 + 12_005);
  const shard2 = view.shards.find((s) => s.shardId === 'shardId-000000000002');
  assert.equal(shard2?.ownerGone, true);
  assert.equal(shard2?.state, 'unowned');
  assert.equal(view.shards.find((s) => s.shardId === 'shardId-000000000000')?.checkpointMovedAt, WALL0 + 12_005);

  const lines = renderTableView(view, plain({ now: WALL0 + 14_005 }));
  assert.match(lines[0]!, /2 workers, 1 gone · /);
  assert.ok(!lines.some((l) => /watching for/.test(l)), 'the watch has seen a failover time');
  assert.ok(lines.some((l) => /^ {2}✕ worker-b {2}1 lease {3}GONE: no renewal seen in 12 s of watching$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^ {2}● worker-a {2}4 leases {2}renewed 2 s ago$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^shardId-000000000002 +worker-b \(gone\) +owner gone /.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^shardId-000000000000 +worker-a +processing +4965…\d{8} +2 s ago /.test(l)), lines.join('\n'));

  view = watch.observe(table(14_000, { bRenews: true }), at(14_000));
  assert.equal(view.workers.find((w) => w.workerId === 'worker-b')?.alive, true, 'a counter that moves again is a live owner');
});

test('owner changes between scans are listed as moves: taken, stolen, handed off, released; newest first', () => {
  const watch = new LeaseTableWatch({ table: 'orders', failoverMillis: 10_000 });
  const base = (changes: Record<string, Partial<Lease> & { owner?: string | null }>, counter: number) =>
    ['0', '1', '2', '3'].map((n) => {
      const key = `shardId-00000000000${n}`;
      const c = changes[n] ?? {};
      const owner = 'owner' in c ? (c.owner ?? undefined) : n === '3' ? undefined : n === '2' ? 'worker-b' : 'worker-a';
      const { owner: _omit, ...rest } = c;
      return lease(key, owner, counter, rest);
    });
  watch.observe(base({}, 1), at(0));
  watch.observe(base({ '3': { owner: 'worker-b' } }, 2), at(1000));
  watch.observe(base({ '3': { owner: 'worker-b' }, '0': { owner: 'worker-b' } }, 3), at(2000));
  watch.observe(base({ '3': { owner: 'worker-b' }, '0': { owner: 'worker-b' }, '1': { owner: 'worker-b', checkpointOwner: 'worker-a' } }, 4), at(3000));
  const view = watch.observe(base({ '3': { owner: null }, '0': { owner: 'worker-b' }, '1': { owner: 'worker-b' } }, 5), at(4000));
  assert.deepEqual(
    view.recentMoves.map((m) => [m.kind, m.leaseKey.slice(-1), m.from ?? '-', m.to ?? '-']),
    [
      ['released', '3', 'worker-b', '-'],
      ['handed_off', '1', 'worker-a', 'worker-b'],
      ['stolen', '0', 'worker-a', 'worker-b'],
      ['taken', '3', '-', 'worker-b'],
    ],
  );
  const lines = renderTableView(view, plain());
  const movesAt = lines.indexOf('LEASE MOVES newest first');
  assert.ok(movesAt > 0, lines.join('\n'));
  assert.match(lines[movesAt + 1]!, /^ {2}\d\d:\d\d:\d\d {2}released {3}shardId-000000000003 {2}worker-b →$/);
  assert.match(lines[movesAt + 2]!, /^ {2}\d\d:\d\d:\d\d {2}handed off shardId-000000000001 {2}worker-a → worker-b$/);
  assert.match(lines[movesAt + 4]!, /^ {2}\d\d:\d\d:\d\d {2}taken {6}shardId-000000000003 {2}→ worker-b$/);
});

test('taking an expired lease is a take, not a steal; a pending hand-off shows both owners', () => {
  const watch = new LeaseTableWatch({ table: 't', failoverMillis: 1_000 });
  watch.observe([lease('s-1', 'worker-b', 5), lease('s-2', 'worker-b', 5)], at(0));
  watch.observe([lease('s-1', 'worker-b', 5), lease('s-2', 'worker-b', 5)], at(2_000));
  const view = watch.observe([lease('s-1', 'worker-a', 6), lease('s-2', 'worker-a', 6, { checkpointOwner: 'worker-b' })], at(3_000));
  assert.deepEqual(view.recentMoves.map((m) => [m.kind, m.leaseKey]), [['handed_off', 's-2'], ['taken', 's-1']]);
  assert.equal(view.shards[1]?.state, 'handoff-pending');
  assert.ok(renderTableView(view, plain()).some((l) => /^s-2 +worker-a ← worker-b +hand-off pending /.test(l)));
});

test('a failed scan is shown over the last good one, and before any good scan', () => {
  const watch = new LeaseTableWatch({ table: 'orders', failoverMillis: 10_000 });
  let lines = renderTableView(watch.failed('no lease table named "orders"', WALL0), plain());
  assert.match(lines[0]!, /0 leases · 0 workers · not scanned yet/);
  assert.match(lines[1]!, /^scan failed at \d\d:\d\d:\d\d: no lease table named "orders" \(retrying\)$/);
  assert.ok(lines.some((l) => /no leases: the first worker creates one per shard/.test(l)));
  watch.observe(table(0, { bRenews: true }), at(0));
  lines = renderTableView(watch.failed('connect ECONNREFUSED', WALL0 + 5_000), plain());
  assert.match(lines[1]!, /^scan failed at \d\d:\d\d:\d\d: connect ECONNREFUSED \(showing the scan of \d\d:\d\d:\d\d; retrying\)$/);
  assert.ok(lines.some((l) => l.startsWith('shardId-000000000002')), 'the last good scan stays');
});

test('a narrow, short terminal: columns drop (parents, counter, age) and rows are cut, never wrapping', () => {
  const watch = new LeaseTableWatch({ table: 'orders', failoverMillis: 10_000 });
  const view = watch.observe(table(0, { bRenews: true }), at(0));
  const lines = renderTableView(view, plain({ width: 72, height: 16 }));
  assert.ok(lines.length <= 16, `${lines.length} lines`);
  for (const l of lines) assert.ok([...l].length <= 72, `too wide: ${l}`);
  const header = lines.find((l) => l.startsWith('SHARD'));
  assert.equal(header?.replace(/ +/g, ' '), 'SHARD OWNER STATE CHECKPOINT');
  assert.ok(lines.some((l) => /^… \d+ more leases? \(a taller terminal shows them\)$/.test(l)), lines.join('\n'));
  assert.match(lines[0]!, /…$/, 'the title is cut with an ellipsis');
});

test('colour: escape codes only when asked, and only around whole pieces of text', () => {
  const watch = new LeaseTableWatch({ table: 'orders', failoverMillis: 10_000 });
  const view = watch.observe(table(0, { bRenews: true }), at(0));
  // eslint-disable-next-line no-control-regex
  const ansi = /\x1b\[[\d;]*m/g;
  assert.ok(renderTableView(view, plain()).every((l) => !l.includes('\x1b')));
  const colored = renderTableView(view, plain({ color: true, width: 72 }));
  assert.ok(colored.some((l) => l.includes('\x1b[32mprocessing')), 'processing is green');
  for (const l of colored) assert.ok([...l.replace(ansi, '')].length <= 72, `too wide once visible: ${l}`);
  assert.deepEqual(colored.map((l) => l.replace(ansi, '').trimEnd()), renderTableView(view, plain({ width: 72 })));
});

test('checkpoints and ages are short', () => {
  assert.equal(shortCheckpoint(SEQ), '4965…93874934');
  assert.equal(shortCheckpoint(`${SEQ}/3`), '4965…93874934/3');
  assert.equal(shortCheckpoint('TRIM_HORIZON'), 'TRIM_HORIZON');
  assert.equal(shortCheckpoint('12345'), '12345');
  assert.deepEqual([999, 59_999, 61_000, 3_600_000 * 3 + 60_000, 86_400_000 * 3].map(formatAge), ['0 s', '59 s', '1 min 1 s', '3 h 1 min', '3 d 0 h']);
});
