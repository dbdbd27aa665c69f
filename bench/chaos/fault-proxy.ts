/**
 * A TCP proxy between a worker and one service endpoint (an emulator), for the network faults no emulator can
 * produce. The worker is pointed at the proxy's address; the SDK and everything above it run unchanged, so the
 * faults arrive exactly as a broken network delivers them:
 *
 * - `blackhole()`: open connections go silent in both directions (nothing is read or written, nothing is closed:
 *   the kernel buffers fill and the peers wait), and new connections are accepted but never reach the service.
 * - `heal({ halfOpen })`: forwarding resumes; with `halfOpen`, every connection that was open during the blackhole
 *   stays silent for ever, never reset (a NAT or a stateful firewall that forgot the flow), and only new
 *   connections work.
 * - `reset()`: every open connection is reset (RST), now; new ones work. `reset({ untilHeal: true })`: also every
 *   new connection, as soon as it is accepted, until `heal()` (a middlebox that resets every flow).
 * - `refuse()`: the listener closes, so connections are refused, and open ones are reset, until `heal()`.
 * - `latency(ms)`: every chunk in either direction is delayed by `ms`, in order.
 */
import net from 'node:net';

export type FaultKind = 'pass' | 'blackhole' | 'refuse' | 'latency' | 'reset';

interface Connection {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  /** The service closed its side while the connection was silent: the client learns it only once healed. */
  upstreamGone: boolean;
  /** Silenced by a blackhole: paused both ways until healed. */
  silenced: boolean;
  /** Never forwards again (left half-open at a heal). */
  dead: boolean;
}

export interface FaultProxyStats {
  connections: number;
  open: number;
  resets: number;
}

export class FaultProxy {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private mode: FaultKind = 'pass';
  private delayMillis = 0;
  private listenPort = 0;
  private closed = false;
  readonly stats: FaultProxyStats = { connections: 0, open: 0, resets: 0 };

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  /** Starts a proxy on 127.0.0.1 (a free port unless `port`) forwarding to `target` (a URL or host:port). */
  static async start(target: string, port = 0): Promise<FaultProxy> {
    const url = new URL(target.includes('://') ? target : `tcp://${target}`);
    const proxy = new FaultProxy(url.hostname, Number(url.port));
    await proxy.listen(port);
    return proxy;
  }

  get port(): number {
    return this.listenPort;
  }

  /** The proxy as an http endpoint, to give a worker in place of the service's. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.listenPort}`;
  }

  get kind(): FaultKind {
    return this.mode;
  }

  blackhole(): void {
    this.setMode('blackhole');
    for (const c of this.connections) this.silence(c);
  }

  latency(millis: number): void {
    this.delayMillis = millis;
    this.setMode('latency');
  }

  refuse(): void {
    this.setMode('refuse');
    if (this.server.listening) this.server.close();
    this.reset();
  }

  reset(options: { untilHeal?: boolean } = {}): void {
    if (options.untilHeal) this.setMode('reset');
    for (const c of [...this.connections]) this.drop(c, true);
  }

  /** Back to forwarding. `halfOpen`: connections silenced by a blackhole never forward again. */
  async heal(options: { halfOpen?: boolean } = {}): Promise<void> {
    const was = this.mode;
    this.mode = 'pass';
    this.delayMillis = 0;
    if (was === 'refuse' && !this.closed) await this.listen(this.listenPort);
    for (const c of [...this.connections]) {
      if (!c.silenced || c.dead) continue;
      if (options.halfOpen) {
        c.dead = true;
        continue;
      }
      c.silenced = false;
      // Its retransmissions now reach a service that has forgotten the connection: reset, as TCP would.
      if (c.upstreamGone) this.drop(c, true);
      else if (c.upstream === undefined) {
        // Accepted during the blackhole: its request has waited in the paused socket, and flows now.
        this.connectUpstream(c);
        c.client.resume();
      } else {
        c.client.resume();
        c.upstream.resume();
      }
    }
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of [...this.connections]) this.drop(c, false);
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private setMode(kind: FaultKind): void {
    if (this.closed) throw new Error('the fault proxy is closed');
    this.mode = kind;
  }

  private async listen(port: number): Promise<void> {
    // Re-listening after refuse(): while the port was closed, an outgoing connection may have been given it as
    // its local port for a moment; the clients know only this port, so wait for it rather than take another.
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          this.server.once('error', reject);
          this.server.listen(port, '127.0.0.1', () => {
            this.server.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (err) {
        if (port === 0 || attempt >= 50 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    this.listenPort = (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    const c: Connection = { client, upstream: undefined, upstreamGone: false, silenced: false, dead: false };
    this.connections.add(c);
    this.stats.connections++;
    this.stats.open++;
    client.setNoDelay(true);
    client.on('error', () => undefined);
    client.once('close', () => this.drop(c, false));
    if (this.mode === 'reset') {
      this.drop(c, true);
      return;
    }
    if (this.mode === 'blackhole') {
      // Accepted (the connect succeeds, as it does through a dead route with a live first hop) but never served.
      this.silence(c);
      return;
    }
    this.connectUpstream(c);
  }

  private connectUpstream(c: Connection): void {
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
    c.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', () => undefined);
    upstream.once('close', () => {
      // Behind a blackhole the client must not see the service hang up (a FIN would not get through either).
      if (c.silenced || c.dead) {
        c.upstream = undefined;
        c.upstreamGone = true;
      } else this.drop(c, false);
    });
    this.pipe(c, c.client, upstream);
    this.pipe(c, upstream, c.client);
  }

  private pipe(c: Connection, from: net.Socket, to: net.Socket): void {
    // Chunks wait here while a latency fault delays them, so that their order is kept.
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      if (c.dead) return;
      const delay = this.mode === 'latency' ? this.delayMillis : 0;
      if (delay === 0) {
        chain = chain.then(() => {
          if (!c.dead && !to.destroyed) to.write(chunk);
        });
        return;
      }
      const due = Date.now() + delay;
      chain = chain.then(
        () =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              if (!c.dead && !to.destroyed) to.write(chunk);
              resolve();
            }, Math.max(0, due - Date.now()));
          }),
      );
    });
    from.once('end', () => {
      void chain.then(() => {
        if (!c.dead && !to.destroyed) to.end();
      });
    });
  }

  private silence(c: Connection): void {
    c.silenced = true;
    c.client.pause();
    c.upstream?.pause();
  }

  private drop(c: Connection, reset: boolean): void {
    if (!this.connections.delete(c)) return;
    this.stats.open--;
    c.dead = true;
    if (reset) {
      this.stats.resets++;
      // The worker's side sees the reset; the service's side is closed plainly. What is under test is the worker,
      // and an emulator is not built to take RSTs mid-answer (kinesis-local can die of one, taking every test
      // that shares it along).
      c.client.resetAndDestroy();
      c.upstream?.destroy();
    } else {
      c.client.destroy();
      c.upstream?.destroy();
    }
  }
}
