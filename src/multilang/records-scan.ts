/**
 * The `processRecords` line read without building it as JSON values: the reading side of records-line.ts, for
 * the child (kcl-ts/child). `JSON.parse` of a 14 MB batch copies every record's base64 data into a string of its
 * own, 10,000 strings that live as long as the batch and are carried through the collector with it; here each
 * string value is a slice of the line, which V8 keeps as a reference into it (docs/performance.md, 'The daemon's
 * throughput, and the kcl-ts child').
 *
 * It reads only the compact form daemons write (ours and the Java one): no whitespace between tokens, record
 * values that are strings, integers or null. Anything else (whitespace, a fraction or exponent, true/false, a
 * nested value, a key with an escape, a sequence number that is not a string) returns undefined, and the caller
 * reads the line through the general path, which decides. For every line it accepts it returns what that path
 * returns.
 */
import type { ProcessRecordsMessage, RecordMessage } from './messages.js';

const PREFIX = '{"action":"processRecords","records":[';
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const CONTROL = /[\u0000-\u001f]/;

/** A value read: a string, a safe integer or null; `undefined` for anything the scanner does not read. */
type Scalar = string | number | null;

class Scanner {
  i = 0;
  /** The next backslash at or after `i` (-1: none), found again only once passed: one search per line, not per value. */
  private backslash: number;

  constructor(readonly line: string) {
    this.backslash = line.indexOf('\\');
  }

  at(code: number): boolean {
    if (this.line.charCodeAt(this.i) !== code) return false;
    this.i++;
    return true;
  }

  /** A string value at `i` (its opening quote), or undefined. */
  string(): string | undefined {
    const { line } = this;
    const start = this.i + 1;
    const end = line.indexOf('"', start);
    if (end < 0) return undefined;
    if (this.backslash >= 0 && this.backslash < start) this.backslash = line.indexOf('\\', start);
    if (this.backslash < 0 || this.backslash > end) {
      this.i = end + 1;
      return line.slice(start, end);
    }
    // Escapes: find the quote that closes the string, then let JSON.parse read it.
    let close = start;
    for (;;) {
      const c = line.charCodeAt(close);
      if (Number.isNaN(c)) return undefined;
      if (c === BACKSLASH) close += 2;
      else if (c === QUOTE) break;
      else close++;
    }
    let text: unknown;
    try {
      text = JSON.parse(line.slice(start - 1, close + 1));
    } catch {
      return undefined;
    }
    this.i = close + 1;
    return typeof text === 'string' ? text : undefined;
  }

  /** A string, an integer (optionally negative, no fraction or exponent) or null; undefined for anything else. */
  scalar(): Scalar | undefined {
    const { line } = this;
    const c = line.charCodeAt(this.i);
    if (c === QUOTE) return this.string();
    if (c === 0x6e && line.startsWith('null', this.i)) {
      this.i += 4;
      return null;
    }
    const start = this.i;
    let j = c === MINUS ? start + 1 : start;
    const digits = j;
    for (let d = line.charCodeAt(j); d >= ZERO && d <= NINE; d = line.charCodeAt(++j));
    // No digits, or a leading zero (not JSON: JSON.parse would refuse the line).
    if (j === digits || (line.charCodeAt(digits) === ZERO && j - digits > 1)) return undefined;
    const value = Number(line.slice(start, j));
    if (!Number.isSafeInteger(value)) return undefined;
    this.i = j;
    return value;
  }

  /** `"key":` at `i`; the key, or undefined. Keys with escapes are left to the general path. */
  key(): string | undefined {
    const { line } = this;
    if (line.charCodeAt(this.i) !== QUOTE) return undefined;
    const end = line.indexOf('"', this.i + 1);
    if (end < 0 || line.charCodeAt(end + 1) !== COLON) return undefined;
    const key = line.slice(this.i + 1, end);
    if (key.includes('\\')) return undefined;
    this.i = end + 2;
    return key;
  }
}

/** One record object at the scanner's position, or undefined. */
function record(s: Scanner): RecordMessage | undefined {
  if (!s.at(OPEN_BRACE)) return undefined;
  let data: Scalar = null;
  let partitionKey: Scalar = null;
  let sequenceNumber: Scalar = null;
  let arrival: Scalar = null;
  let sub: Scalar = null;
  if (!s.at(CLOSE_BRACE)) {
    for (;;) {
      const key = s.key();
      if (key === undefined) return undefined;
      const value = s.scalar();
      if (value === undefined) return undefined;
      // A repeated key: JSON.parse keeps the last, and so does this. Any other key (the record's own "action"
      // among them) is read and ignored, as the general path ignores it.
      if (key === 'data') data = value;
      else if (key === 'partitionKey') partitionKey = value;
      else if (key === 'sequenceNumber') sequenceNumber = value;
      else if (key === 'approximateArrivalTimestamp') arrival = value;
      else if (key === 'subSequenceNumber') sub = value;
      if (s.at(COMMA)) continue;
      if (s.at(CLOSE_BRACE)) break;
      return undefined;
    }
  }
  if (typeof sequenceNumber !== 'string' || typeof data === 'number' || typeof partitionKey === 'number') return undefined;
  if (typeof arrival === 'string' || typeof sub === 'string') return undefined;
  return {
    action: 'record',
    data,
    partitionKey: partitionKey ?? '',
    sequenceNumber,
    approximateArrivalTimestamp: arrival ?? 0,
    subSequenceNumber: sub === null || sub === 0 ? 0 : sub,
  };
}

/** The processRecords message of `line`, or undefined when the line is not in the compact form read here. */
export function scanProcessRecords(line: string): ProcessRecordsMessage | undefined {
  // A raw control character (whitespace between tokens, or one inside a string, which JSON does not allow) is
  // for the general path. One native search over the line instead of a look at every character of every string.
  if (!line.startsWith(PREFIX) || CONTROL.test(line)) return undefined;
  const s = new Scanner(line);
  s.i = PREFIX.length;
  const records: RecordMessage[] = [];
  if (!s.at(CLOSE_BRACKET)) {
    for (;;) {
      const r = record(s);
      if (r === undefined) return undefined;
      records.push(r);
      if (s.at(COMMA)) continue;
      if (s.at(CLOSE_BRACKET)) break;
      return undefined;
    }
  }
  let millisBehindLatest: Scalar = null;
  while (s.at(COMMA)) {
    const key = s.key();
    if (key === undefined) return undefined;
    const value = s.scalar();
    if (value === undefined) return undefined;
    if (key === 'millisBehindLatest') millisBehindLatest = value;
    else if (key === 'action' || key === 'records') return undefined; // a repeated key changes the message: general path
  }
  if (!s.at(CLOSE_BRACE) || s.i !== line.length) return undefined;
  if (typeof millisBehindLatest === 'string') return undefined;
  return { action: 'processRecords', records, millisBehindLatest: millisBehindLatest === 0 ? 0 : millisBehindLatest };
}
