/**
 * The `.properties` reader. It reproduces `java.util.Properties.load` exactly (see docs/daemon-protocol.md,
 * 'Properties file'), because the files it reads were written for the Java MultiLangDaemon and must mean the
 * same thing here: continuation lines, escapes, separators and "no inline comments" all follow Java, quirks
 * included.
 */

import { readFile } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { ConfigError } from '../common/errors.js';

/** One logical line: natural lines joined by continuations, escapes still in place. */
interface LogicalLine {
  text: string;
  /** 1-based number of the natural line the logical line starts on, for error messages. */
  lineNumber: number;
}

const isBlank = (c: string): boolean => c === ' ' || c === '\t' || c === '\f';
const isTerminator = (c: string): boolean => c === '\n' || c === '\r';

/**
 * Parses the text of a properties file. Later duplicates replace earlier ones (as in Java); the map keeps the
 * position of a key's first appearance. Throws ConfigError (with the line number) on a malformed `\uXXXX`.
 */
export function parseProperties(text: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const line of logicalLines(text)) {
    const [key, value] = splitKeyValue(line);
    result.set(key, value);
  }
  return result;
}

/**
 * Reads and parses a properties file. Java decodes the bytes as ISO-8859-1; we first try UTF-8 and use it when
 * the bytes are valid UTF-8 (a documented extension, so non-Latin text can be written as is), else Latin-1.
 * Pure ASCII files mean the same either way. Any read or parse failure is a ConfigError naming the path.
 */
export async function readPropertiesFile(path: string): Promise<Map<string, string>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`cannot read properties file "${path}": ${reason}`);
  }
  try {
    return parseProperties(decodePropertiesBytes(bytes));
  } catch (err) {
    throw err instanceof ConfigError ? err.inFile(path) : err;
  }
}

/** UTF-8 if the bytes are valid UTF-8 (a leading BOM is dropped), otherwise ISO-8859-1 like Java. */
export function decodePropertiesBytes(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isUtf8(buffer)) return buffer.toString('latin1');
  const text = buffer.toString('utf8');
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/**
 * Splits text into logical lines the way Java's `Properties.LineReader` does: leading whitespace of every
 * natural line is dropped, blank and comment lines vanish, and an odd run of trailing backslashes joins the next
 * natural line. A comment is recognised only while the logical line is still empty, so a continuation line
 * starting with `#` is value text, and a comment ending in `\` does not swallow the next line. (Java's quirk,
 * kept: after a line holding nothing but `\`, the logical line is still empty, so a following `#` line IS a
 * comment and a following blank line is simply skipped; but a lone `\` as the last line is an entry "" = "".)
 */
function* logicalLines(text: string): Generator<LogicalLine> {
  const cursor = { pos: 0, lineNumber: 1 };
  while (cursor.pos < text.length) {
    cursor.pos = skipBlanks(text, cursor.pos);
    if (cursor.pos >= text.length) break;
    const first = text[cursor.pos] as string;
    if (isTerminator(first) || first === '#' || first === '!') {
      cursor.pos = skipTerminator(text, endOfNaturalLine(text, cursor.pos));
      cursor.lineNumber++;
      continue;
    }
    const startLine = cursor.lineNumber;
    const logical = readLogicalLine(text, cursor);
    if (logical !== undefined) yield { text: logical, lineNumber: startLine };
  }
}

/**
 * Reads natural lines from `cursor` while they end in an odd number of backslashes, joining them without the
 * continuation backslash. Returns undefined when a continuation leaves the joined text empty with more input to
 * come, so the caller treats what follows as the start of a new logical line (comments and blank lines
 * included), as Java does.
 */
