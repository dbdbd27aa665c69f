/**
 * `kcl status --watch` in a terminal: a TableView (below) → the lines of one screen. Pure (the time, the
 * terminal's size and whether to colour are inputs), so the rendering is unit-tested as text.
 *
 * Every line is built from segments and cut to the terminal's width before colour is applied, so an escape code is
 * never cut in half and a line never wraps (a wrapped line would shift every redraw). When the shard table is too
 * wide the least needed columns go first (parents, counter, checkpoint age); when the screen is too short the
 * lease moves shrink first, then the shard rows are cut with a "… N more" line.
 */
import type { LeaseMove, ShardStatusState } from './types.js';

/**
 * What the terminal view shows: the lease table as successive scans tell it (cli/status-watch.ts builds it; the
 * terminal command has no worker, so no records, rates or lag).
 */
export interface TableShard {
  readonly shardId: string;
  readonly owner?: string;
  /** During a graceful hand-off: the old owner, still finishing the shard (`checkpointOwner`). */
  readonly handoffFrom?: string;
  readonly state: ShardStatusState;
  /** The owner is named in the table but looks gone: the lease is free for the next taker. */
  readonly ownerGone: boolean;
  /** Sequence number, with `/subSequence` when not 0, or a sentinel. */
  readonly checkpoint: string;
  readonly leaseCounter: number;
  readonly parentShardIds: readonly string[];
  /** Wall time (ms) at which this watch saw the checkpoint change; undefined until it has. */
  readonly checkpointMovedAt?: number;
}

export interface TableWorker {
  readonly workerId: string;
  /** Leases naming it as owner, not at SHARD_END. */
  readonly leases: number;
  /** False when none of its leases' counters moved for the failover time (it stopped renewing). */
  readonly alive: boolean;
  /** Wall time (ms) at which this watch last saw one of its leases' counters move; undefined if never. */
  readonly renewalSeenAt?: number;
}

export interface TableView {
  readonly table: string;
  /** Wall time (ms) of the scan this view is from; undefined before the first good scan. */
  readonly scannedAt?: number;
  readonly scanMillis?: number;
  readonly failoverMillis: number;
  /** How long this watch has been looking: an owner can only be judged gone after one failover time of it. */
  readonly watchingMillis: number;
  readonly workers: readonly TableWorker[];
  readonly shards: readonly TableShard[];
  /** Newest first, bounded. */
  readonly recentMoves: readonly LeaseMove[];
  /** The last scan failed (the view is then the one from the last good scan). */
  readonly error?: { readonly at: number; readonly message: string };
}

export interface TerminalOptions {
  /** Columns; lines never exceed it. */
  readonly width: number;
  /** Rows; the screen never exceeds it. Unlimited when absent (not a terminal). */
  readonly height?: number;
  /** ANSI colours (only for a TTY that did not ask for NO_COLOR). */
  readonly color: boolean;
  /** Wall time (ms) the screen is drawn at: ages are relative to it. */
  readonly now: number;
  readonly intervalMillis: number;
}

type Style = 'bold' | 'dim' | 'green' | 'yellow' | 'red' | 'cyan' | 'magenta' | 'redBold';
type Segment = readonly [text: string, style?: Style];
type Line = readonly Segment[];

const ANSI: Record<Style, string> = {
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  red: '\x1b[31m',
  cyan: '\x1b[36m',
  magenta: '\x1b[35m',
  redBold: '\x1b[1;31m',
};
const RESET = '\x1b[0m';

const STATE_LABEL: Record<ShardStatusState, string> = {
  processing: 'processing',
  'waiting-on-parents': 'waiting on parents',
  'shard-end': 'shard end',
  'handoff-pending': 'hand-off pending',
  'owned-elsewhere': 'owned elsewhere',
  unowned: 'unowned',
};
const STATE_STYLE: Record<ShardStatusState, Style | undefined> = {
  processing: 'green',
  'waiting-on-parents': 'cyan',
  'shard-end': 'dim',
  'handoff-pending': 'magenta',
  'owned-elsewhere': undefined,
  unowned: 'yellow',
};
const MOVE_LABEL: Record<LeaseMove['kind'], string> = { taken: 'taken', stolen: 'stolen', lost: 'lost', released: 'released', handed_off: 'handed off' };

/** A 56-digit sequence number does not fit a table: its head and its tail (the part that moves) do. */
export function shortCheckpoint(checkpoint: string): string {
  const m = /^(\d+)(\/\d+)?$/.exec(checkpoint);
  if (!m?.[1] || m[1].length <= 16) return checkpoint;
  return `${m[1].slice(0, 4)}…${m[1].slice(-8)}${m[2] ?? ''}`;
}

