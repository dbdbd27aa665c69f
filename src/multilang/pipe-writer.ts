/**
 * Writing a message to a child's stdin with backpressure: the next chunk is taken from the (lazy) message only
 * after the stream accepted the previous one, so a child that reads slowly holds the daemon to about one chunk
 * plus the stream's buffer, and a child that stops reading cannot make it wait past the caller's bounds.
 */
import type { Writable } from 'node:stream';

export interface WriteBounds {
  /** Longest wait for the stream to drain (no progress at all); undefined = no limit. */
  readonly timeoutMillis?: number;
  /**
   * Registers a listener for "stop waiting" (the child ended) and returns the unregistration. The listener
   * gets the reason; it is called at once if the reason is already known.
   */
  readonly onStop?: (listener: (reason: string) => void) => () => void;
}

/** Hands every chunk to `stream` in order; resolves to why it stopped early, or undefined when all were handed over. */
export async function writeChunks(stream: Writable, chunks: Iterable<Uint8Array>, bounds: WriteBounds = {}): Promise<string | undefined> {
  for (const chunk of chunks) {
    if (stream.destroyed || !stream.writable) return 'its stdin is closed';
    if (stream.write(chunk)) continue;
    const stalled = await drained(stream, bounds);
    if (stalled !== undefined) return stalled;
  }
  return undefined;
}

function drained(stream: Writable, { timeoutMillis, onStop }: WriteBounds): Promise<string | undefined> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let unregister: (() => void) | undefined;
    let settled = false;
    const settle = (why: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      unregister?.();
      resolve(why);
    };
    const onDrain = () => settle(undefined);
    const onClose = () => settle('its stdin was closed');
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    if (timeoutMillis !== undefined) {
      timer = setTimeout(() => settle(`the child read none of its input for ${timeoutMillis / 1000} s (timeoutInSeconds)`), timeoutMillis);
    }
    unregister = onStop?.(settle);
    if (settled) unregister?.();
  });
}
