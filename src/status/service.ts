/**
 * What a Worker starts and stops for observability on its own side: the Prometheus mapping (when a port or a
 * registry is configured) and the status model and HTTP server (when `metricsHttpPort` is set). The worker calls
 * `create`, `start` and `close`; everything else flows from its event stream.
 */
import { Registry } from 'prom-client';
import type { Clock } from '../common/clock.js';
import type { KclEventStream } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import type { KclConfig } from '../config/config.js';
import { attachPrometheusMetrics } from '../metrics/prometheus.js';
import { StatusModel } from './model.js';
import { StatusServer } from './server.js';

export interface StatusServiceOptions {
  readonly events: KclEventStream;
  readonly config: KclConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The user's registry (`WorkerOptions.metricsRegistry`); without one, the worker has its own. */
  readonly registry?: Registry;
}

export class StatusService {
  private readonly detachMetrics: () => void;
  private readonly model: StatusModel | undefined;
  private server: StatusServer | undefined;
  private closed = false;

  private constructor(
    private readonly options: StatusServiceOptions,
    private readonly registry: Registry,
  ) {
    const { events, config, clock } = options;
    this.detachMetrics = attachPrometheusMetrics(events, { registry, stream: config.streamName, workerId: config.workerId });
    if (config.metricsHttpPort !== undefined) {
      this.model = new StatusModel(events, { application: config.applicationName, stream: config.streamName, workerId: config.workerId, retrievalMode: config.retrievalMode, clock });
    }
  }

  /** Undefined when neither a port nor a registry is configured: then nothing listens to the events for this. */
  static create(options: StatusServiceOptions): StatusService | undefined {
    if (options.config.metricsHttpPort === undefined && !options.registry) return undefined;
    return new StatusService(options, options.registry ?? new Registry());
  }

  /** The server's address while it listens, e.g. `http://127.0.0.1:9464/`. */
  get url(): string | undefined {
    return this.server?.url;
  }

  /** Starts the server, if a port is configured; rejects when the address cannot be used. */
  async start(): Promise<void> {
    const { config, logger } = this.options;
    if (!this.model || config.metricsHttpPort === undefined || this.closed) return;
    const model = this.model;
    this.server = await StatusServer.start({ host: config.metricsHttpHost, port: config.metricsHttpPort, registry: this.registry, snapshot: () => model.snapshot(), logger });
    logger.info({ url: this.server.url }, `status page and metrics at ${this.server.url}`);
  }

  /** Stops listening to the events and closes the server and its connections. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.detachMetrics();
    this.model?.close();
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }
}
