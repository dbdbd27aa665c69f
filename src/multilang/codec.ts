/**
 * The wire format of the multi-language protocol (docs/daemon-protocol.md, 'Messages'): encoding the daemon's actions exactly as
 * the Java daemon writes them, decoding child output with Jackson's strictness (unknown property = skipped
 * line) and its scalar coercions, decoding daemon actions on the child side leniently (like kclpy/aws-kcl),
 * and splitting byte streams into lines. Nothing here does I/O.
 */
import type { KinesisClientRecord } from '../processor/types.js';
import { JsonNumber, isJsonObject, parseLosslessJson, type JsonObject, type JsonValue } from './json.js';
import { scanProcessRecords } from './records-scan.js';
import type {
  CheckpointRequestMessage,
  ChildMessage,
  DaemonMessage,
  IncomingDaemonMessage,
  ProcessRecordsMessage,
  RecordMessage,
  StatusMessage,
} from './messages.js';

// ---- encoding -------------------------------------------------------------------------------------------

/** True when JSON needs no escape in the string: printable ASCII without `"` and `\`, the usual key or number. */
function isPlainAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/**
 * A JSON string literal in pure ASCII. Escaping non-ASCII keeps children independent of their locale's default
 * charset (docs/daemon-protocol.md, 'Messages'); strings that need no escape at all skip the regex.
 */
export function jsonString(value: string | null | undefined): string {
  if (value === null || value === undefined) return 'null';
  if (isPlainAscii(value)) return `"${value}"`;
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function jsonInteger(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'null';
  if (!Number.isInteger(value)) throw new RangeError(`expected an integer, got ${String(value)}`);
  return String(value);
}

function jsonObject(entries: ReadonlyArray<readonly [string, string]>): string {
  return `{${entries.map(([key, encoded]) => `${jsonString(key)}:${encoded}`).join(',')}}`;
}

/** The record object as Java's JsonFriendlyRecord serialises it. */
export function recordToMessage(record: KinesisClientRecord): RecordMessage {
  return {
    action: 'record',
    data: Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString('base64'),
    partitionKey: record.partitionKey,
    sequenceNumber: record.sequenceNumber,
    approximateArrivalTimestamp: record.approximateArrivalTimestamp.getTime(),
    subSequenceNumber: record.subSequenceNumber,
  };
}

function encodeRecord(record: RecordMessage): string {
  return jsonObject([
    ['action', jsonString('record')],
    ['data', jsonString(record.data)],
    ['partitionKey', jsonString(record.partitionKey)],
    ['sequenceNumber', jsonString(record.sequenceNumber)],
    ['approximateArrivalTimestamp', jsonInteger(record.approximateArrivalTimestamp)],
    ['subSequenceNumber', jsonInteger(record.subSequenceNumber)],
  ]);
}

/** One daemon action as compact JSON, every key present (null when absent), no line terminator. */
export function encodeDaemonMessage(msg: DaemonMessage): string {
  const action = ['action', jsonString(msg.action)] as const;
  switch (msg.action) {
    case 'initialize':
      return jsonObject([
        action,
        ['shardId', jsonString(msg.shardId)],
        ['sequenceNumber', jsonString(msg.sequenceNumber)],
        ['subSequenceNumber', jsonInteger(msg.subSequenceNumber)],
      ]);
    case 'processRecords':
      return jsonObject([
        action,
        ['records', `[${msg.records.map(encodeRecord).join(',')}]`],
        ['millisBehindLatest', jsonInteger(msg.millisBehindLatest)],
      ]);
    case 'checkpoint':
      return jsonObject([
        action,
        ['sequenceNumber', jsonString(msg.sequenceNumber)],
        ['subSequenceNumber', jsonInteger(msg.subSequenceNumber)],
        ['error', jsonString(msg.error)],
      ]);
    case 'leaseLost':
    case 'shardEnded':
    case 'shutdownRequested':
      return jsonObject([action]);
  }
}

/** A child's message in kclpy's key order (aws-kcl omits subSequenceNumber; both are accepted). */
export function encodeChildMessage(msg: StatusMessage | CheckpointRequestMessage): string {
  if (msg.action === 'status') {
    return jsonObject([
      ['action', jsonString('status')],
      ['responseFor', jsonString(msg.responseFor)],
    ]);
  }
  return jsonObject([
    ['action', jsonString('checkpoint')],
    ['sequenceNumber', jsonString(msg.sequenceNumber)],
    ['subSequenceNumber', jsonInteger(msg.subSequenceNumber)],
  ]);
}

// ---- decoding: shared helpers ---------------------------------------------------------------------------

/** Thrown inside the decoders to turn a malformed field into a 'garbage' result with a reason. */
class Malformed extends Error {}

function parseObject(line: string): JsonObject {
  let value: JsonValue;
  try {
    value = parseLosslessJson(line);
  } catch (err) {
    throw new Malformed(`not JSON: ${(err as Error).message}`);
  }
  if (value === null) throw new Malformed('JSON null');
  if (!isJsonObject(value)) throw new Malformed(Array.isArray(value) ? 'a JSON array, not an object' : 'not a JSON object');
  return value;
}

function describe(value: JsonValue | undefined): string {
  if (value instanceof JsonNumber) return value.text;
  if (value instanceof Map) return 'an object';
  if (Array.isArray(value)) return 'an array';
  return JSON.stringify(value) ?? 'undefined';
}

/** Jackson reads a JSON number into a String field as its decimal text; we keep the exact digits. */
function optionalText(obj: JsonObject, key: string): string | null {
  const value = obj.get(key);
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (value instanceof JsonNumber) return value.text;
  throw new Malformed(`"${key}" must be a string, got ${describe(value)}`);
}

/** Integers, or numeric strings (Jackson coerces "5" to 5); an empty string counts as null, as in Jackson. */
function optionalInteger(obj: JsonObject, key: string): number | null {
  const value = obj.get(key);
  if (value === undefined || value === null || value === '') return null;
  const text = value instanceof JsonNumber ? value.text : typeof value === 'string' ? value.trim() : undefined;
  if (text !== undefined && /^[+-]?\d+$/.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n === 0 ? 0 : n;
  }
  throw new Malformed(`"${key}" must be an integer, got ${describe(value)}`);
}

function requiredString(obj: JsonObject, key: string): string {
  const value = obj.get(key);
  if (typeof value !== 'string') throw new Malformed(`"${key}" must be a string, got ${describe(value)}`);
  return value;
}

// ---- decoding child output (daemon side) ----------------------------------------------------------------

/** One decoded line: nothing, a message, or garbage with the reason it is not a message. */
export type DecodedLine<M> =
  | { readonly kind: 'blank' }
  | { readonly kind: 'message'; readonly message: M }
  | { readonly kind: 'garbage'; readonly reason: string };

export type ChildLine = DecodedLine<ChildMessage>;

/** Whitespace-only lines are blank; anything that does not decode is garbage, never an exception. */
function decodeLine<M>(line: string, toMessage: (obj: JsonObject) => M): DecodedLine<M> {
  if (/^\s*$/.test(line)) return { kind: 'blank' };
  try {
    return { kind: 'message', message: toMessage(parseObject(line)) };
  } catch (err) {
    if (err instanceof Malformed) return { kind: 'garbage', reason: err.message };
    throw err;
  }
}

/** Properties Java's message classes declare; any other property makes Jackson reject the line. */
const CHILD_VISIBLE_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  status: ['responseFor'],
  checkpoint: ['sequenceNumber', 'subSequenceNumber', 'error'],
  initialize: ['shardId', 'sequenceNumber', 'subSequenceNumber'],
  processRecords: ['records', 'millisBehindLatest'],
  record: ['data', 'partitionKey', 'sequenceNumber', 'approximateArrivalTimestamp', 'subSequenceNumber'],
  leaseLost: [],
  shardEnded: [],
  shutdownRequested: [],
  shutdown: ['reason'],
};

