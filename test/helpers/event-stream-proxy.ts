/**
 * SubscribeToShard (enhanced fan-out) at the network edge, for what kinesis-local cannot do: its event stream
 * never ends a shard, never fails mid-stream and never completes before 300 s. Two servers, both over loopback,
 * so the SDK's real HTTP handlers and event-stream parser run unchanged.
 *
 * `startEventStreamProxy(upstreamEndpoint)` → EventStreamProxy: an HTTP/1.1 reverse proxy in front of
 * kinesis-local. Point a KinesisClient at `proxy.endpoint`: every request goes upstream unchanged. A
 * SubscribeToShard response is cut into event-stream messages and relayed one whole message at a time, so the
 * client is always at a message boundary and the test can, per shard:
 *   - `endSubscriptions(filter?)`: complete the client's response (what AWS does every 5 minutes) and abort
 *     the upstream request. The SDK's iterator then finishes without an error.
 *   - `endShard(shardId, childShards)`: the next relayed event of that shard with no records becomes the
 *     shard-end event (ChildShards, MillisBehindLatest 0, no ContinuationSequenceNumber), then the response
 *     completes. Resolves with the subscription that carried it.
 *   - `failSubscription(shardId, errorType)`: an exception message (`:message-type` exception) is written and
 *     the response completes, so the SDK's iterator throws an error named `errorType`.
 *   Each subscription is recorded in `proxy.subscriptions` (ProxiedSubscription): shard, consumer ARN,
 *   StartingPosition as sent, start time, events/records relayed, the last ContinuationSequenceNumber, how it
 *   ended, and its flow: bytes and messages read from upstream vs written to the client, and whether the
 *   client is holding the relay back (a write returned false and no 'drain' came yet). While it is, the relay
 *   stops reading upstream, so a client that stops reading stops kinesis-local's socket too. An exception that
 *   kinesis-local sends itself (it answers a subscription to a busy shard with HTTP 200 and a
 *   ResourceInUseException message) is relayed and ends the response, recorded as failed `from: 'upstream'`.
 *
 * `startEventStreamStub(options)` → EventStreamStub: a SubscribeToShard server of its own, HTTP/1.1 or h2c
 * (HTTP/2 cleartext with prior knowledge, what the SDK's NodeHttp2Handler speaks against an http:// endpoint).
 * Each subscription first gets an `initial-response` event (as AWS sends; `initialResponse: false` omits it),
 * then the steps returned by `options.events(subscription, index)` for index 0, 1, 2, ...: a
 * SubscribeToShardEvent (the SDK's own type, Data as bytes), an `{ exception }`, or `'end'` (complete the
 * response), `'reset'` (destroy the connection or HTTP/2 stream) or `'truncate'` (half a message, then complete
 * the response). The next step is asked for only once the previous one is written and the client has drained,
 * so generation runs exactly as fast as the client reads. Subscriptions are recorded as StubSubscription,
 * flow included. Other operations get `options.otherOperation`'s answer, by default a 400 UnknownOperationException.
 *
 * Both servers' `close()` destroy every socket they have open (and the proxy's upstream requests).
 * `encodeSubscribeToShardEvent`, `encodeException`, `EventStreamFramer` and `decodeMessage` are exported for
 * tests that check an encoding directly.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { ChildShard, SubscribeToShardEvent } from '@aws-sdk/client-kinesis';
import { cbor } from '@smithy/core/cbor';
import { EventStreamCodec, type Message, type MessageHeaders } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';

export const SUBSCRIBE_TO_SHARD_TARGET = 'Kinesis_20131202.SubscribeToShard';
const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

// ---------------------------------------------------------------------------------------------------------------
// Records of subscriptions

/** StartingPosition as the client sent it (JSON: Timestamp is epoch seconds). */
export interface RecordedStartingPosition {
  Type?: string;
  SequenceNumber?: string;
  Timestamp?: number;
}

