/**
 * What the processors of in-process workers did, written as the chaos run's evidence lines (bench/chaos/log.ts),
 * by the chaos run's own processor (bench/chaos/processor.ts), so one analysis (bench/chaos/analysis.ts) judges
 * loss, duplicates, order and overlap for a test exactly as it does for the chaos run.
 *
 * Also keeps every event a worker emitted, with its time, for assertions on the event stream.
 */
import { analyzeChaos, type ChaosReport } from '../../bench/chaos/analysis.js';
import { shardOwners, type ChaosLine } from '../../bench/chaos/log.js';
import { chaosProcessor, now } from '../../bench/chaos/processor.js';
import type { RecordProcessor } from '../../src/processor/types.js';
import type { KclEventMap, KclEventName, KclEventStream } from '../../src/common/events.js';

export class DeliveryLog {
  readonly lines: ChaosLine[] = [];
  private sessions = 0;

  constructor(private readonly checkpointIntervalMillis = 500) {}

  /** A processor factory for worker `w`; every worker of a test shares one log. */
  factory(w: string): (shardId: string) => RecordProcessor {
    return () => chaosProcessor(w, (line) => this.lines.push(line), this.checkpointIntervalMillis, () => `${w}#${++this.sessions}`);
  }

  /** Shards worker `w` is processing now (a session between its `init` and its `end`). */
  processing(w: string): string[] {
    return [...shardOwners(this.lines).entries()].filter(([, owner]) => owner === w).map(([shard]) => shard);
  }

  /** Delivery lines, optionally of one worker and one shard. */
  deliveries(w?: string, shard?: string): Extract<ChaosLine, { e: 'recs' }>[] {
    return this.lines.flatMap((l) => (l.e === 'recs' && (w === undefined || l.w === w) && (shard === undefined || l.shard === shard) ? [l] : []));
  }

  /** Distinct records delivered so far. */
  uniqueDelivered(): number {
    return new Set(this.deliveries().flatMap((l) => l.r.map((r) => r[0]))).size;
  }

  analyze(produced: number, failoverMillis: number, shards: number): ChaosReport {
    return analyzeChaos({ produced, lines: this.lines, faults: [], failoverMillis, run: { from: 0, to: now(), shards } });
  }
}

export interface SeenEvent<K extends KclEventName = KclEventName> {
  name: K;
  t: number;
  event: KclEventMap[K];
}

/** Every event of the given names a worker emits, with the time it was seen. */
export class EventLog {
  readonly seen: SeenEvent[] = [];
  constructor(events: KclEventStream, names: readonly KclEventName[]) {
    for (const name of names) events.on(name, (event) => this.seen.push({ name, t: now(), event } as SeenEvent));
  }

  of<K extends KclEventName>(name: K, since = 0): SeenEvent<K>[] {
    return this.seen.filter((s): s is SeenEvent<K> => s.name === name && s.t >= since);
  }
}
