/**
 * Fault injection at the network edge, for what the emulators cannot produce (expired iterators, throttling):
 * an HTTP handler that answers chosen Kinesis calls with the error response AWS would send, and passes every
 * other request to the real HTTP/1.1 handler. The SDK, and everything above it, runs unchanged.
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { cbor } from '@smithy/core/cbor';
import { CBOR_CONTENT_TYPE, KinesisCborProtocol } from '../../src/aws/kinesis-protocol.js';
import type { KinesisProtocol } from '../../src/config/fields.js';

/** Decides, per request, whether to fail it: return an AWS error type (e.g. "ExpiredIteratorException") or undefined. */
export type FaultRule = (operation: string, callIndex: number) => string | undefined;

export class FaultInjectingHandler {
  private readonly inner = new NodeHttpHandler({ requestTimeout: 30_000, httpAgent: new http.Agent({ keepAlive: true }) });
  readonly calls = new Map<string, number>();
  readonly injected: { operation: string; error: string }[] = [];
  readonly metadata = { handlerProtocol: 'http/1.1' };

  constructor(private readonly rule: FaultRule) {}

  async handle(request: HttpRequest, options?: Parameters<NodeHttpHandler['handle']>[1]): Promise<{ response: HttpResponse }> {
    const target = request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'] ?? '';
    const operation = target.split('.').pop() ?? '';
    const index = (this.calls.get(operation) ?? 0) + 1;
    this.calls.set(operation, index);
    const error = this.rule(operation, index);
    if (error) {
      this.injected.push({ operation, error });
      // The error in the request's own wire protocol, as the service answers.
      const asCbor = request.headers['content-type'] === CBOR_CONTENT_TYPE;
      const content = { __type: error, message: `injected ${error}` };
      const body = asCbor ? Buffer.from(cbor.serialize(content)) : Buffer.from(JSON.stringify(content));
      return {
        response: new HttpResponse({
          statusCode: 400,
          headers: { 'content-type': asCbor ? CBOR_CONTENT_TYPE : 'application/x-amz-json-1.1', 'x-amzn-errortype': error, 'x-amzn-requestid': 'injected' },
          body: Readable.from([body]),
        }),
      };
    }
    return this.inner.handle(request, options);
  }

  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
  destroy(): void {
    this.inner.destroy();
  }
}

/** A Kinesis client whose requests pass through `handler`; SDK retries off so each fault reaches the KCL. */
export function faultyKinesisClient(endpoint: string, handler: FaultInjectingHandler, kinesisProtocol: KinesisProtocol = 'CBOR'): KinesisClient {
  return new KinesisClient({
    ...(kinesisProtocol === 'CBOR' ? { protocol: KinesisCborProtocol } : {}),
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: handler,
    maxAttempts: 1,
  });
}
