/** Messages between bench/lease-scale.ts and its worker processes (bench/lease-scale/worker-child.ts). */
import type { LeaseTableCallCounts } from '../lease-calls.js';

export interface ChildOptions {
  readonly endpoint: string;
  readonly table: string;
  readonly workerId: string;
  readonly failoverTimeMillis: number;
}

/** One taker turn: the scan's size, what the decision wanted and what moved, and its wall and CPU time. */
export interface TurnReport {
  readonly at: number;
  readonly leases: number;
  readonly wanted: number;
  readonly moved: number;
  readonly scanMillis: number;
  readonly turnMillis: number;
  readonly cpuMillis: number;
}

export type ChildRequest = { kind: 'status' } | { kind: 'stop' };

export type ChildReport =
  | { kind: 'ready' }
  | { kind: 'fatal'; message: string }
  | { kind: 'stopped' }
  | {
      kind: 'status';
      held: number;
      pendingHandoffs: number;
      cpuMillis: number;
      rssBytes: number;
      /** Lease-table calls that failed for another reason than a failed condition (timeouts, throttling), by purpose and kind. */
      failures: Record<string, number>;
      calls: LeaseTableCallCounts;
      /** Turns since the last status. */
      turns: TurnReport[];
    };
