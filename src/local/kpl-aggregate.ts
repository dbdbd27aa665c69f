/**
 * The KPL aggregate encoder, for producing (`kcl produce --aggregate N`); the format and the decoder that
 * retrieval uses are in retrieval/kpl.ts.
 */
import { DIGEST_SIZE, KPL_MAGIC, MAX_HASH_KEY, md5 } from '../retrieval/kpl.js';

/** A user record to aggregate. */
export interface AggregateInput {
  partitionKey: string;
  data: Uint8Array;
  explicitHashKey?: string;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, pos: number, n: number): number {
  while (n >= 128) {
    out[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

/** Size of a length-delimited field with a one-byte tag. */
function delimitedSize(len: number): number {
  return 1 + varintSize(len) + len;
}

function validateInput(r: AggregateInput): void {
  if (r.explicitHashKey !== undefined) {
    if (!/^[0-9]+$/.test(r.explicitHashKey) || BigInt(r.explicitHashKey) > MAX_HASH_KEY) {
      throw new RangeError(`explicit hash key must be a decimal integer in [0, 2^128-1]: ${JSON.stringify(r.explicitHashKey)}`);
    }
  }
}

/** Builds one aggregate incrementally, tracking its exact encoded size. */
class Builder {
  private readonly partitionKeys = new Map<string, number>();
  private readonly explicitHashKeys = new Map<string, number>();
  private readonly pkBytes: Buffer[] = [];
  private readonly ehkBytes: Buffer[] = [];
  private readonly records: { pk: number; ehk?: number; data: Uint8Array; innerSize: number }[] = [];
  /** Size of the protobuf message so far. */
  protoSize = 0;

  get count(): number {
    return this.records.length;
  }

  /** Encoded size of the whole aggregate (magic + protobuf + MD5) if `r` were added. */
  sizeWith(r: AggregateInput): number {
    return KPL_MAGIC.length + this.protoSize + this.addedSize(r).added + DIGEST_SIZE;
  }

  private addedSize(r: AggregateInput): { added: number; pkLen?: number; ehkLen?: number; innerSize: number } {
    let added = 0;
    let pk = this.partitionKeys.get(r.partitionKey);
    let pkLen: number | undefined;
    if (pk === undefined) {
      pk = this.partitionKeys.size;
      pkLen = Buffer.byteLength(r.partitionKey, 'utf8');
      added += delimitedSize(pkLen);
    }
    let innerSize = 1 + varintSize(pk) + delimitedSize(r.data.byteLength);
    let ehkLen: number | undefined;
    if (r.explicitHashKey !== undefined) {
      let ehk = this.explicitHashKeys.get(r.explicitHashKey);
      if (ehk === undefined) {
        ehk = this.explicitHashKeys.size;
        ehkLen = Buffer.byteLength(r.explicitHashKey, 'utf8');
        added += delimitedSize(ehkLen);
      }
      innerSize += 1 + varintSize(ehk);
    }
    added += delimitedSize(innerSize);
    return { added, pkLen, ehkLen, innerSize };
  }

  add(r: AggregateInput): void {
    const { added, innerSize } = this.addedSize(r);
    let pk = this.partitionKeys.get(r.partitionKey);
    if (pk === undefined) {
      pk = this.partitionKeys.size;
      this.partitionKeys.set(r.partitionKey, pk);
      this.pkBytes.push(Buffer.from(r.partitionKey, 'utf8'));
    }
    let ehk: number | undefined;
    if (r.explicitHashKey !== undefined) {
      ehk = this.explicitHashKeys.get(r.explicitHashKey);
      if (ehk === undefined) {
        ehk = this.explicitHashKeys.size;
        this.explicitHashKeys.set(r.explicitHashKey, ehk);
        this.ehkBytes.push(Buffer.from(r.explicitHashKey, 'utf8'));
      }
    }
    this.records.push(ehk === undefined ? { pk, data: r.data, innerSize } : { pk, ehk, data: r.data, innerSize });
    this.protoSize += added;
  }

  /** Magic + protobuf (tables first, then records, as the KPL writes them) + MD5. */
  build(): Buffer {
    const out = Buffer.allocUnsafe(KPL_MAGIC.length + this.protoSize + DIGEST_SIZE);
    KPL_MAGIC.copy(out, 0);
    let pos = KPL_MAGIC.length;
    const writeBytes = (fieldTag: number, bytes: Uint8Array): void => {
      out[pos++] = fieldTag;
      pos = writeVarint(out, pos, bytes.byteLength);
      out.set(bytes, pos);
      pos += bytes.byteLength;
    };
    for (const b of this.pkBytes) writeBytes(0x0a, b); // field 1, wire type 2
    for (const b of this.ehkBytes) writeBytes(0x12, b); // field 2, wire type 2
    for (const r of this.records) {
      out[pos++] = 0x1a; // field 3, wire type 2
      pos = writeVarint(out, pos, r.innerSize);
      out[pos++] = 0x08; // Record.partition_key_index: field 1, varint
      pos = writeVarint(out, pos, r.pk);
      if (r.ehk !== undefined) {
        out[pos++] = 0x10; // Record.explicit_hash_key_index: field 2, varint
        pos = writeVarint(out, pos, r.ehk);
      }
      writeBytes(0x1a, r.data); // Record.data: field 3, wire type 2
    }
    if (pos !== KPL_MAGIC.length + this.protoSize) throw new Error(`internal: aggregate size mismatch (${pos} vs ${KPL_MAGIC.length + this.protoSize})`);
    md5(out.subarray(KPL_MAGIC.length, pos)).copy(out, pos);
    return out;
  }
}

/**
 * Packs user records into one KPL aggregate: magic + protobuf + MD5, partition keys and explicit hash keys
 * deduplicated into their tables in order of first use. No size limit (see `aggregateInto`). Throws RangeError for
 * an empty list (magic + empty protobuf + MD5 would not even count as an aggregate) or an explicit hash key that
 * is not a decimal integer in [0, 2^128-1].
 */
export function aggregate(records: readonly AggregateInput[]): Buffer {
  if (records.length === 0) throw new RangeError('cannot aggregate zero records');
  const builder = new Builder();
  for (const r of records) {
    validateInput(r);
    builder.add(r);
  }
  return builder.build();
}

/**
 * Packs user records, in order, into as few aggregates as fit: each aggregate (magic + protobuf + MD5) is at most
 * `maxBytes` long and starts new key tables. Throws RangeError if one user record alone does not fit. Note that the
 * outer record's partition key also counts toward the Kinesis 1 MiB limit, hence the default of 1 000 000; and that
 * a consumer drops a whole aggregate whose user records do not all hash into the shard it is read from, so group
 * records by shard (see `effectiveHashKey`) before aggregating for a multi-shard stream.
 */
export function aggregateInto(records: readonly AggregateInput[], maxBytes = 1_000_000): Buffer[] {
  const out: Buffer[] = [];
  let builder = new Builder();
  for (const r of records) {
    validateInput(r);
    if (builder.count > 0 && builder.sizeWith(r) > maxBytes) {
      out.push(builder.build());
      builder = new Builder();
    }
    const size = builder.sizeWith(r);
    if (size > maxBytes) {
      throw new RangeError(`user record (partition key ${JSON.stringify(r.partitionKey)}) needs ${size} bytes as an aggregate, more than ${maxBytes}`);
    }
    builder.add(r);
  }
  if (builder.count > 0) out.push(builder.build());
  return out;
}