export type SubscriptionEnd =
  /** The server side completed the response by itself (stub: an 'end' step; proxy: kinesis-local did). */
  | { how: 'completed' }
  /** endSubscriptions. */
  | { how: 'ended-by-test' }
  /** endShard: the ChildShards event was written. */
  | { how: 'shard-end' }
  /**
   * An exception message was written, then the response completed: `from` 'test' for failSubscription or a stub
   * `{ exception }` step, 'upstream' when kinesis-local sent it (it answers a second subscription to a busy
   * shard with HTTP 200 and a ResourceInUseException message).
   */
  | { how: 'failed'; errorType: string; from: 'test' | 'upstream' }
  /** Answered with an HTTP error instead of a stream (e.g. kinesis-local's ResourceInUseException). */
  | { how: 'rejected'; status: number; errorType: string | undefined }
  /** The client closed the connection (or HTTP/2 stream) before the response was complete. */
  | { how: 'client-closed' }
  /** A stub 'reset' or 'truncate' step, or the proxy's upstream connection failed. */
  | { how: 'reset' | 'truncated' | 'upstream-error'; detail?: string };

/** What was written to the client, and whether the client is holding the writer back. */
export interface ClientFlow {
  bytesWritten: number;
  /** Every event-stream message written, initial-response and exceptions included. */
  messagesWritten: number;
  /** SubscribeToShardEvent messages written. */
  events: number;
  /** Records inside those events. */
  records: number;
  /** A write returned false and the client has not drained since: it is not reading. */
  backpressured: boolean;
  /** How many times a write returned false. */
  backpressureEpisodes: number;
}

export interface SubscriptionRecord {
  /** 0, 1, 2, ... in the order the requests arrived. */
  index: number;
  shardId: string | undefined;
  consumerARN: string | undefined;
  startingPosition: RecordedStartingPosition | undefined;
  startedAt: number;
  /** Undefined while the response is open. */
  ended: SubscriptionEnd | undefined;
  endedAt: number | undefined;
  flow: ClientFlow;
}

export interface ProxiedSubscription extends SubscriptionRecord {
  upstream: {
    /** HTTP status of kinesis-local's answer, once its headers came. */
    status: number | undefined;
    bytes: number;
    messages: number;
    /** The relay has stopped reading kinesis-local because the client is not reading (flow.backpressured). */
    paused: boolean;
    /** `:event-type` of each message read from upstream, in order (e.g. initial-response, SubscribeToShardEvent). */
    eventTypes: string[];
  };
  lastContinuationSequenceNumber: string | undefined;
}

export type StubSubscription = SubscriptionRecord;

export interface SubscriptionFilter {
  shardId?: string;
  consumerARN?: string;
}

function matches(s: SubscriptionRecord, filter: SubscriptionFilter | undefined): boolean {
  return (filter?.shardId === undefined || s.shardId === filter.shardId) && (filter?.consumerARN === undefined || s.consumerARN === filter.consumerARN);
}

function newRecord(index: number, body: unknown): SubscriptionRecord {
  const input = (body ?? {}) as { ShardId?: string; ConsumerARN?: string; StartingPosition?: RecordedStartingPosition };
  return {
    index,
    shardId: input.ShardId,
    consumerARN: input.ConsumerARN,
    startingPosition: input.StartingPosition,
    startedAt: Date.now(),
    ended: undefined,
    endedAt: undefined,
    flow: { bytesWritten: 0, messagesWritten: 0, events: 0, records: 0, backpressured: false, backpressureEpisodes: 0 },
  };
}

function finish(s: SubscriptionRecord, end: SubscriptionEnd): void {
  if (s.ended) return;
  s.ended = end;
  s.endedAt = Date.now();
}

// ---------------------------------------------------------------------------------------------------------------
// Event-stream encoding

/** Cuts a byte stream into whole event-stream messages (the first 4 bytes of each give its total length). */
export class EventStreamFramer {
  private pending = Buffer.alloc(0);

  push(chunk: Uint8Array): Buffer[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32BE(0);
      if (length < 16) throw new Error(`event-stream message of impossible length ${length}`);
      if (this.pending.length < length) break;
      frames.push(this.pending.subarray(0, length));
      this.pending = this.pending.subarray(length);
    }
    return frames;
  }

  /** Bytes of a message not yet complete. */
  get buffered(): number {
    return this.pending.length;
  }
}

export function decodeMessage(frame: Uint8Array): Message {
  return codec.decode(frame);
}

function headerString(headers: MessageHeaders, name: string): string | undefined {
  const h = headers[name];
  return h?.type === 'string' ? h.value : undefined;
}