export function formatAge(millis: number): string {
  const s = Math.max(0, Math.floor(millis / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

function clock(wallMillis: number): string {
  const d = new Date(wallMillis);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Cuts a line to `width` visible characters (with "…" when cut), then colours it. */
function finish(line: Line, width: number, color: boolean): string {
  let room = Math.max(1, width);
  let out = '';
  for (const [text, style] of line) {
    if (room <= 0) break;
    const chars = [...text];
    let piece = text;
    if (chars.length > room) {
      piece = `${chars.slice(0, Math.max(0, room - 1)).join('')}…`;
    }
    room -= [...piece].length;
    out += color && style && piece ? `${ANSI[style]}${piece}${RESET}` : piece;
  }
  return color ? out : out.trimEnd();
}

interface Column {
  readonly title: string;
  /** Lower goes first when the table is too wide; undefined = never dropped. */
  readonly dropOrder?: number;
  readonly right?: boolean;
  readonly cell: (shard: TableShard) => Segment;
}

function shardColumns(now: number): Column[] {
  return [
    { title: 'SHARD', cell: (s) => [s.shardId] },
    {
      title: 'OWNER',
      cell: (s) => {
        if (!s.owner) return ['-', 'dim'];
        if (s.ownerGone) return [`${s.owner} (gone)`, 'redBold'];
        return [s.handoffFrom ? `${s.owner} ← ${s.handoffFrom}` : s.owner];
      },
    },
    { title: 'STATE', cell: (s) => (s.ownerGone ? ['owner gone', 'redBold'] : [STATE_LABEL[s.state], STATE_STYLE[s.state]]) },
    { title: 'CHECKPOINT', cell: (s) => [shortCheckpoint(s.checkpoint), /^\d/.test(s.checkpoint) ? undefined : 'dim'] },
    { title: 'CHECKPOINTED', dropOrder: 3, right: true, cell: (s) => (s.checkpointMovedAt === undefined ? ['-', 'dim'] : [`${formatAge(now - s.checkpointMovedAt)} ago`]) },
    { title: 'COUNTER', dropOrder: 2, right: true, cell: (s) => [String(s.leaseCounter), 'dim'] },
    { title: 'PARENTS', dropOrder: 1, cell: (s) => (s.parentShardIds.length ? [s.parentShardIds.join(',')] : ['-', 'dim']) },
  ];
}

/** The shard table, with columns dropped until it fits `width`. */
function shardTable(shards: readonly TableShard[], width: number, now: number): { header: Line; rows: Line[] } {
  let columns = shardColumns(now);
  const gap = 2;
  for (;;) {
    const cells = shards.map((s) => columns.map((c) => c.cell(s)));
    // A loop, not Math.max(...cells): spreading a hundred thousand arguments overflows the stack.
    const widths = columns.map((c) => c.title.length);
    for (const r of cells) r.forEach((seg, i) => (widths[i] = Math.max(widths[i] ?? 0, [...seg[0]].length)));
    const total = widths.reduce((a, b) => a + b, 0) + gap * (columns.length - 1);
    const droppable = columns.filter((c) => c.dropOrder !== undefined);
    if (total > width && droppable.length > 0) {
      const next = Math.min(...droppable.map((c) => c.dropOrder as number));
      columns = columns.filter((c) => c.dropOrder !== next);
      continue;
    }
    const pad = (seg: Segment, i: number, last: boolean): Segment[] => {
      const w = widths[i] ?? 0;
      const len = [...seg[0]].length;
      const fill = ' '.repeat(Math.max(0, w - len));
      const text = columns[i]?.right ? fill + seg[0] : last ? seg[0] : seg[0] + fill;
      return [[text, seg[1]], ...(last ? [] : [[' '.repeat(gap)] as Segment])];
    };
    const header: Line = columns.flatMap((c, i) => pad([c.title, 'bold'], i, i === columns.length - 1));
    const rows = cells.map((r) => r.flatMap((seg, i) => pad(seg, i, i === columns.length - 1)));
    return { header, rows };
  }
}

export function renderTableView(view: TableView, opts: TerminalOptions): string[] {
  const { now } = opts;
  const gone = view.workers.filter((w) => !w.alive);
  const top: Line[] = [];
  const scanned = view.scannedAt === undefined ? ['not scanned yet', 'dim'] as Segment : [`scanned ${clock(view.scannedAt)}${view.scanMillis !== undefined ? ` in ${view.scanMillis} ms` : ''}`] as Segment;
  top.push([
    ['kcl status', 'bold'],
    [`  lease table ${view.table} · ${plural(view.shards.length, 'lease')} · ${plural(view.workers.length, 'worker')}`],
    ...(gone.length ? [[`, ${gone.length} gone`, 'redBold'] as Segment] : []),
    [' · '],
    scanned,
    [` · every ${opts.intervalMillis % 1000 === 0 ? formatAge(opts.intervalMillis) : `${opts.intervalMillis} ms`}, Ctrl-C quits`, 'dim'],
  ]);
  if (view.error) {
    top.push([[`scan failed at ${clock(view.error.at)}: ${view.error.message}`, 'redBold'], [view.scannedAt === undefined ? ' (retrying)' : ` (showing the scan of ${clock(view.scannedAt)}; retrying)`, 'red']]);
  }
  if (view.scannedAt !== undefined && view.watchingMillis < view.failoverMillis) {
    top.push([[`watching for ${formatAge(view.watchingMillis)}: an owner shows as gone once its leases' counters stay still for ${formatAge(view.failoverMillis)}`, 'dim']]);
  }

  const workers: Line[] = [[['WORKERS', 'bold']]];
  if (view.workers.length === 0) workers.push([['  none holds a lease', 'dim']]);
  const idWidth = Math.max(0, ...view.workers.map((w) => w.workerId.length));
  const countWidth = Math.max(0, ...view.workers.map((w) => String(w.leases).length));
  for (const w of view.workers) {
    const leases = `  ${String(w.leases).padStart(countWidth)} ${w.leases === 1 ? 'lease ' : 'leases'}`;
    const quiet = w.renewalSeenAt === undefined ? `no renewal seen in ${formatAge(view.watchingMillis)} of watching` : `no renewal for ${formatAge(now - w.renewalSeenAt)}`;
    workers.push(
      w.alive
        ? [['  ● ', 'green'], [w.workerId.padEnd(idWidth)], [leases], [w.renewalSeenAt === undefined ? '' : `  renewed ${formatAge(now - w.renewalSeenAt)} ago`, 'dim']]
        : [['  ✕ ', 'redBold'], [w.workerId.padEnd(idWidth), 'redBold'], [leases], ['  GONE', 'redBold'], [`: ${quiet}`, 'red']],
    );
  }

  const table = shardTable(view.shards, opts.width, now);
  const moves: Line[] = [[['LEASE MOVES', 'bold'], [' newest first', 'dim']]];
  if (view.recentMoves.length === 0) moves.push([['  none seen since the watch started', 'dim']]);
  for (const m of view.recentMoves) {
    const t = Date.parse(m.at);
    const who = m.from && m.to ? `${m.from} → ${m.to}` : m.to ? `→ ${m.to}` : `${m.from ?? '?'} →`;
    moves.push([[`  ${Number.isNaN(t) ? '        ' : clock(t)}  `, 'dim'], [MOVE_LABEL[m.kind].padEnd(11), m.kind === 'stolen' || m.kind === 'handed_off' ? 'magenta' : m.kind === 'lost' ? 'red' : 'green'], [`${m.leaseKey}  ${who}`]]);
  }

  // Fit the height: moves shrink to 3 entries first, then shard rows are cut.
  const fixed = top.length + 1 + workers.length + 1 + 1; // top, blank, workers, blank, table header
  let shardRows: Line[] = table.rows.length ? table.rows : [[['  no leases: the first worker creates one per shard', 'dim']]];
  let moveLines = moves;
  if (opts.height !== undefined) {
    const room = opts.height - fixed;
    const want = shardRows.length + 1 + moveLines.length;
    if (want > room) moveLines = moves.slice(0, Math.min(moves.length, 4));
    const left = room - 1 - moveLines.length;
    if (shardRows.length > left) {
      const keep = Math.max(0, left - 1);
      const cut = shardRows.length - keep;
      shardRows = [...shardRows.slice(0, keep), [[`… ${plural(cut, 'more lease')} (a taller terminal shows them)`, 'dim']]];
    }
  }
  const lines: Line[] = [...top, [], ...workers, [], table.header, ...shardRows, [], ...moveLines];
  const out = lines.map((l) => finish(l, opts.width, opts.color));
  return opts.height !== undefined ? out.slice(0, Math.max(1, opts.height)) : out;
}
