/**
 * The chaos run's TCP fault proxy (bench/chaos/fault-proxy.ts) in front of a local echo server: each fault does
 * to a connection what the network faults of the chaos run claim.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { FaultProxy } from '../helpers/fault-proxy.js';

let echo: net.Server;
let target = '';

before(async () => {
  echo = net.createServer((s) => {
    s.on('error', () => undefined); // the proxy resets its upstream side too
    s.pipe(s);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  target = `127.0.0.1:${(echo.address() as net.AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => echo.close(() => resolve())));

/** Connects (or fails: 'refused', 'reset'), writes `text`, and reports what came back within `waitMillis`. */
async function roundTrip(socket: net.Socket, text: string, waitMillis: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const timer = setTimeout(() => resolve(got === '' ? 'silent' : got), waitMillis);
    const done = (what: string) => {
      clearTimeout(timer);
      resolve(what);
    };
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString();
      if (got === text) done(got);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ECONNRESET' ? 'reset' : String(err.code)));
    socket.write(text);
  });
}

const connect = (proxy: FaultProxy) => net.connect({ host: '127.0.0.1', port: proxy.port });

describe('fault proxy', () => {
  test('blackhole: open and new connections go silent; after the heal both flow, with their waiting bytes', async () => {
    const proxy = await FaultProxy.start(target);
    const open = connect(proxy);
    assert.equal(await roundTrip(open, 'a', 2000), 'a');
    proxy.blackhole();
    const during = connect(proxy);
    const [openSilent, newSilent] = await Promise.all([roundTrip(open, 'b', 300), roundTrip(during, 'c', 300)]);
    assert.deepEqual([openSilent, newSilent], ['silent', 'silent']);
    const late = [new Promise<string>((r) => open.once('data', (d: Buffer) => r(d.toString()))), new Promise<string>((r) => during.once('data', (d: Buffer) => r(d.toString())))];
    await proxy.heal();
    assert.deepEqual(await Promise.all(late), ['b', 'c']);
    open.destroy();
    during.destroy();
    await proxy.close();
  });

  test('half-open: connections open during the blackhole stay silent after the heal; new ones work', async () => {
    const proxy = await FaultProxy.start(target);
    const open = connect(proxy);
    assert.equal(await roundTrip(open, 'a', 2000), 'a');
    proxy.blackhole();
    await proxy.heal({ halfOpen: true });
    assert.equal(await roundTrip(open, 'b', 500), 'silent');
    const fresh = connect(proxy);
    assert.equal(await roundTrip(fresh, 'c', 2000), 'c');
    open.destroy();
    fresh.destroy();
    await proxy.close();
  });

  test('reset until the heal: open and new connections are reset; after the heal new ones work', async () => {
    const proxy = await FaultProxy.start(target);
    const open = connect(proxy);
    assert.equal(await roundTrip(open, 'a', 2000), 'a');
    const openReset = new Promise<string>((r) => open.once('error', (e: NodeJS.ErrnoException) => r(String(e.code))));
    proxy.reset({ untilHeal: true });
    assert.equal(await openReset, 'ECONNRESET');
    assert.equal(await roundTrip(connect(proxy), 'b', 2000), 'reset');
    await proxy.heal();
    const fresh = connect(proxy);
    assert.equal(await roundTrip(fresh, 'c', 2000), 'c');
    fresh.destroy();
    await proxy.close();
  });

  test('refuse: new connections are refused until the heal, on the same port', async () => {
    const proxy = await FaultProxy.start(target);
    const port = proxy.port;
    proxy.refuse();
    assert.equal(await roundTrip(connect(proxy), 'a', 2000), 'refused');
    await proxy.heal();
    assert.equal(proxy.port, port);
    const fresh = connect(proxy);
    assert.equal(await roundTrip(fresh, 'b', 2000), 'b');
    fresh.destroy();
    await proxy.close();
  });

  test('latency: bytes arrive late, both ways', async () => {
    const proxy = await FaultProxy.start(target);
    const socket = connect(proxy);
    proxy.latency(300);
    const sent = Date.now();
    assert.equal(await roundTrip(socket, 'a', 3000), 'a');
    assert.ok(Date.now() - sent >= 550, `took ${Date.now() - sent} ms`);
    socket.destroy();
    await proxy.close();
  });
});
