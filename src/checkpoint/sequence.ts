/**
 * Sequence numbers and their order: real ones compare as BigInt, the Java sentinels rank before them
 * (docs/checkpoints.md, 'Sequence numbers' and 'Sentinels').
 */
import { IllegalArgumentException } from '../common/errors.js';

export type Sentinel = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP' | 'SHARD_END';

/** A checkpoint position: a Kinesis sequence number (or sentinel) plus the KPL sub-sequence within it. */
export interface ExtendedSequenceNumber {
  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
}

const SENTINEL_RANK: Record<Sentinel, number> = { AT_TIMESTAMP: -3, TRIM_HORIZON: -2, LATEST: -1, SHARD_END: 1 };
const DIGITS = /^\d{1,129}$/;

export const TRIM_HORIZON: ExtendedSequenceNumber = Object.freeze({ sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 });
export const LATEST: ExtendedSequenceNumber = Object.freeze({ sequenceNumber: 'LATEST', subSequenceNumber: 0 });
export const AT_TIMESTAMP: ExtendedSequenceNumber = Object.freeze({ sequenceNumber: 'AT_TIMESTAMP', subSequenceNumber: 0 });
export const SHARD_END: ExtendedSequenceNumber = Object.freeze({ sequenceNumber: 'SHARD_END', subSequenceNumber: 0 });

export function isSentinel(value: string): value is Sentinel {
  return Object.hasOwn(SENTINEL_RANK, value);
}

export function sentinel(name: Sentinel): ExtendedSequenceNumber {
  return { sequenceNumber: name, subSequenceNumber: 0 };
}

export function isShardEnd(esn: ExtendedSequenceNumber): boolean {
  return esn.sequenceNumber === 'SHARD_END';
}

/** Accepts a sentinel or up to 129 decimal digits; anything else is IllegalArgumentException, as in Java. */
export function extendedSequenceNumber(sequenceNumber: string, subSequenceNumber = 0): ExtendedSequenceNumber {
  if (typeof sequenceNumber !== 'string' || (!isSentinel(sequenceNumber) && !DIGITS.test(sequenceNumber))) {
    throw new IllegalArgumentException(`invalid sequence number "${String(sequenceNumber)}": expected decimal digits or a sentinel`);
  }
  if (!Number.isSafeInteger(subSequenceNumber) || subSequenceNumber < 0) {
    throw new IllegalArgumentException(`invalid sub-sequence number ${String(subSequenceNumber)}: expected an integer >= 0`);
  }
  return { sequenceNumber, subSequenceNumber: isSentinel(sequenceNumber) ? 0 : subSequenceNumber };
}

/** Orders AT_TIMESTAMP < TRIM_HORIZON < LATEST < every real sequence number (then sub-sequence) < SHARD_END. */
export function compareSequenceNumbers(a: ExtendedSequenceNumber, b: ExtendedSequenceNumber): number {
  const aSentinel = isSentinel(a.sequenceNumber);
  const bSentinel = isSentinel(b.sequenceNumber);
  if (aSentinel || bSentinel) {
    const ra = aSentinel ? SENTINEL_RANK[a.sequenceNumber as Sentinel] : 0;
    const rb = bSentinel ? SENTINEL_RANK[b.sequenceNumber as Sentinel] : 0;
    return Math.sign(ra - rb);
  }
  const na = BigInt(a.sequenceNumber);
  const nb = BigInt(b.sequenceNumber);
  if (na !== nb) return na < nb ? -1 : 1;
  return Math.sign(a.subSequenceNumber - b.subSequenceNumber);
}

export function formatSequenceNumber(esn: ExtendedSequenceNumber): string {
  return esn.subSequenceNumber ? `${esn.sequenceNumber}/${esn.subSequenceNumber}` : esn.sequenceNumber;
}
