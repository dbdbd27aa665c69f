/**
 * The worker's HTTP server (metricsHttpHost:metricsHttpPort): `GET /metrics` (Prometheus text from the
 * registry, plus the process metrics), `GET /status` (the snapshot as JSON) and `GET /` (the live page). Plain
 * node:http: three routes need no framework. `close()` ends every connection, keep-alive ones included, so a
 * stopped worker leaves no socket open.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../common/logger.js';
import { ConfigError, toError } from '../common/errors.js';
import { scrapeRegistry } from '../metrics/prometheus.js';
import { renderStatusPage } from './page.js';
import type { StatusSnapshot } from './types.js';

export interface StatusServerOptions {
  readonly host: string;
  /** 0: any free port (see `url`). */
  readonly port: number;
  readonly registry: Registry;
  readonly snapshot: () => StatusSnapshot;
  readonly logger: Logger;
}

export class StatusServer {
  private constructor(
    private readonly server: http.Server,
    /** Where to reach it, e.g. `http://127.0.0.1:9464/`. */
    readonly url: string,
  ) {}

  /** Listens; rejects with a ConfigError naming the key when the address cannot be used (port taken, host not local). */
  static async start(options: StatusServerOptions): Promise<StatusServer> {
    const server = http.createServer((req, res) => void handle(req, res, options));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new ConfigError(`metricsHttpPort: cannot listen on ${options.host}:${options.port} (${err.message})`, 'metricsHttpPort')));
      server.listen(options.port, options.host, () => {
        server.removeAllListeners('error');
        resolve();
      });
    });
    server.on('error', (err) => options.logger.error({ err }, 'status server error'));
    const { port } = server.address() as AddressInfo;
    return new StatusServer(server, `http://${urlHost(options.host)}:${port}/`);
  }

  /** Stops listening and closes every open connection. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

/** A host for a URL one can open on this machine: a wildcard address is reached through the loopback one. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, options: StatusServerOptions): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain; charset=utf-8', 'only GET\n', { allow: 'GET, HEAD' });
    return;
  }
  try {
    if (path === '/metrics') {
      const registry = scrapeRegistry(options.registry);
      send(res, 200, registry.contentType, await registry.metrics());
    } else if (path === '/status') {
      send(res, 200, 'application/json; charset=utf-8', JSON.stringify(options.snapshot()));
    } else if (path === '/') {
      send(res, 200, 'text/html; charset=utf-8', renderStatusPage());
    } else {
      send(res, 404, 'text/plain; charset=utf-8', 'not found: try /, /status or /metrics\n');
    }
  } catch (err) {
    options.logger.warn({ err: toError(err).message, path }, 'status server could not answer');
    send(res, 500, 'text/plain; charset=utf-8', `${toError(err).message}\n`);
  }
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
  res.end(body);
}
