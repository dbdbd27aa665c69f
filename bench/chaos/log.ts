/**
 * The chaos run's evidence: the JSON lines each worker process writes (bench/chaos/worker.ts) and the faults
 * the harness injected. The analysis (analysis.ts) reads nothing else.
 */
import fs from 'node:fs';

/** One delivered user record: [n, partition-key index, per-key counter, sequence number, sub-sequence number]. */
export type DeliveredRecord = [number, number, number, string, number];

export type ChaosLine =
  | { e: 'start'; w: string; pid: number; t: number }
  | { e: 'started'; w: string; t: number }
  | { e: 'failed'; w: string; err: string; t: number }
  | { e: 'init'; w: string; s: string; shard: string; cp: string; cpSub: number; t: number }
  | { e: 'recs'; w: string; s: string; shard: string; r: DeliveredRecord[]; t: number }
  | { e: 'cp'; w: string; s: string; shard: string; seq: string; sub: number; t: number }
  | { e: 'cperr'; w: string; s: string; shard: string; err: string; t: number }
  | { e: 'end'; w: string; s: string; shard: string; reason: 'leaseLost' | 'shardEnded' | 'shutdownRequested'; t: number }
  | { e: 'lease'; w: string; kind: 'acquired' | 'lost' | 'released'; shard: string; from?: string; reason?: string; t: number }
  | {
      e: 'calls';
      w: string;
      calls: { scan: number; get: number; put: number; update: number; delete: number; updates: Record<string, number> };
      /** Kinesis calls made so far, by operation (every outcome). Absent in logs of older runs. */
      kinesis?: Record<string, number>;
      t: number;
    }
  /** An enhanced fan-out subscription ended (the worker's `subscription.ended` event); `err` is the error's kind. */
  | { e: 'sub'; w: string; shard: string; outcome: 'completed' | 'shard-end' | 'failed' | 'stopped'; events: number; millis: number; err?: string; t: number }
  | { e: 'term'; w: string; signal: string; t: number }
  | { e: 'stopped'; w: string; t: number };

export type FaultKind = 'kill' | 'stop' | 'cont' | 'term' | 'start' | 'split' | 'merge' | 'partition' | 'heal';

/** What a partition does to a worker's connections (bench/chaos/fault-proxy.ts); `half-open` is a blackhole healed with halfOpen. */
export type NetFaultKind = 'blackhole' | 'half-open' | 'reset' | 'latency' | 'refuse';
export const NET_FAULT_KINDS: readonly NetFaultKind[] = ['blackhole', 'half-open', 'reset', 'latency', 'refuse'];
export type Service = 'dynamodb' | 'kinesis';

export interface Fault {
  kind: FaultKind;
  /** The worker it hit (absent for resharding). */
  w?: string;
  t: number;
  detail?: string;
  /**
   * Partitions and heals: one fault per worker hit, the workers of one partition sharing its `id` (a partition of
   * several workers at once counts once).
   */
  net?: { id: number; fault: NetFaultKind; services: Service[] };
}

/** Reads a JSON-lines file; a torn last line (the writer was killed mid-write) is ignored. */
export function readLines(file: string): ChaosLine[] {
  if (!fs.existsSync(file)) return [];
  const out: ChaosLine[] = [];
  for (const text of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!text) continue;
    try {
      out.push(JSON.parse(text) as ChaosLine);
    } catch {
      // a partial line from a SIGKILL mid-write; the record in it was not acknowledged by the processor either
    }
  }
  return out;
}

/** Incremental reader, so the harness can watch progress without re-reading whole files. */
export class LogTail {
  private offset = 0;
  private rest = '';
  constructor(private readonly file: string) {}
  read(): ChaosLine[] {
    if (!fs.existsSync(this.file)) return [];
    const fd = fs.openSync(this.file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset = size;
      const parts = (this.rest + buf.toString('utf8')).split('\n');
      this.rest = parts.pop() ?? '';
      const out: ChaosLine[] = [];
      for (const p of parts) {
        if (!p) continue;
        try {
          out.push(JSON.parse(p) as ChaosLine);
        } catch {
          // torn line, see readLines
        }
      }
      return out;
    } finally {
      fs.closeSync(fd);
    }
  }
}

/**
 * Which worker is processing each shard, from the log lines seen so far: a session runs from `init` until its
 * `end`, or until its worker was SIGKILLed (a kill fault), whichever comes first.
 */
export function shardOwners(lines: readonly ChaosLine[], faults: readonly Fault[] = []): Map<string, string> {
  const killed = new Set(faults.filter((f) => f.kind === 'kill').map((f) => f.w));
  const owner = new Map<string, string>();
  // Lines arrive file by file, so put the sessions' starts and ends in time order first.
  const events = lines.filter((l) => l.e === 'init' || l.e === 'end').sort((a, b) => a.t - b.t);
  for (const l of events) {
    if (l.e === 'init') owner.set(l.shard, l.w);
    else if (l.e === 'end' && owner.get(l.shard) === l.w) owner.delete(l.shard);
  }
  for (const [shard, w] of owner) if (killed.has(w)) owner.delete(shard);
  return owner;
}
