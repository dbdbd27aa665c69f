/**
 * A small strict JSON parser that keeps numbers as their source text. Children may send sequence numbers as
 * JSON numbers far beyond 2^53 (Jackson accepts them and uses the decimal text); JSON.parse would round them,
 * and Node 20 has no reviver access to the source text. Strings are decoded by JSON.parse on the exact
 * token, so escape handling is the platform's.
 */

/** A JSON number exactly as written. */
export class JsonNumber {
  constructor(readonly text: string) {}
  toNumber(): number {
    return Number(this.text);
  }
}

export type JsonValue = string | boolean | null | JsonNumber | JsonValue[] | JsonObject;
/** A Map, not a plain object, so keys like `__proto__` are just keys; on duplicates the last wins, as in Jackson. */
export type JsonObject = Map<string, JsonValue>;

/** Deep nesting is never protocol; bounding it keeps a hostile line from overflowing the stack. */
const MAX_DEPTH = 256;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

export function isJsonObject(value: JsonValue): value is JsonObject {
  return value instanceof Map;
}

/** Parses one JSON document; throws SyntaxError on anything JSON.parse would reject. */
export function parseLosslessJson(text: string): JsonValue {
  const parser = new Parser(text);
  const value = parser.document();
  return value;
}

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  document(): JsonValue {
    this.skipWhitespace();
    const value = this.value(0);
    this.skipWhitespace();
    if (this.pos !== this.src.length) this.fail('unexpected text after the JSON value');
    return value;
  }

  private value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    switch (this.src[this.pos]) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        return this.number();
    }
  }

  private object(depth: number): JsonObject {
    const result: JsonObject = new Map();
    this.pos++;
    this.skipWhitespace();
    if (this.src[this.pos] === '}') {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.src[this.pos] !== '"') this.fail('expected a property name');
      const key = this.string();
      this.skipWhitespace();
      this.expect(':');
      this.skipWhitespace();
      result.set(key, this.value(depth + 1));
      this.skipWhitespace();
      if (this.src[this.pos] === '}') {
        this.pos++;
        return result;
      }
      this.expect(',');
    }
  }

  private array(depth: number): JsonValue[] {
    const result: JsonValue[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.src[this.pos] === ']') {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      result.push(this.value(depth + 1));
      this.skipWhitespace();
      if (this.src[this.pos] === ']') {
        this.pos++;
        return result;
      }
      this.expect(',');
    }
  }

  private string(): string {
    const start = this.pos;
    let i = start + 1;
    for (;;) {
      if (i >= this.src.length) this.fail('unterminated string');
      const c = this.src.charCodeAt(i);
      if (c === 0x22) break;
      i += c === 0x5c ? 2 : 1;
    }
    this.pos = i + 1;
    // JSON.parse validates escapes and rejects raw control characters for us.
    const decoded: unknown = JSON.parse(this.src.slice(start, this.pos));
    if (typeof decoded !== 'string') this.fail('invalid string');
    return decoded;
  }

  private number(): JsonNumber {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.src);
    if (!match || match[0].length === 0) this.fail('unexpected character');
    this.pos += match[0].length;
    return new JsonNumber(match[0]);
  }

  private literal<T extends boolean | null>(word: string, value: T): T {
    if (!this.src.startsWith(word, this.pos)) this.fail('unexpected character');
    this.pos += word.length;
    return value;
  }

  private expect(char: string): void {
    if (this.src[this.pos] !== char) this.fail(`expected '${char}'`);
    this.pos++;
  }

  private skipWhitespace(): void {
    for (;;) {
      const c = this.src.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  private fail(reason: string): never {
    throw new SyntaxError(`${reason} at position ${this.pos}`);
  }
}
