/**
 * A plain HTTP server on 127.0.0.1 for tests that play the far end of an AWS call where no emulator can (an
 * answer that trickles in, a silent one, raw CBOR byte strings): started on a free port, stopped with its
 * connections. Each request's body is read whole before the handler sees it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackServer {
  readonly server: http.Server;
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startLoopbackServer(handle: (body: Buffer, req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<LoopbackServer> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(Buffer.concat(chunks), req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
