/**
 * CloudWatch at the network edge: no emulator exists, so tests point `cloudWatchEndpoint` at this HTTP server,
 * which records every PutMetricData request as the SDK put it on the wire and decodes it.
 *
 * The wire protocol: @aws-sdk/client-cloudwatch v3 (since 2025) speaks AWS JSON 1.0 (`Content-Type:
 * application/x-amz-json-1.0`, `X-Amz-Target: GraniteServiceVersion20100801.PutMetricData`, JSON body with
 * `Timestamp` as epoch seconds), and gzips PutMetricData bodies above 10 KB (`Content-Encoding: gzip`). Smithy
 * RPC v2 CBOR (`application/cbor`, the operation in the path) is decoded too, should a later SDK switch to it;
 * any other encoding fails the test with the content type, so a protocol change is noticed, not misread.
 *
 * Modes: `ok` (answers 200 `{}`), `error` (500, a retriable server error), `hang` (reads the request and never
 * answers: a CloudWatch that has gone silent). `close()` destroys every open connection.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { cbor } from '@smithy/core/cbor';

export interface CapturedDatum {
  MetricName: string;
  Dimensions: { Name: string; Value: string }[];
  Unit?: string;
  Timestamp?: number;
  StatisticValues?: { SampleCount: number; Sum: number; Minimum: number; Maximum: number };
  Value?: number;
}

export interface CapturedRequest {
  /** The operation, from X-Amz-Target (JSON) or the path (CBOR). */
  operation: string;
  contentType: string;
  contentEncoding: string | undefined;
  /** Bytes as sent (compressed, if it was) and after decompression. */
  wireBytes: number;
  bodyBytes: number;
  namespace: string;
  datums: CapturedDatum[];
}

export type CaptureMode = 'ok' | 'error' | 'hang';

export class CloudWatchCapture {
  readonly requests: CapturedRequest[] = [];
  /** Requests that arrived in `hang` mode and were never answered. */
  hung = 0;
  mode: CaptureMode = 'ok';
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly errors: Error[] = [];

  private constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.mode === 'hang') {
          this.hung++;
          return; // never answered; close() destroys the socket
        }
        try {
          this.requests.push(decode(req, Buffer.concat(chunks)));
        } catch (err) {
          this.errors.push(err as Error);
        }
        if (this.mode === 'error') {
          res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'InternalServiceError', message: 'injected' }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<CloudWatchCapture> {
    const capture = new CloudWatchCapture();
    await new Promise<void>((resolve) => capture.server.listen(0, '127.0.0.1', resolve));
    return capture;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Every datum received, in order. */
  datums(): CapturedDatum[] {
    return this.requests.flatMap((r) => r.datums);
  }

  /** Throws if a request could not be decoded (an unknown protocol, a malformed body). */
  assertAllDecoded(): void {
    if (this.errors.length > 0) throw this.errors[0];
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function decode(req: http.IncomingMessage, wire: Buffer): CapturedRequest {
  const contentType = String(req.headers['content-type'] ?? '');
  const contentEncoding = req.headers['content-encoding'] as string | undefined;
  const body = contentEncoding === 'gzip' ? gunzipSync(wire) : wire;
  let operation: string;
  let input: { Namespace?: string; MetricData?: CapturedDatum[] };
  if (contentType.startsWith('application/x-amz-json-1.0')) {
    operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    input = JSON.parse(body.toString('utf8')) as typeof input;
  } else if (contentType.startsWith('application/cbor')) {
    operation = (req.url ?? '').split('/').pop() ?? '';
    input = cbor.deserialize(new Uint8Array(body)) as typeof input;
    for (const d of input.MetricData ?? []) {
      const ts = d.Timestamp as unknown;
      if (ts instanceof Date) d.Timestamp = ts.getTime() / 1000;
    }
  } else {
    throw new Error(`CloudWatch capture: unknown request encoding "${contentType}" (${req.method} ${req.url}); teach test/helpers/cloudwatch-capture.ts this protocol`);
  }
  return {
    operation,
    contentType,
    contentEncoding,
    wireBytes: wire.length,
    bodyBytes: body.length,
    namespace: input.Namespace ?? '',
    datums: (input.MetricData ?? []).map((d) => ({ ...d, Dimensions: d.Dimensions ?? [] })),
  };
}
