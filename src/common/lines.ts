/**
 * Line framing for child-process pipes: the daemon's protocol pipes and the emulator's output both use it.
 */
import { isAscii } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines on `\n`, `\r\n` or a lone `\r` (Java's BufferedReader rules). A `\r` ending
 * a chunk is emitted at once, and a `\n` opening the next chunk is then swallowed, so a `\r\n` split between
 * chunks still yields one line.
 *
 * A processRecords line can be 14 MB, arriving in 64 KiB reads, so the cost per byte matters (docs/performance.md,
 * 'The daemon's throughput, and the kcl-ts child'): terminators are found with the native byte search, not by
 * walking the text in JavaScript, and a piece of a line that is ASCII (protocol lines nearly always are: ours
 * escape everything else) becomes text as Latin-1, a plain copy, instead of going through the UTF-8 decoder. Once
 * a line holds anything else, the rest of it goes through the decoder, which keeps a character split between
 * chunks whole. The pieces are joined as strings; whoever parses the line makes it flat once.
 */
export class LineSplitter {
  private partial = '';
  /** The decoder of the current line, from its first non-ASCII piece on. */
  private decoder: StringDecoder | undefined;
  private swallowNextLineFeed = false;

  /** Feeds a chunk; returns the lines it completed, without terminators. */
  push(chunk: Uint8Array | string): string[] {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lines: string[] = [];
    if (bytes.length === 0) return lines;
    let start = 0;
    if (this.swallowNextLineFeed && bytes[0] === LF) start = 1;
    this.swallowNextLineFeed = false;
    // The next of each terminator at or after `start`, found again only once passed, so that a chunk of many
    // short lines is searched once, not once per line.
    let lf = bytes.indexOf(LF, start);
    let cr = bytes.indexOf(CR, start);
    for (;;) {
      const end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
      if (end < 0) break;
      this.append(bytes.subarray(start, end));
      lines.push(this.finishLine());
      start = end + 1;
      if (end === cr) {
        if (start === bytes.length) this.swallowNextLineFeed = true;
        else if (bytes[start] === LF) start++;
      }
      if (lf >= 0 && lf < start) lf = bytes.indexOf(LF, start);
      if (cr >= 0 && cr < start) cr = bytes.indexOf(CR, start);
    }
    if (start < bytes.length) this.append(bytes.subarray(start));
    return lines;
  }

  /** Ends the stream; returns the last line if it had no terminator. */
  end(): string[] {
    this.swallowNextLineFeed = false;
    const open = this.partial !== '' || this.decoder !== undefined;
    const last = this.finishLine();
    return open && last !== '' ? [last] : [];
  }

  private append(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.decoder === undefined && isAscii(piece)) {
      this.partial += piece.toString('latin1');
      return;
    }
    this.decoder ??= new StringDecoder('utf8');
    this.partial += this.decoder.write(piece);
  }

  private finishLine(): string {
    const line = this.decoder === undefined ? this.partial : this.partial + this.decoder.end();
    this.partial = '';
    this.decoder = undefined;
    return line;
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