/**
 * Decodes one line of child stdout. Deviation from Java: a whitespace-only line is 'blank' rather than a
 * logged parse failure; either way the line is skipped, we just don't log noise for it.
 */
export function decodeChildLine(line: string): ChildLine {
  return decodeLine(line, childMessage);
}

function childMessage(obj: JsonObject): ChildMessage {
  const action = obj.get('action');
  if (action === undefined) throw new Malformed('no "action" property');
  if (typeof action !== 'string') throw new Malformed(`"action" must be a string, got ${describe(action)}`);
  const allowed = CHILD_VISIBLE_PROPERTIES[action];
  if (!Object.hasOwn(CHILD_VISIBLE_PROPERTIES, action) || allowed === undefined) throw new Malformed(`unknown action "${action}"`);
  for (const key of obj.keys()) {
    if (key !== 'action' && !allowed.includes(key)) throw new Malformed(`unknown property "${key}" for action "${action}"`);
  }
  if (action === 'status') return statusMessage(obj);
  if (action === 'checkpoint') return checkpointMessage(obj);
  return { action: 'other', echoedAction: action };
}

function statusMessage(obj: JsonObject): StatusMessage {
  const value = obj.get('responseFor');
  if (value === undefined || value === null) return { action: 'status', responseFor: undefined };
  if (typeof value !== 'string') throw new Malformed(`"responseFor" must be a string, got ${describe(value)}`);
  return { action: 'status', responseFor: value };
}

function checkpointMessage(obj: JsonObject): CheckpointRequestMessage {
  return {
    action: 'checkpoint',
    sequenceNumber: optionalText(obj, 'sequenceNumber'),
    subSequenceNumber: optionalInteger(obj, 'subSequenceNumber'),
    error: optionalText(obj, 'error'),
  };
}

