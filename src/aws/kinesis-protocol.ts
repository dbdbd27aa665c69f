/**
 * Kinesis over CBOR (`application/x-amz-cbor-1.1`), the wire format the Java SDKs use by default (see
 * docs/retrieval.md, 'Wire protocol'). It is the awsJson1_1 protocol with a CBOR body: the same `POST /` with
 * `X-Amz-Target: Kinesis_20131202.<Operation>`, the same member names, errors named by `__type`; but record data
 * travels as raw bytes (no base64, no UTF-8 decoding of a 10 MB body) and timestamps as CBOR tag 1 carrying
 * epoch MILLISECONDS (Kinesis' convention, unlike Smithy's rpcv2Cbor, whose tag 1 carries seconds).
 *
 * Built on the SDK's extension points: the client's `protocol` (a subclass of the SDK's own AwsJson1_1Protocol,
 * which takes a payload codec) and the CBOR codec of @smithy/core, wrapped for the Kinesis conventions and for
 * what the emulators send:
 * - kinesalite answers CBOR requests with the data it stored as JSON: record data as a base64 text string (as
 *   kinesis-local does too), timestamps as plain epoch seconds, and data that was itself put over CBOR as a
 *   serialised Node Buffer (`{type: 'Buffer', data: [...]}`); all three are read back as bytes and dates here.
 * - A body that is JSON after all (an error page from a proxy, an emulator that answers JSON) is parsed as JSON.
 */
import { AwsJson1_1Protocol } from '@aws-sdk/core/protocols';
import { CborCodec, tag } from '@smithy/core/cbor';
import { NormalizedSchema } from '@smithy/core/schema';
import type { HttpRequest, Schema, SerdeFunctions, ShapeDeserializer, ShapeSerializer } from '@smithy/types';
import { answerPool } from './body-collector.js';

export const CBOR_CONTENT_TYPE = 'application/x-amz-cbor-1.1';

/** An empty CBOR map: the body of an operation without input (the JSON protocol sends `{}`). */
const EMPTY_MAP = new Uint8Array([0xa0]);

/** An epoch value at or above this is milliseconds (1e11 seconds is the year 5138). */
const MILLIS_THRESHOLD = 1e11;

/** A timestamp as sent in an epoch number: milliseconds by Kinesis' convention, seconds by kinesalite's. */
export function epochToDate(value: number): Date {
  return new Date(Math.abs(value) >= MILLIS_THRESHOLD ? value : Math.round(value * 1000));
}

/** True while an answer in a pooled buffer is decoded: its blobs are copied out, since the buffer will be reused. */
let copyBlobs = false;

/** Record data as bytes, whatever the emulator sent (see the module comment). */
export function blobToBuffer(value: unknown): unknown {
  if (value instanceof Uint8Array) return copyBlobs ? Buffer.from(value) : Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'base64');
  if (value !== null && typeof value === 'object') {
    const serialised = value as { type?: unknown; data?: unknown };
    if (serialised.type === 'Buffer' && Array.isArray(serialised.data)) return Buffer.from(serialised.data as number[]);
  }
  return value;
}

function timestampFromWire(value: unknown): unknown {
  if (value instanceof Date) {
    // The SDK's CBOR reader turns tag 1 into a Date read as seconds: undo that (in place, one Date per record).
    const sent = value.getTime() / 1000;
    if (Math.abs(sent) >= MILLIS_THRESHOLD) value.setTime(sent);
    return value;
  }
  if (typeof value === 'number') return epochToDate(value);
  return value;
}

function timestampToWire(value: unknown): unknown {
  return value instanceof Date ? tag({ tag: 1, value: value.getTime() }) : value;
}

// ---------------------------------------------------------------------------------------------------------------
// Schema walkers: compiled once per shape, visiting only the members that hold a timestamp or a blob.

type Fix = (value: unknown) => unknown;
type Leaf = (ns: NormalizedSchema) => Fix | undefined;

function compile(ns: NormalizedSchema, leaf: Leaf, seen: Set<unknown>, copy: boolean): Fix | undefined {
  const direct = leaf(ns);
  if (direct) return direct;
  const key = ns.getSchema();
  if (seen.has(key)) return undefined; // recursive shape: Kinesis has none, but never loop
  seen.add(key);
  try {
    if (ns.isListSchema()) {
      const item = compile(ns.getValueSchema(), leaf, seen, copy);
      if (!item) return undefined;
      return (value) => {
        if (!Array.isArray(value)) return value;
        const out = copy ? new Array<unknown>(value.length) : value;
        for (let i = 0; i < value.length; i++) out[i] = item(value[i]);
        return out;
      };
    }
    if (ns.isMapSchema()) {
      const item = compile(ns.getValueSchema(), leaf, seen, copy);
      if (!item) return undefined;
      return (value) => {
        if (value === null || typeof value !== 'object') return value;
        const source = value as Record<string, unknown>;
        const out: Record<string, unknown> = copy ? { ...source } : source;
        for (const k of Object.keys(source)) out[k] = item(source[k]);
        return out;
      };
    }
    if (ns.isStructSchema()) {
      const members: [string, Fix][] = [];
      for (const [name, member] of ns.structIterator()) {
        const fix = compile(member, leaf, seen, copy);
        if (fix) members.push([name, fix]);
      }
      if (members.length === 0) return undefined;
      return (value) => {
        if (value === null || typeof value !== 'object') return value;
        const source = value as Record<string, unknown>;
        const out: Record<string, unknown> = copy ? { ...source } : source;
        for (const [name, fix] of members) {
          const v = source[name];
          if (v !== undefined && v !== null) out[name] = fix(v);
        }
        return out;
      };
    }
    return undefined;
  } finally {
    seen.delete(key);
  }
}

