/**
 * `kcl status`: the lease table as an operator wants to read it, or as JSON for scripts. With `--watch`, the same
 * table redrawn every interval with what successive scans tell (states, leases per worker, workers that look gone,
 * lease moves): see cli/status-watch.ts and status/terminal.ts.
 */
import type { Command } from 'commander';
import { createDynamoDBClient } from '../../aws/clients.js';
import { sleepUnlessAborted, systemClock } from '../../common/clock.js';
import { isShardEnd } from '../../checkpoint/sequence.js';
import { InvalidStateException } from '../../common/errors.js';
import { LeaseTable } from '../../leases/lease-table.js';
import type { Lease } from '../../leases/lease.js';
import { renderTableView, type TableView } from '../../status/terminal.js';
import { LeaseTableWatch } from '../status-watch.js';
import { addAwsOptions, awsClientOptions, positiveInt, type AwsCliOptions } from '../common.js';

interface StatusOptions extends AwsCliOptions {
  application: string;
  table?: string;
  json?: boolean;
  all?: boolean;
  limit: number;
  watch?: boolean;
  interval: number;
  failoverMillis: number;
}

function missingTable(table: LeaseTable): Error {
  return new Error(`no lease table named "${table.tableName}": check --application/--table (the first worker creates it)`);
}

export function leaseRow(lease: Lease): Record<string, string | number | string[] | null> {
  return {
    shardId: lease.leaseKey,
    owner: lease.leaseOwner ?? null,
    /** Set while a graceful hand-off is pending: the old owner, still finishing the shard. */
    checkpointOwner: lease.checkpointOwner ?? null,
    leaseCounter: lease.leaseCounter,
    checkpoint: lease.checkpoint.sequenceNumber,
    subSequenceNumber: lease.checkpoint.subSequenceNumber,
    parentShardIds: [...lease.parentShardIds],
    childShardIds: [...lease.childShardIds],
    ownerSwitchesSinceCheckpoint: lease.ownerSwitchesSinceCheckpoint,
  };
}

/** Rows printed by default: a table of thousands of leases is read by its summary, not scrolled through. */
const DEFAULT_LIMIT = 200;

/** The order `localeCompare` gives, with one collator instead of one per comparison (10,000 leases: ~130,000). */
const byLeaseKey = new Intl.Collator().compare;

export function formatLeaseTable(leases: readonly Lease[]): string {
  const header = ['SHARD', 'OWNER', 'COUNTER', 'CHECKPOINT', 'SUBSEQ', 'PARENTS'];
  const rows = leases.map((l) => [
    l.leaseKey,
    // A pending hand-off shows both: the new owner, and the old one still finishing the shard.
    l.checkpointOwner ? `${l.leaseOwner ?? '-'} (from ${l.checkpointOwner})` : (l.leaseOwner ?? '-'),
    String(l.leaseCounter),
    l.checkpoint.sequenceNumber,
    String(l.checkpoint.subSequenceNumber),
    l.parentShardIds.join(',') || '-',
  ]);
  return alignColumns([header, ...rows], () => false);
}