// ---- decoding daemon input (child side) -----------------------------------------------------------------

export type DaemonLine = DecodedLine<IncomingDaemonMessage>;

/**
 * Decodes one line of daemon output on the child side. Lenient like the official clients: extra properties
 * are ignored, absent optional fields become null, so a newer daemon adding a field does not break us.
 */
export function decodeDaemonLine(line: string): DaemonLine {
  const batch = scanProcessRecords(line) ?? processRecordsFast(line);
  if (batch) return { kind: 'message', message: batch };
  return decodeLine(line, daemonMessage);
}

type Plain = Record<string, unknown>;

const isPlain = (value: unknown): value is Plain => typeof value === 'object' && value !== null && !Array.isArray(value);
/** Absent, null or a safe integer. */
const integerOrNull = (value: unknown): value is number | null | undefined => value === undefined || value === null || Number.isSafeInteger(value);
/** As optionalInteger reads it: null when absent, -0 as 0. */
const integerValue = (value: number | null | undefined): number | null => (value === undefined || value === null ? null : value === 0 ? 0 : value);
const textOrNull = (value: unknown): value is string | null | undefined => value === undefined || value === null || typeof value === 'string';

/**
 * processRecords through JSON.parse: the lossless parser builds a Map per record and costs about twice as much
 * on a batch of megabytes. JSON.parse is exact for everything a daemon sends there (strings, and integers far
 * below 2^53); a batch with anything else (a sequence number as a JSON number, a numeric string where an
 * integer belongs, a non-integer) returns undefined and takes the lossless path, which decides.
 */
function processRecordsFast(line: string): ProcessRecordsMessage | undefined {
  if (!line.startsWith('{"action":"processRecords"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isPlain(value) || value.action !== 'processRecords' || !Array.isArray(value.records)) return undefined;
  const millisBehindLatest = value.millisBehindLatest;
  if (!integerOrNull(millisBehindLatest)) return undefined;
  const items: unknown[] = value.records;
  const records = new Array<RecordMessage>(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!isPlain(item)) return undefined;
    const { data, partitionKey, sequenceNumber, approximateArrivalTimestamp: arrival, subSequenceNumber: sub } = item;
    if (typeof sequenceNumber !== 'string' || !textOrNull(data) || !textOrNull(partitionKey) || !integerOrNull(arrival) || !integerOrNull(sub)) return undefined;
    records[i] = {
      action: 'record',
      data: data ?? null,
      partitionKey: partitionKey ?? '',
      sequenceNumber,
      approximateArrivalTimestamp: arrival ?? 0,
      subSequenceNumber: integerValue(sub) ?? 0,
    };
  }
  return { action: 'processRecords', records, millisBehindLatest: integerValue(millisBehindLatest) };
}

function daemonMessage(obj: JsonObject): IncomingDaemonMessage {
  const action = obj.get('action');
  switch (action) {
    case 'initialize':
      return {
        action,
        shardId: requiredString(obj, 'shardId'),
        sequenceNumber: optionalText(obj, 'sequenceNumber'),
        subSequenceNumber: optionalInteger(obj, 'subSequenceNumber'),
      };
    case 'processRecords':
      return { action, records: recordList(obj.get('records')), millisBehindLatest: optionalInteger(obj, 'millisBehindLatest') };
    case 'checkpoint':
      return checkpointMessage(obj);
    case 'leaseLost':
    case 'shardEnded':
    case 'shutdownRequested':
      return { action };
    case 'shutdown':
      return { action, reason: optionalText(obj, 'reason') };
    default:
      throw new Malformed(action === undefined ? 'no "action" property' : `unknown action ${describe(action)}`);
  }
}

function recordList(value: JsonValue | undefined): RecordMessage[] {
  if (!Array.isArray(value)) throw new Malformed(`"records" must be an array, got ${describe(value)}`);
  return value.map((item, index) => {
    if (item === null || !isJsonObject(item)) throw new Malformed(`records[${index}] is not an object`);
    return recordMessage(item);
  });
}

function recordMessage(obj: JsonObject): RecordMessage {
  const sequenceNumber = optionalText(obj, 'sequenceNumber');
  if (sequenceNumber === null) throw new Malformed('a record has no sequenceNumber');
  const arrival = obj.get('approximateArrivalTimestamp');
  return {
    action: 'record',
    data: optionalText(obj, 'data'),
    partitionKey: optionalText(obj, 'partitionKey') ?? '',
    sequenceNumber,
    approximateArrivalTimestamp: arrival instanceof JsonNumber ? Math.trunc(arrival.toNumber()) : 0,
    subSequenceNumber: optionalInteger(obj, 'subSequenceNumber') ?? 0,
  };
}

// ---- framing --------------------------------------------------------------------------------------------