function eventMessage(eventType: string, body: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': { type: 'string', value: 'event' },
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: fromUtf8(JSON.stringify(body)),
  });
}

/** The JSON (awsJson1.1) form of an event: Data in base64, timestamps in epoch seconds, undefined fields left out. */
function eventJson(event: SubscribeToShardEvent): unknown {
  return {
    Records: (event.Records ?? []).map((r) => ({
      SequenceNumber: r.SequenceNumber,
      ApproximateArrivalTimestamp: r.ApproximateArrivalTimestamp ? r.ApproximateArrivalTimestamp.getTime() / 1000 : undefined,
      Data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
      PartitionKey: r.PartitionKey,
      EncryptionType: r.EncryptionType,
    })),
    ContinuationSequenceNumber: event.ContinuationSequenceNumber,
    MillisBehindLatest: event.MillisBehindLatest,
    ChildShards: event.ChildShards,
  };
}

export function encodeSubscribeToShardEvent(event: SubscribeToShardEvent): Uint8Array {
  return eventMessage('SubscribeToShardEvent', eventJson(event));
}

export function encodeInitialResponse(): Uint8Array {
  return eventMessage('initial-response', {});
}

/** An exception message as AWS sends one mid-stream; the SDK throws it as an error named `errorType`. */
export function encodeException(errorType: string, message = `injected ${errorType}`): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': { type: 'string', value: 'exception' },
      ':exception-type': { type: 'string', value: errorType },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: fromUtf8(JSON.stringify({ message })),
  });
}

/** The shard-end event: children, nothing behind, and no continuation (which is what tells a consumer the shard ended). */
export function shardEndEvent(childShards: ChildShard[]): SubscribeToShardEvent {
  return { Records: [], ContinuationSequenceNumber: undefined, MillisBehindLatest: 0, ChildShards: childShards };
}

// ---------------------------------------------------------------------------------------------------------------
// Writing to the client with backpressure accounted

type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

/** The two responses' write() overloads do not unify in TypeScript; both take bytes the same way. */
function writeBytes(res: AnyResponse, bytes: Uint8Array, onFlushed: () => void): boolean {
  return res instanceof http.ServerResponse ? res.write(bytes, onFlushed) : res.write(bytes, onFlushed);
}

class FlowWriter {
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(
    private readonly res: AnyResponse,
    private readonly flow: ClientFlow,
  ) {
    res.on('drain', () => {
      flow.backpressured = false;
    });
  }

