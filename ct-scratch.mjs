import http from 'node:http';
import { collectBody } from './dist/src/aws/body-collector.js';
import { streamCollector } from '@smithy/node-http-handler';
const payload = Buffer.alloc(14 * 1024 * 1024, 65);
const srv = http.createServer((req, res) => { res.setHeader('content-length', payload.length); res.end(payload); });
await new Promise((r) => srv.listen(0, '127.0.0.1', r));

const srv2 = http.createServer((req, res) => { res.setHeader('content-length', payload.length); res.end(payload); });
await new Promise((r) => srv2.listen(0, '127.0.0.1', r));
const agent2 = new http.Agent({ keepAlive: true });
const concatEnd = (s) => new Promise((r) => { const parts = []; s.on('data', (c) => parts.push(c)); s.on('end', () => r(Buffer.concat(parts))); });
const intoFresh = (s) => new Promise((r) => { const b = Buffer.allocUnsafe(Number(s.headers['content-length'])); let o = 0; s.on('data', (c) => { c.copy(b, o); o += c.length; }); s.on('end', () => r(b)); });
const intoSet = (s) => new Promise((r) => { const b = Buffer.allocUnsafe(Number(s.headers['content-length'])); let o = 0; s.on('data', (c) => { b.set(c, o); o += c.length; }); s.on('end', () => r(b)); });
const intoSlow = (s) => new Promise((r) => { const b = Buffer.allocUnsafeSlow(Number(s.headers['content-length'])); let o = 0; s.on('data', (c) => { b.set(c, o); o += c.length; }); s.on('end', () => r(b)); });
const R = Buffer.allocUnsafe(payload.length);
const intoReused = (s) => new Promise((r) => { let o = 0; s.on('data', (c) => { c.copy(R, o); o += c.length; }); s.on('end', () => r(R)); });
const drop = (s) => new Promise((r) => { s.on('data', () => {}); s.on('end', r); });
const order = [];
for (let k = 0; k < 2; k++) order.push(['concatEnd', concatEnd], ['intoFresh', intoFresh], ['intoReused', intoReused], ['drop', drop]);
const sums = {};
for (const [name, fn] of order) {
  let cpu = 0;
  for (let i = 0; i < 6; i++) await new Promise((resolve) => http.get({ host: '127.0.0.1', port: srv2.address().port, agent: agent2 }, (res) => { const t = process.cpuUsage(); fn(res).then(() => { const u = process.cpuUsage(t); cpu += u.user + u.system; resolve(); }); }));
  (sums[name] ??= []).push((cpu / 6 / 1000).toFixed(1));
}
console.log(sums);
srv2.close(); agent2.destroy();
console.log(sums); process.exit(0);
