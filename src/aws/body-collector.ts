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

export function collectBody(stream: unknown): Promise<Uint8Array> {
  if (stream instanceof Uint8Array) return Promise.resolve(stream);
  // Web streams and blobs (not what the Node handlers give) go to the SDK's own collector.
  if (!(stream instanceof Readable)) return sdkStreamCollector(stream as Parameters<typeof sdkStreamCollector>[0]);
  const length = announcedLength(stream);
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
        body = Buffer.allocUnsafe(length);
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