  get closed(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  /** False when the client is not keeping up: wait for drained() before writing more. */
  write(frame: Uint8Array, kind: { event?: SubscribeToShardEventJson } = {}): boolean {
    if (this.closed) return false;
    let ok = false;
    this.flow.bytesWritten += frame.byteLength;
    this.flow.messagesWritten++;
    if (kind.event) {
      this.flow.events++;
      this.flow.records += kind.event.Records?.length ?? 0;
    }
    this.lastWrite = new Promise((resolve) => {
      ok = writeBytes(this.res, frame, () => resolve());
    });
    if (!ok) {
      this.flow.backpressured = true;
      this.flow.backpressureEpisodes++;
    }
    return ok;
  }

  /** Resolves once the client has read what was buffered (or the response is gone). */
  drained(): Promise<void> {
    if (!this.flow.backpressured || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  /** Resolves once everything written so far has left for the client (a reset then loses nothing already sent). */
  flushed(): Promise<void> {
    return this.lastWrite;
  }

  end(): void {
    if (!this.closed) this.res.end();
  }
}

interface SubscribeToShardEventJson {
  Records?: unknown[];
  ContinuationSequenceNumber?: string;
  MillisBehindLatest?: number;
  ChildShards?: unknown;
}

// ---------------------------------------------------------------------------------------------------------------
// Shared server plumbing

function readBody(req: http.IncomingMessage | http2.Http2ServerRequest): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * A request or event body in the JSON form the helpers work with, whichever wire protocol it came in: JSON as
 * it is; CBOR (the Kinesis client's default) with byte strings turned into base64 and tag-1 timestamps (epoch
 * milliseconds) into epoch seconds, as the JSON protocol has them.
 */
function parseJson(body: Buffer): unknown {
  try {
    if (body.length > 0 && body[0] !== 0x7b) return cborToJsonForm(cbor.deserialize(body));
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function cborToJsonForm(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) return value.map(cborToJsonForm);
  if (value !== null && typeof value === 'object') {
    const tagged = value as { tag?: unknown; value?: unknown };
    if (tagged.tag === 1 && typeof tagged.value === 'number') return tagged.value / 1000;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cborToJsonForm(v)]));
  }
  return value;
}

function targetOf(req: http.IncomingMessage | http2.Http2ServerRequest): string {
  const target = req.headers['x-amz-target'];
  return Array.isArray(target) ? (target[0] ?? '') : (target ?? '');
}

function sendJsonError(res: AnyResponse, status: number, errorType: string, message: string): void {
  const body = JSON.stringify({ __type: errorType, message });
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': errorType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A listening server whose sockets are all tracked, so close() ends them instead of waiting for them. */
async function listen(server: http.Server | http2.Http2Server): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The proxy in front of kinesis-local

export interface EventStreamProxy {
  readonly endpoint: string;
  readonly subscriptions: readonly ProxiedSubscription[];
  /** Completes the matching open subscriptions' responses and aborts their upstream requests; returns how many. */
  endSubscriptions(filter?: SubscriptionFilter): number;
  /**
   * Turns the shard's next relayed event without records, in an open or a later subscription, into the shard-end
   * event carrying `childShards`. Never settles if no such event comes before close().
   */
  endShard(shardId: string, childShards: ChildShard[]): Promise<ProxiedSubscription>;
  /** Writes an `errorType` exception to the matching open subscriptions and completes them; returns how many. */
  failSubscription(shardId: string, errorType: string, message?: string): number;
  close(): Promise<void>;
}

/** An open proxied subscription: what the test's instructions act on. */
interface Relay {
  record: ProxiedSubscription;
  /** Set once the upstream answered 200 and the client has its headers. */
  writer: FlowWriter | undefined;
  /** An instruction that came before the stream started, carried out as soon as it does. */
  pending: ((writer: FlowWriter) => void) | undefined;
  /** Records how it ended, completes the client's response and aborts the upstream request. */
  end(how: SubscriptionEnd): void;
}

export async function startEventStreamProxy(upstreamEndpoint: string): Promise<EventStreamProxy> {
  const upstream = new URL(upstreamEndpoint);
  const agent = new http.Agent({ keepAlive: true });
  const subscriptions: ProxiedSubscription[] = [];
  const relays = new Set<Relay>();
  const shardEnds = new Map<string, { childShards: ChildShard[]; resolve: (s: ProxiedSubscription) => void }>();

  function forward(req: http.IncomingMessage, body: Buffer, onResponse: (res: http.IncomingMessage) => void, onError: (err: Error) => void): http.ClientRequest {
    const upstreamReq = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, onResponse);
    upstreamReq.on('error', onError);
    upstreamReq.end(body);
    return upstreamReq;
  }

  function passThrough(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const upstreamReq = forward(
      req,
      body,
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
      (err) => {
        if (!res.headersSent) sendJsonError(res, 502, 'ProxyUpstreamError', err.message);
        else res.destroy();
      },
    );
    res.on('close', () => upstreamReq.destroy());
  }

  function subscribe(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const record: ProxiedSubscription = {
      ...newRecord(subscriptions.length, parseJson(body)),
      upstream: { status: undefined, bytes: 0, messages: 0, paused: false, eventTypes: [] },
      lastContinuationSequenceNumber: undefined,
    };
    subscriptions.push(record);
    let upstreamRes: http.IncomingMessage | undefined;
    const relay: Relay = {
      record,
      writer: undefined,
      pending: undefined,
      end: (how) => {
        finish(record, how);
        relays.delete(relay);
        relay.writer?.end();
        upstreamReq.destroy();
      },
    };
    relays.add(relay);

    const upstreamReq = forward(
      req,
      body,
      (ur) => {
        upstreamRes = ur;
        record.upstream.status = ur.statusCode;
        if (ur.statusCode !== 200) {
          const errorType = ur.headers['x-amzn-errortype'];
          finish(record, { how: 'rejected', status: ur.statusCode ?? 0, errorType: typeof errorType === 'string' ? errorType.split(':')[0] : undefined });
          relays.delete(relay);
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
          return;
        }
        const headers = { ...ur.headers };
        // Framing is ours to choose towards the client (we may end the response early).
        delete headers['transfer-encoding'];
        delete headers['content-length'];
        res.writeHead(200, headers);
        const writer = new FlowWriter(res, record.flow);
        relay.writer = writer;
        res.on('drain', () => {
          record.upstream.paused = false;
          ur.resume();
        });
        const framer = new EventStreamFramer();
        ur.on('data', (chunk: Buffer) => {
          record.upstream.bytes += chunk.length;
          for (const frame of framer.push(chunk)) {
            if (record.ended) return;
            relayMessage(relay, writer, frame);
          }
          if (record.flow.backpressured && !record.ended) {
            record.upstream.paused = true;
            ur.pause();
          }
        });
        ur.on('end', () => relay.end({ how: 'completed' }));
        ur.on('error', (err) => relay.end({ how: 'upstream-error', detail: err.message }));
        if (relay.pending) {
          const action = relay.pending;
          relay.pending = undefined;
          action(writer);
        }
      },
      (err) => {
        if (record.ended) return;
        if (!res.headersSent) {
          finish(record, { how: 'upstream-error', detail: err.message });
          relays.delete(relay);
          sendJsonError(res, 502, 'ProxyUpstreamError', err.message);
        } else {
          relay.end({ how: 'upstream-error', detail: err.message });
        }
      },
    );
    res.on('close', () => {
      if (!res.writableFinished) relay.end({ how: 'client-closed' });
      upstreamRes?.destroy();
      upstreamReq.destroy();
    });
  }

  function relayMessage(relay: Relay, writer: FlowWriter, frame: Buffer): void {
    const { record } = relay;
    record.upstream.messages++;
    const message = decodeMessage(frame);
    const eventType = headerString(message.headers, ':event-type') ?? headerString(message.headers, ':exception-type') ?? '?';
    record.upstream.eventTypes.push(eventType);
    if (headerString(message.headers, ':message-type') === 'exception') {
      // An exception ends the stream on AWS; kinesis-local completes the response a little later by itself.
      writer.write(frame);
      relay.end({ how: 'failed', errorType: eventType, from: 'upstream' });
      return;
    }
    if (eventType !== 'SubscribeToShardEvent') {
      writer.write(frame);
      return;
    }
    const event = parseJson(Buffer.from(message.body)) as SubscribeToShardEventJson;
    const shardEnd = record.shardId === undefined ? undefined : shardEnds.get(record.shardId);
    if (shardEnd && (event.Records?.length ?? 0) === 0) {
      shardEnds.delete(record.shardId!);
      writer.write(encodeSubscribeToShardEvent(shardEndEvent(shardEnd.childShards)), { event: { Records: [] } });
      relay.end({ how: 'shard-end' });
      shardEnd.resolve(record);
      return;
    }
    record.lastContinuationSequenceNumber = event.ContinuationSequenceNumber;
    writer.write(frame, { event });
  }

  /** Runs `action` on each matching open subscription now, or when its stream starts. */
  function onOpen(filter: SubscriptionFilter, action: (relay: Relay, writer: FlowWriter) => void): number {
    let count = 0;
    for (const relay of [...relays]) {
      if (relay.record.ended || !matches(relay.record, filter)) continue;
      count++;
      if (relay.writer) action(relay, relay.writer);
      else relay.pending = (writer) => action(relay, writer);
    }
    return count;
  }

  const server = http.createServer((req, res) => {
    readBody(req).then(
      (body) => (targetOf(req) === SUBSCRIBE_TO_SHARD_TARGET ? subscribe(req, res, body) : passThrough(req, res, body)),
      () => res.destroy(),
    );
  });
  const listening = await listen(server);

  return {
    endpoint: listening.endpoint,
    subscriptions,
    endSubscriptions: (filter = {}) => onOpen(filter, (relay) => relay.end({ how: 'ended-by-test' })),
    endShard: (shardId, childShards) =>
      new Promise((resolve) => {
        shardEnds.set(shardId, { childShards, resolve });
      }),
    failSubscription: (shardId, errorType, message) =>
      onOpen({ shardId }, (relay, writer) => {
        writer.write(encodeException(errorType, message));
        relay.end({ how: 'failed', errorType, from: 'test' });
      }),
    close: async () => {
      // The agent's destroy() takes the upstream requests in flight with it.
      agent.destroy();
      await listening.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The stub server

export type StubStep = SubscribeToShardEvent | { exception: string; message?: string } | 'end' | 'reset' | 'truncate';

export interface EventStreamStubOptions {
  /** 'http1' (default) for NodeHttpHandler, 'h2c' for NodeHttp2Handler. */
  protocol?: 'http1' | 'h2c';
  /** The subscription's step number `index` (from 0); asked for only once the previous step is written and drained. */
  events: (subscription: StubSubscription, index: number) => StubStep | Promise<StubStep>;
  /** Send the `initial-response` event first, as AWS does. Default true. */
  initialResponse?: boolean;
  /** Answer SubscribeToShard with this HTTP error type (400) instead of a stream, e.g. 'ResourceInUseException'. */
  rejectSubscription?: (subscription: StubSubscription) => string | undefined;
  /** Any other operation; default: 400 UnknownOperationException. */
  otherOperation?: (operation: string, body: unknown) => { status: number; body: unknown };
}

export interface EventStreamStub {
  readonly endpoint: string;
  readonly protocol: 'http1' | 'h2c';
  readonly subscriptions: readonly StubSubscription[];
  close(): Promise<void>;
}

export async function startEventStreamStub(options: EventStreamStubOptions): Promise<EventStreamStub> {
  const protocol = options.protocol ?? 'http1';
  const subscriptions: StubSubscription[] = [];

  async function stream(res: AnyResponse, record: StubSubscription): Promise<void> {
    res.writeHead(200, { 'content-type': EVENT_STREAM_CONTENT_TYPE, 'x-amzn-requestid': `stub-${record.index}` });
    const writer = new FlowWriter(res, record.flow);
    if (options.initialResponse ?? true) writer.write(encodeInitialResponse());
    for (let index = 0; ; index++) {
      await writer.drained();
      if (writer.closed) return;
      const step = await options.events(record, index);
      if (writer.closed) return;
      if (step === 'end') {
        finish(record, { how: 'completed' });
        writer.end();
        return;
      }
      if (step === 'reset') {
        finish(record, { how: 'reset' });
        await writer.flushed();
        if (res instanceof http.ServerResponse) res.socket?.destroy();
        else res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        return;
      }
      if (step === 'truncate') {
        finish(record, { how: 'truncated' });
        const frame = encodeSubscribeToShardEvent(shardEndEvent([]));
        res.end(frame.subarray(0, frame.byteLength >> 1));
        return;
      }
      if ('exception' in step) {
        finish(record, { how: 'failed', errorType: step.exception, from: 'test' });
        writer.write(encodeException(step.exception, step.message));
        writer.end();
        return;
      }
      writer.write(encodeSubscribeToShardEvent(step), { event: { Records: step.Records ?? [] } });
    }
  }

  function handle(req: http.IncomingMessage | http2.Http2ServerRequest, res: AnyResponse): void {
    readBody(req).then(
      (body) => {
        const operation = targetOf(req).split('.').pop() ?? '';
        const json = parseJson(body);
        if (targetOf(req) !== SUBSCRIBE_TO_SHARD_TARGET) {
          const answer = options.otherOperation?.(operation, json);
          if (!answer) return sendJsonError(res, 400, 'UnknownOperationException', `the stub serves SubscribeToShard only, not ${operation}`);
          const text = JSON.stringify(answer.body);
          res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text) });
          res.end(text);
          return;
        }
        const record = newRecord(subscriptions.length, json);
        subscriptions.push(record);
        res.on('close', () => {
          if (!res.writableFinished) finish(record, { how: 'client-closed' });
        });
        const rejection = options.rejectSubscription?.(record);
        if (rejection) {
          finish(record, { how: 'rejected', status: 400, errorType: rejection });
          return sendJsonError(res, 400, rejection, `stub rejected the subscription with ${rejection}`);
        }
        stream(res, record).catch((err: unknown) => {
          finish(record, { how: 'reset', detail: err instanceof Error ? err.message : String(err) });
          res.destroy();
        });
      },
      () => res.destroy(),
    );
  }

  const server = protocol === 'h2c' ? http2.createServer(handle) : http.createServer(handle);
  const listening = await listen(server);
  return { endpoint: listening.endpoint, protocol, subscriptions, close: listening.close };
}