/** Rows of cells as aligned text, two spaces apart; `right(i)` says which columns align right. */
function alignColumns(rows: readonly string[][], right: (column: number) => boolean): string {
  // A loop, not Math.max(...rows): spreading a hundred thousand arguments overflows the stack.
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (right(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/**
 * The leases per owner (unowned and finished ones apart), for a table too long to read row by row: which
 * workers hold how much, and how many hand-offs are pending.
 */
export function formatOwnerSummary(leases: readonly Lease[]): string {
  const owners = new Map<string, { leases: number; shardEnd: number; handoffs: number }>();
  for (const l of leases) {
    const key = l.leaseOwner ?? '(unowned)';
    const o = owners.get(key) ?? { leases: 0, shardEnd: 0, handoffs: 0 };
    o.leases++;
    if (isShardEnd(l.checkpoint)) o.shardEnd++;
    if (l.checkpointOwner) o.handoffs++;
    owners.set(key, o);
  }
  const rows = [...owners.entries()]
    .sort(([a], [b]) => byLeaseKey(a, b))
    .map(([owner, o]) => [owner, String(o.leases), String(o.shardEnd), String(o.handoffs)]);
  return alignColumns([['OWNER', 'LEASES', 'SHARD_END', 'HANDOFFS_TO'], ...rows], (i) => i > 0);
}

/**
 * The plain output: the title line, then one row per lease. Beyond `limit` rows (unless `all`) the rows stop with
 * a line saying how many were left out, followed by the leases per owner.
 */
export function formatStatus(tableName: string, leases: readonly Lease[], limit: number, all = false): string {
  const title = `lease table ${tableName}: ${leases.length} leases`;
  if (all || leases.length <= limit) return `${title}\n${formatLeaseTable(leases)}\n`;
  const left = leases.length - limit;
  return (
    `${title}\n${formatLeaseTable(leases.slice(0, limit))}\n` +
    `… ${left} more lease${left === 1 ? '' : 's'} not shown (--all prints every row, --limit sets how many, --json gives them all to scripts)\n\n` +
    `${formatOwnerSummary(leases)}\n`
  );
}

export function registerStatus(program: Command): void {
  addAwsOptions(
    program
      .command('status')
      .description('Print the lease table of an application: one row per lease with owner, counter, checkpoint and parents')
      .requiredOption('--application <name>', 'application name (the lease table is named after it)')
      .option('--table <name>', 'lease table name, when it differs from the application name')
      .option('--json', 'print JSON for scripts')
      .option('--limit <n>', `print at most this many lease rows, then how many were left out and the leases per owner`, positiveInt('--limit'), DEFAULT_LIMIT)
      .option('--all', 'print every lease row, however many')
      .option('--watch', 'redraw the table every interval until Ctrl-C: states, leases per worker, workers that look gone, lease moves')
      .option('--interval <ms>', 'with --watch: milliseconds between scans', positiveInt('--interval'), 2000)
      .option('--failover-millis <ms>', "with --watch: an owner looks gone when its leases' counters stay still this long (the workers' failoverTimeMillis)", positiveInt('--failover-millis'), 10_000),
  ).action(async (opts: StatusOptions) => {
    if (opts.watch && opts.json) throw new Error('--watch and --json cannot be combined: --json prints one scan for scripts');
    const dynamodb = createDynamoDBClient(awsClientOptions(opts));
    try {
      const table = new LeaseTable(dynamodb, opts.table ?? opts.application, systemClock);
      if (opts.watch) {
        await watchStatus(table, opts);
        return;
      }
      const leases = (
        await table.listLeases().catch((err: unknown) => {
          if (err instanceof InvalidStateException) throw missingTable(table);
          throw err;
        })
      ).sort((a, b) => byLeaseKey(a.leaseKey, b.leaseKey));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ table: table.tableName, leases: leases.map(leaseRow) }, null, 2)}\n`);
      } else {
        process.stdout.write(formatStatus(table.tableName, leases, opts.limit, opts.all));
      }
    } finally {
      dynamodb.destroy();
    }
  });
}

/**
 * Scans, renders and sleeps until SIGINT/SIGTERM, then returns (the command exits 0). A failed scan (the table not
 * created yet, DynamoDB unreachable) is shown over the last good one and the watch goes on. On a terminal each frame
 * overwrites the previous one in place (cursor home, clear each line's rest and below: no flicker); into a pipe or
 * file the frames follow each other, separated by a blank line, without escape codes.
 */
async function watchStatus(table: LeaseTable, opts: StatusOptions): Promise<void> {
  const out = process.stdout;
  const tty = out.isTTY === true;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const stopped = new Promise<undefined>((resolve) => stop.signal.addEventListener('abort', () => resolve(undefined), { once: true }));
  const watch = new LeaseTableWatch({ table: table.tableName, failoverMillis: opts.failoverMillis });
  let first = true;
  try {
    while (!stop.signal.aborted) {
      const sentAt = systemClock.now();
      let view: TableView;
      try {
        const scan = table.listLeases();
        scan.catch(() => undefined); // Ctrl-C may leave it behind; the client is destroyed on the way out.
        const leases = await Promise.race([scan, stopped]);
        if (leases === undefined) break;
        view = watch.observe(leases, { sentAt, answeredAt: systemClock.now(), wallAt: Date.now() });
      } catch (err) {
        const message = err instanceof InvalidStateException ? missingTable(table).message : err instanceof Error ? err.message : String(err);
        view = watch.failed(message, Date.now());
      }
      const lines = renderTableView(view, {
        width: tty ? out.columns : Infinity,
        ...(tty ? { height: Math.max(5, out.rows - 1) } : {}),
        color: tty && !process.env.NO_COLOR,
        now: Date.now(),
        intervalMillis: opts.interval,
      });
      if (tty) out.write(`${first ? '\x1b[2J' : ''}\x1b[H${lines.map((l) => `${l}\x1b[K`).join('\n')}\x1b[J`);
      else out.write(`${lines.join('\n')}\n\n`);
      first = false;
      if (!(await sleepUnlessAborted(systemClock, opts.interval, stop.signal))) break;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (tty && !first) out.write('\n');
  }
}
