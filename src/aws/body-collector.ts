/**
 * The Kinesis clients' `streamCollector`: reads a response body into one Buffer. The SDK's default pipes the body
 * through a Writable, keeps every chunk and then concatenates them into a fresh, zero-filled array: for a 10 MB
 * GetRecords answer that is a zero-fill, a copy and the stream machinery per chunk. Here the body's announced
 * length (`content-length`) sizes one uninitialised buffer that each chunk is copied into as it arrives; a body
 * that arrives in one chunk is that chunk, not copied at all. Without a length (chunked encoding) the chunks are
 * concatenated once at the end.
 *
 * The result is a Buffer, which the CBOR reader hands out as zero-copy views (record data) and decodes strings
 * from with Buffer's UTF-8.
 */
import { Readable } from 'node:stream';
import { streamCollector as sdkStreamCollector } from '@smithy/node-http-handler';

/** The largest length trusted from the header before any byte arrived (Kinesis answers at most ~10 MB). */
const MAX_PREALLOCATED = 64 * 1024 * 1024;

function announcedLength(stream: Readable): number | undefined {
  const headers = (stream as Readable & { headers?: Record<string, string | string[] | undefined> }).headers;
  const raw = headers?.['content-length'];
  if (typeof raw !== 'string') return undefined;
  const length = Number(raw);
  return Number.isSafeInteger(length) && length >= 0 && length <= MAX_PREALLOCATED ? length : undefined;
}

/** Answers at least this long are read into a buffer of the answer pool, when the caller gives them back. */
const POOLED_MIN_BYTES = 1024 * 1024;
/** Pooled buffers are whole MiBs, so that the next answer, a little longer, still fits. */
const POOLED_GRAIN_BYTES = 1024 * 1024;
/** Buffers kept for reuse at most: one per GetRecords in flight on a busy worker. */
const POOLED_MAX_FREE = 8;

/**
 * Buffers for large answers (a GetRecords of 10,000 records is about 10 MB), lent by the collector and given back
 * by the decoder once nothing it hands out points into them (aws/kinesis-protocol.ts copies record data out of
 * a pooled answer). A fresh buffer of 10 MB costs a page fault on every 4 KiB of it as it is filled, which on a
 * virtual machine is the largest single cost of reading a record (docs/performance.md, 'Answer buffers'); a
 * buffer used before does not. The free buffers are held weakly: the garbage collector takes them back when
 * memory is short or the process is idle, so a worker that caught up does not keep them.
 */
class AnswerPool {
  private readonly free: WeakRef<ArrayBuffer>[] = [];
  private readonly lent = new WeakSet<ArrayBuffer>();
  /** Answers read into a buffer used before, and into a new one: for the tests and the benchmarks. */
  reused = 0;
  allocated = 0;

  /** A buffer of exactly `length` bytes, lent until giveBack. */
  take(length: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const buffer = this.free[i]!.deref();
      if (buffer !== undefined && buffer.byteLength < length) continue;
      this.free.splice(i, 1);
      if (buffer === undefined) continue;
      this.lent.add(buffer);
      this.reused++;
      return Buffer.from(buffer, 0, length);
    }
    const buffer = Buffer.allocUnsafeSlow(Math.ceil(length / POOLED_GRAIN_BYTES) * POOLED_GRAIN_BYTES).buffer as ArrayBuffer;
    this.lent.add(buffer);
    this.allocated++;
    return Buffer.from(buffer, 0, length);
  }

  /** Whether `bytes` lie in a lent buffer. */
  isLent(bytes: Uint8Array): boolean {
    return this.lent.has(bytes.buffer as ArrayBuffer);
  }

  /** Takes back the buffer `bytes` lie in; the caller must hold nothing that points into it. */
  giveBack(bytes: Uint8Array): void {
    const buffer = bytes.buffer as ArrayBuffer;
    if (!this.lent.delete(buffer)) return;
    if (this.free.length < POOLED_MAX_FREE) this.free.push(new WeakRef(buffer));
  }
}

export const answerPool = new AnswerPool();

/** The collector as the SDK calls it: every answer into a buffer of its own. */
export function collectBody(stream: unknown): Promise<Uint8Array> {
  return collect(stream, false);
}

/**
 * The collector for a client whose decoder gives large answers back to `answerPool` (the Kinesis client over
 * CBOR): a successful answer of a megabyte or more is read into a pooled buffer.
 */
export function collectPooledBody(stream: unknown): Promise<Uint8Array> {
  return collect(stream, true);
}

function collect(stream: unknown, pooled: boolean): Promise<Uint8Array> {
  if (stream instanceof Uint8Array) return Promise.resolve(stream);
  // Web streams and blobs (not what the Node handlers give) go to the SDK's own collector.
  if (!(stream instanceof Readable)) return sdkStreamCollector(stream as Parameters<typeof sdkStreamCollector>[0]);
  const length = announcedLength(stream);
  // Error answers are small and their bodies may be kept with the error: never pooled.
  const fromPool = pooled && length !== undefined && length >= POOLED_MIN_BYTES && (stream as Readable & { statusCode?: number }).statusCode === 200;
  return new Promise<Uint8Array>((resolve, reject) => {
    let body: Buffer | undefined;
    let filled = 0;
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let done = false;
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (chunks !== undefined) {
        chunks.push(bytes);
      } else if (body !== undefined) {
        if (filled + bytes.length <= body.length) {
          bytes.copy(body, filled);
          filled += bytes.length;
        } else {
          // More bytes than announced: keep every piece and concatenate at the end.
          chunks = [body.subarray(0, filled), bytes];
          body = undefined;
        }
      } else if (first === undefined) {
        first = bytes;
      } else if (length !== undefined && first.length + bytes.length <= length) {
        // A second piece: from now on each piece is copied once into its place.
        body = fromPool ? answerPool.take(length) : Buffer.allocUnsafe(length);
        first.copy(body, 0);
        bytes.copy(body, first.length);
        filled = first.length + bytes.length;
        first = undefined;
      } else {
        chunks = [first, bytes];
        first = undefined;
      }
    };
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error) reject(error);
      else if (chunks !== undefined) resolve(Buffer.concat(chunks));
      else if (body !== undefined) resolve(filled === body.length ? body : body.subarray(0, filled));
      else resolve(first ?? Buffer.alloc(0));
    };
    const onEnd = () => finish();
    const onError = (err: Error) => finish(err);
    // A body cut short (connection closed before its end) must not pass for a complete one.
    const onClose = () => finish(new Error('the response body was cut short (connection closed before its end)'));
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}
