/**
 * Line framing for child-process pipes: the daemon's protocol pipes and the emulator's output both use it.
 */
import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a stream into lines on `\n`, `\r\n` or a lone `\r` (Java's BufferedReader rules), decoding UTF-8
 * across chunk boundaries. A `\r` ending a chunk is emitted at once, and a `\n` opening the next chunk is
 * then swallowed, so a `\r\n` split between chunks still yields one line.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private swallowNextLineFeed = false;

  /** Feeds a chunk; returns the lines it completed, without terminators. */
  push(chunk: Uint8Array | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    return this.split(text);
  }

  /** Ends the stream; returns the last line if it had no terminator. */
  end(): string[] {
    const lines = this.split(this.decoder.end());
    if (this.partial !== '') lines.push(this.partial);
    this.partial = '';
    this.swallowNextLineFeed = false;
    return lines;
  }

  private split(text: string): string[] {
    const lines: string[] = [];
    if (text === '') return lines;
    let start = 0;
    if (this.swallowNextLineFeed && text.charCodeAt(0) === 0x0a) start = 1;
    this.swallowNextLineFeed = false;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      lines.push(this.partial + text.slice(start, i));
      this.partial = '';
      if (c === 0x0d) {
        if (i + 1 === text.length) this.swallowNextLineFeed = true;
        else if (text.charCodeAt(i + 1) === 0x0a) i++;
      }
      start = i + 1;
    }
    this.partial += text.slice(start);
    return lines;
  }
}

/**
 * Calls `onLine` for every line of a readable byte stream (the last one too, if it has no terminator).
 */
export function forEachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  const splitter = new LineSplitter();
  stream.on('data', (chunk: Buffer | string) => splitter.push(chunk).forEach(onLine));
  stream.once('end', () => splitter.end().forEach(onLine));
}