function readLogicalLine(text: string, cursor: { pos: number; lineNumber: number }): string | undefined {
  let logical = '';
  for (;;) {
    const end = endOfNaturalLine(text, cursor.pos);
    const segment = text.slice(cursor.pos, end);
    const continues = trailingBackslashes(segment) % 2 === 1;
    cursor.pos = skipTerminator(text, end);
    if (end < text.length) cursor.lineNumber++;
    if (!continues) return logical + segment;
    // Java drops the continuation backslash even at end of input, where there is nothing to join.
    logical += segment.slice(0, -1);
    // Java checks for end of input right after the first terminator character, so an empty logical line at the
    // very end is an entry "" = "" when the final `\` is followed by nothing, LF or CR, but not by CRLF.
    if (end + 1 >= text.length) return logical;
    if (logical === '') return undefined;
    cursor.pos = skipBlanks(text, cursor.pos);
    // A blank continuation line ends the logical line: the next pass reads an empty segment and stops.
  }
}

function skipBlanks(text: string, pos: number): number {
  while (pos < text.length && isBlank(text[pos] as string)) pos++;
  return pos;
}

function endOfNaturalLine(text: string, pos: number): number {
  while (pos < text.length && !isTerminator(text[pos] as string)) pos++;
  return pos;
}

/** Steps over one terminator: `\n`, `\r` or `\r\n`. */
function skipTerminator(text: string, pos: number): number {
  if (text[pos] === '\r') return text[pos + 1] === '\n' ? pos + 2 : pos + 1;
  return text[pos] === '\n' ? pos + 1 : pos;
}

function trailingBackslashes(segment: string): number {
  let count = 0;
  for (let i = segment.length - 1; i >= 0 && segment[i] === '\\'; i--) count++;
  return count;
}

/**
 * Java's key/value split: the key ends at the first unescaped `=`, `:` or whitespace; then whitespace, at most one
 * `=`/`:`, and whitespace again are skipped; the rest (trailing whitespace included) is the value.
 */
function splitKeyValue(line: LogicalLine): [string, string] {
  const { text } = line;
  let keyEnd = 0;
  let hasSeparator = false;
  let escaped = false;
  for (; keyEnd < text.length; keyEnd++) {
    const c = text[keyEnd] as string;
    if (!escaped && (c === '=' || c === ':' || isBlank(c))) {
      hasSeparator = c === '=' || c === ':';
      break;
    }
    escaped = c === '\\' ? !escaped : false;
  }
  let valueStart = Math.min(keyEnd + 1, text.length);
  for (; valueStart < text.length; valueStart++) {
    const c = text[valueStart] as string;
    if (isBlank(c)) continue;
    if (hasSeparator || (c !== '=' && c !== ':')) break;
    hasSeparator = true;
  }
  const key = unescape(text.slice(0, keyEnd), line.lineNumber, undefined);
  const value = unescape(text.slice(valueStart), line.lineNumber, key);
  return [key, value];
}

const ESCAPES: Readonly<Record<string, string>> = { t: '\t', n: '\n', r: '\r', f: '\f' };

/** Java's `loadConvert`: `\t \n \r \f`, `\uXXXX`, and `\` + any other character → that character. */
function unescape(raw: string, lineNumber: number, key: string | undefined): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    i++;
    // A lone backslash at the very end can only come from a continuation at end of input; Java drops it.
    if (i >= raw.length) break;
    const next = raw[i] as string;
    if (next === 'u') {
      out += decodeUnicodeEscape(raw, i + 1, lineNumber, key);
      i += 4;
    } else {
      out += ESCAPES[next] ?? next;
    }
  }
  return out;
}

function decodeUnicodeEscape(raw: string, start: number, lineNumber: number, key: string | undefined): string {
  const digits = raw.slice(start, start + 4);
  if (!/^[0-9a-fA-F]{4}$/.test(digits)) {
    const where = key === undefined ? 'in a key' : `in the value of "${key}"`;
    throw new ConfigError(`line ${lineNumber}: Malformed \\uxxxx encoding ${where}: "\\u${digits}"`, key);
  }
  return String.fromCharCode(parseInt(digits, 16));
}