/** One compiled walker per shape and direction. */
class Walkers {
  private readonly cache = new Map<unknown, Fix | null>();
  constructor(
    private readonly leaf: Leaf,
    private readonly copy: boolean,
  ) {}
  for(schema: Schema): Fix | undefined {
    const ns = NormalizedSchema.of(schema);
    const key = ns.getSchema();
    let fix = this.cache.get(key);
    if (fix === undefined) {
      fix = compile(ns, this.leaf, new Set(), this.copy) ?? null;
      this.cache.set(key, fix);
    }
    return fix ?? undefined;
  }
}

const fromWire = new Walkers((ns) => (ns.isTimestampSchema() ? timestampFromWire : ns.isBlobSchema() ? blobToBuffer : undefined), false);
// Requests are the caller's objects: copied along the path, never changed in place.
const toWire = new Walkers((ns) => (ns.isTimestampSchema() ? timestampToWire : undefined), true);

// ---------------------------------------------------------------------------------------------------------------
// Codec

const OPEN_BRACE = 0x7b;

/** The SDK's serializer, with timestamps as tag 1 + epoch milliseconds. */
class KinesisCborSerializer implements ShapeSerializer<Uint8Array> {
  constructor(private readonly inner: ShapeSerializer<Uint8Array>) {}
  setSerdeContext(context: SerdeFunctions): void {
    this.inner.setSerdeContext?.(context);
  }
  write(schema: Schema, value: unknown): void {
    const fix = toWire.for(schema);
    this.inner.write(schema, fix ? fix(value) : value);
  }
  flush(): Uint8Array {
    return this.inner.flush();
  }
}

interface ValueReader {
  readValue(schema: Schema, value: unknown): unknown;
}

/** The SDK's single-pass CBOR reader, then the Kinesis/emulator fix-ups of timestamps and blobs. */
class KinesisCborDeserializer implements ShapeDeserializer<Uint8Array> {
  constructor(private readonly inner: ShapeDeserializer<Uint8Array> & ValueReader) {}
  setSerdeContext(context: SerdeFunctions): void {
    this.inner.setSerdeContext?.(context);
  }
  read(schema: Schema, bytes: Uint8Array): unknown {
    // An answer in a pooled buffer (aws/body-collector.ts) goes back to the pool once read, its blobs copied out;
    // any other answer is read in place, its blobs views into it.
    const pooled = answerPool.isLent(bytes);
    copyBlobs = pooled;
    try {
      return this.readBody(schema, bytes);
    } finally {
      copyBlobs = false;
      if (pooled) answerPool.giveBack(bytes);
    }
  }

  private readBody(schema: Schema, bytes: Uint8Array): unknown {
    // A Buffer view (no copy): the reader then decodes strings with Buffer's UTF-8 and hands out blobs as Buffers.
    const body = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (body.length > 0 && body[0] === OPEN_BRACE) return this.readObject(schema, JSON.parse(body.toString('utf8')));
    let value: unknown;
    try {
      value = this.inner.read(schema, body);
    } catch (err) {
      throw new Error(
        `a CBOR answer of ${body.length} bytes could not be decoded (${err instanceof Error ? err.message : String(err)}); ` +
          'if the endpoint does not speak CBOR in full (kinesalite cuts CBOR answers at 16 KB), set kinesisProtocol = JSON',
        { cause: err },
      );
    }
    const fix = fromWire.for(schema);
    return fix ? fix(value) : value;
  }
  /** What the JSON-RPC error handler calls for each member of an error shape (the JSON codec's name for readValue). */
  readObject(schema: Schema, value: unknown): unknown {
    const fix = fromWire.for(schema);
    const read = this.inner.readValue(schema, value);
    return fix ? fix(read) : read;
  }
}

class KinesisCborCodec extends CborCodec {
  override createSerializer(): ReturnType<CborCodec['createSerializer']> {
    return new KinesisCborSerializer(super.createSerializer()) as unknown as ReturnType<CborCodec['createSerializer']>;
  }
  override createDeserializer(): ReturnType<CborCodec['createDeserializer']> {
    return new KinesisCborDeserializer(super.createDeserializer()) as unknown as ReturnType<CborCodec['createDeserializer']>;
  }
}

type JsonRpcSettings = ConstructorParameters<typeof AwsJson1_1Protocol>[0];

/**
 * The client's `protocol` for CBOR: the SDK's awsJson1_1 protocol (endpoint, target header, error naming) with
 * the CBOR codec as its payload codec and the CBOR content type.
 */
export class KinesisCborProtocol extends AwsJson1_1Protocol {
  constructor(settings: JsonRpcSettings) {
    // The JSON-RPC protocol only needs a codec's createSerializer/createDeserializer; its type names the JSON ones.
    super({ ...settings, jsonCodec: new KinesisCborCodec() as unknown as NonNullable<JsonRpcSettings['jsonCodec']> });
  }

  override getShapeId(): string {
    return 'aws.protocols#awsJson1_1+cbor';
  }

  protected override getDefaultContentType(): string {
    return CBOR_CONTENT_TYPE;
  }

  override async serializeRequest<Input extends object>(
    operationSchema: Parameters<AwsJson1_1Protocol['serializeRequest']>[0],
    input: Input,
    context: Parameters<AwsJson1_1Protocol['serializeRequest']>[2],
  ): Promise<HttpRequest> {
    const request = await super.serializeRequest(operationSchema, input, context);
    request.headers['content-type'] = CBOR_CONTENT_TYPE;
    // The JSON protocol's body for an operation without input is the string "{}".
    if (typeof request.body === 'string') request.body = EMPTY_MAP;
    return request;
  }
}
