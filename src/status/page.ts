/**
 * The live status page served at `GET /`: one self-contained HTML document (inline CSS and JS, no external asset,
 * no framework, so it works on a machine without internet) that polls the `StatusSnapshot` JSON (`GET /status`,
 * see types.ts) and updates in place.
 *
 * The page judges two things the snapshot leaves to its reader, because they need history the server does not
 * keep per client:
 * - a **stuck** shard: one of ours whose lag is above zero while no record arrived for STUCK_QUIET_MILLIS (records
 *   are waiting and none come), or whose lag grew by at least a third of the time watched over the last
 *   LAG_WINDOW_MILLIS (it falls behind faster than it catches up);
 * - how old things are: ages are computed on the server's clock (`generatedAt`), so a skewed browser clock does
 *   not make a fresh scan look stale.
 * A failed or timed-out fetch keeps the last data on screen, greyed, under "disconnected since …", and the page
 * recovers by itself on the next good answer.
 */

export interface StatusPageOptions {
  /** URL of the snapshot, relative to the page (so the page also works behind a path prefix). Default `status`. */
  readonly statusUrl?: string;
  /** Poll period. Default 2000 ms; clamped to 500..10000. */
  readonly pollMillis?: number;
}

/** How long one of our shards may go without a record while behind before the page calls it stuck. */
export const STUCK_QUIET_MILLIS = 30_000;
/** The window over which growing lag is judged. */
export const LAG_WINDOW_MILLIS = 30_000;

export function renderStatusPage(options: StatusPageOptions = {}): string {
  const pollMillis = Math.min(10_000, Math.max(500, Math.round(options.pollMillis ?? 2000)));
  const settings = { statusUrl: options.statusUrl ?? 'status', pollMillis, stuckQuietMillis: STUCK_QUIET_MILLIS, lagWindowMillis: LAG_WINDOW_MILLIS };
  // `<` is escaped so no value can close the script element.
  const settingsJson = JSON.stringify(settings).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kcl status</title>
<style>${PAGE_CSS}</style>
</head>
<body class="connecting">
<header class="top">
  <div class="ident">
    <h1><span class="brand">kcl</span> <span id="app">…</span></h1>
    <div class="sub">stream <b id="stream">…</b> · worker <b id="self">…</b> · <span id="mode">…</span></div>
  </div>
  <div class="kpis">
    <div class="kpi"><div class="kpi-v"><span id="rate">–</span><svg id="rate-spark" class="spark big" viewBox="0 0 120 28" preserveAspectRatio="none" aria-hidden="true"><path class="area"/><path class="line"/></svg></div><div class="kpi-l">records/s</div></div>
    <div class="kpi"><div class="kpi-v" id="total">–</div><div class="kpi-l">records delivered here</div></div>
    <div class="kpi"><div class="kpi-v" id="scan">–</div><div class="kpi-l">last lease scan</div></div>
  </div>
  <div id="conn" class="conn" role="status" aria-live="polite">connecting…</div>
</header>
<div id="alerts" class="alerts" aria-live="polite"></div>
<main id="main">
  <section>
    <h2>Workers <span class="count" id="workers-count"></span></h2>
    <div id="workers" class="workers"></div>
  </section>
  <section>
    <h2>Shards <span class="count" id="shards-count"></span></h2>
    <div class="table-wrap">
      <table id="shards">
        <thead><tr>
          <th>Shard</th><th>Owner</th><th>State</th><th class="c-cp">Checkpoint</th>
          <th class="num">Lag</th><th class="num">Records</th><th class="c-rate">Records/s</th><th class="c-last">Last record</th>
        </tr></thead>
        <tbody></tbody>
      </table>
      <p id="no-shards" class="empty" hidden>No leases yet: the first shard sync creates one per shard.</p>
    </div>
  </section>
  <div class="two">
    <section>
      <h2>Lease moves</h2>
      <ol id="moves" class="log"></ol>
    </section>
    <section>
      <h2>Errors</h2>
      <ol id="errors" class="log"></ol>
    </section>
  </div>
</main>
<footer>Updates every ${(pollMillis / 1000).toFixed(pollMillis % 1000 === 0 ? 0 : 1)} s from <code>${escapeHtml(settings.statusUrl)}</code> (the same data as JSON). A shard is marked stuck when it is ours and records wait (lag above 0) but none arrived for ${STUCK_QUIET_MILLIS / 1000} s, or its lag grew by a third of the time watched over ${LAG_WINDOW_MILLIS / 1000} s.</footer>
<script>
const SETTINGS = ${settingsJson};
${PAGE_SCRIPT}
</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PAGE_CSS = `
:root {
  --bg: #f5f6f8; --card: #fff; --ink: #1c2430; --muted: #5b6572; --line: #dde1e6;
  --green: #116329; --green-bg: #dcf5e3; --blue: #0550ae; --blue-bg: #ddefff;
  --amber: #7a4d00; --amber-bg: #fff3c4; --red: #b3141f; --red-bg: #ffe5e3;
  --purple: #6e3fc4; --purple-bg: #f1e8ff; --grey-bg: #eceff2;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: 12px 32px; padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
.ident { flex: 1 1 280px; min-width: 0; }
h1 { margin: 0; font-size: 22px; font-weight: 650; letter-spacing: -0.01em; overflow-wrap: anywhere; }
.brand { color: var(--muted); font-weight: 500; }
.sub { color: var(--muted); margin-top: 2px; overflow-wrap: anywhere; }
.sub b { color: var(--ink); font-weight: 600; font-family: var(--mono); font-size: 13px; }
.kpis { display: flex; gap: 28px; flex-wrap: wrap; }
.kpi-v { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; display: flex; align-items: center; gap: 8px; white-space: nowrap; }
.kpi-l { color: var(--muted); font-size: 12px; }
.conn { padding: 5px 12px; border-radius: 999px; font-weight: 600; font-size: 13px; background: var(--grey-bg); color: var(--muted); white-space: nowrap; }
.conn::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 7px; background: currentColor; vertical-align: 1px; }
body.live .conn { background: var(--green-bg); color: var(--green); }
body.offline .conn { background: var(--red); color: #fff; }
body.offline main, body.offline .alerts, body.offline .kpis, body.offline .ident { opacity: 0.5; filter: grayscale(1); }
.alerts { padding: 0 24px; }
.alert { margin: 12px 0 0; padding: 9px 14px; border-radius: 8px; border: 1px solid; font-weight: 500; }
.alert.bad { background: var(--red-bg); color: var(--red); border-color: #f5b5b0; }
.alert.warn { background: var(--amber-bg); color: var(--amber); border-color: #ecd58a; }
.alert.ok { background: var(--green-bg); color: var(--green); border-color: #a9dfb7; }
main { padding: 4px 24px 8px; max-width: 1500px; }
section { margin-top: 18px; }
h2 { font-size: 15px; font-weight: 650; margin: 0 0 8px; }
h2 .count { color: var(--muted); font-weight: 500; margin-left: 6px; }
.workers { display: flex; flex-wrap: wrap; gap: 8px; }
.worker { display: flex; align-items: center; gap: 8px; padding: 7px 12px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
.worker .dot { width: 9px; height: 9px; border-radius: 50%; background: #2da44e; flex: none; }
.worker .wid { font-family: var(--mono); font-size: 13px; font-weight: 600; overflow-wrap: anywhere; }
.worker .wl { color: var(--muted); font-variant-numeric: tabular-nums; white-space: nowrap; }
.worker.self { border-color: #8cc0f5; box-shadow: inset 3px 0 0 var(--blue); }
.worker.gone { background: var(--red-bg); border-color: #f0a8a2; box-shadow: inset 3px 0 0 var(--red); }
.worker.gone .dot { background: var(--red); }
.worker.gone .wid { text-decoration: line-through; text-decoration-thickness: 1px; }
.worker.gone.left { background: var(--card); border-color: var(--line); box-shadow: inset 3px 0 0 #d4a72c; }
.worker.gone.left .dot { background: #bf8700; }
.worker.gone.left .tag.gone { background: var(--amber-bg); color: var(--amber); }
.tag { font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: 0.04em; padding: 1px 6px; border-radius: 4px; white-space: nowrap; }
.tag.self { background: var(--blue-bg); color: var(--blue); }
.tag.gone { background: var(--red); color: #fff; }
.tag.stuck { background: var(--red); color: #fff; }
td .tag { margin-left: 6px; }
.table-wrap { background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-size: 12px; font-weight: 600; color: var(--muted); padding: 8px 12px; border-bottom: 1px solid var(--line); white-space: nowrap; background: #fafbfc; }
td { padding: 7px 12px; border-bottom: 1px solid #eef0f3; vertical-align: middle; white-space: nowrap; }
tbody tr:last-child td { border-bottom: 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono { font-family: var(--mono); font-size: 13px; }
.muted { color: var(--muted); }
.parents { display: block; color: var(--muted); font-size: 11px; font-family: var(--mono); }
tr.not-ours td.num, tr.not-ours td.c-rate, tr.not-ours td.c-last { color: var(--muted); }
tr.stuck td { background: #fff6f5; }
tr.stuck td:first-child { box-shadow: inset 4px 0 0 var(--red); }
.owner-gone { color: var(--red); font-weight: 600; }
.owner-gone .wname { text-decoration: line-through; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.s-processing { background: var(--green-bg); color: var(--green); }
.s-waiting-on-parents { background: var(--blue-bg); color: var(--blue); }
.s-shard-end { background: var(--grey-bg); color: var(--muted); }
.s-handoff-pending { background: var(--purple-bg); color: var(--purple); }
.s-owned-elsewhere { background: transparent; color: var(--muted); border: 1px solid var(--line); }
.s-unowned { background: var(--amber-bg); color: var(--amber); }
.lag-warn { color: var(--amber); font-weight: 600; }
.lag-bad { color: var(--red); font-weight: 700; }
.c-rate { min-width: 150px; }
.rate-cell { display: flex; align-items: center; gap: 8px; justify-content: flex-end; }
.rate-cell .v { min-width: 44px; text-align: right; font-variant-numeric: tabular-nums; }
.spark { width: 96px; height: 22px; flex: none; }
.spark.big { width: 90px; height: 26px; }
.spark .line { fill: none; stroke: var(--blue); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.spark .area { fill: #cfe6ff; stroke: none; }
tr.stuck .spark .line { stroke: var(--red); }
tr.stuck .spark .area { fill: #ffd6d2; }
.empty { margin: 0; padding: 16px; color: var(--muted); }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 0 24px; }
.log { list-style: none; margin: 0; padding: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; max-height: 320px; overflow-y: auto; }
.log li { display: flex; gap: 10px; align-items: baseline; padding: 6px 12px; border-bottom: 1px solid #eef0f3; }
.log li:last-child { border-bottom: 0; }
.log li.none { color: var(--muted); }
.log .t { color: var(--muted); font-variant-numeric: tabular-nums; font-size: 12px; flex: none; }
.log .msg { overflow-wrap: anywhere; min-width: 0; }
.k-taken, .k-released { background: var(--green-bg); color: var(--green); }
.k-stolen, .k-handed_off { background: var(--purple-bg); color: var(--purple); }
.k-lost { background: var(--red-bg); color: var(--red); }
.err .where { font-weight: 600; }
footer { padding: 14px 24px 24px; color: var(--muted); font-size: 12px; max-width: 1500px; }
@media (max-width: 900px) {
  .two { grid-template-columns: 1fr; }
  .c-cp, .c-last { display: none; }
  .top, main, .alerts, footer { padding-left: 12px; padding-right: 12px; }
}
/* A phone: each shard row becomes a small card (shard and state, owner and lag, records and rate). */
@media (max-width: 640px) {
  #shards thead { display: none; }
  #shards, #shards tbody { display: block; }
  #shards tr { display: grid; grid-template-columns: 1fr auto; gap: 3px 12px; padding: 8px 12px; border-bottom: 1px solid #eef0f3; }
  #shards tr:last-child { border-bottom: 0; }
  #shards td { display: block; padding: 0; border: 0; min-width: 0; white-space: normal; }
  #shards td.c-owner .mono { white-space: nowrap; }
  #shards td.c-owner .tag { display: none; }
  #shards td.c-shard .mono { overflow-wrap: anywhere; }
  tr.stuck td:first-child { box-shadow: none; }
  tr.stuck { box-shadow: inset 4px 0 0 var(--red); background: #fff6f5; }
  #shards td.c-owner::before, #shards td.c-lag::before, #shards td.c-records::before { content: attr(data-label) " "; color: var(--muted); font-size: 12px; }
  #shards td.c-cp, #shards td.c-last { display: none; }
  #shards td.c-shard { grid-column: 1; grid-row: 1; }
  #shards td.c-state { grid-column: 2; grid-row: 1; text-align: right; }
  #shards td.c-owner { grid-column: 1; grid-row: 2; }
  #shards td.c-lag { grid-column: 2; grid-row: 2; }
  #shards td.c-records { grid-column: 1; grid-row: 3; text-align: left; }
  #shards td.c-rate { grid-column: 2; grid-row: 3; min-width: 0; }
  .spark { width: 64px; }
  .kpis { gap: 20px; }
}
`;

/**
 * The page's script, plain ES2020 (no template literals, so it can live inside this TS template). Everything read
 * from the snapshot goes through num/str/arr, and every text reaches the DOM through textContent: a malformed or
 * hostile snapshot can break a cell, never the page.
 */
const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var STATE_LABEL = {
    'processing': 'processing', 'waiting-on-parents': 'waiting on parents', 'shard-end': 'shard end',
    'handoff-pending': 'hand-off pending', 'owned-elsewhere': 'owned elsewhere', 'unowned': 'unowned'
  };
  var MOVE_LABEL = { taken: 'taken', stolen: 'stolen', lost: 'lost', released: 'released', handed_off: 'handed off' };

  var last = null;           // the last snapshot rendered
  var clockOffset = 0;       // server time minus browser time, from the last snapshot
  var downSince = null;      // browser time of the first failure in a row
  var downReason = '';
  var lagSeen = {};          // shardId -> [[serverMillis, lag]], for "lag growing"
  var oursSince = {};        // shardId -> server time this page first saw it as ours
  var rows = {};             // shardId -> { tr, cells }
  var sectionKeys = {};      // section -> last rendered content key (rebuild only on change)
  var chartSlots = 2;        // the longest rate series in the snapshot: the width of every chart's time axis

  function $(id) { return document.getElementById(id); }
  function num(x) { return typeof x === 'number' && isFinite(x) ? x : 0; }
  function optNum(x) { return typeof x === 'number' && isFinite(x) ? x : undefined; }
  function str(x) { return typeof x === 'string' ? x : (x === undefined || x === null ? '' : String(x)); }
  function arr(x) { return Array.isArray(x) ? x : []; }
  function time(iso) { var t = Date.parse(str(iso)); return isNaN(t) ? undefined : t; }
  function serverNow() { return Date.now() + clockOffset; }
  function sampleSecondsOf(s) { return num(s.sampleSeconds) > 0 ? num(s.sampleSeconds) : 5; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function setText(node, text) { if (node.textContent !== text) node.textContent = text; }
  function setClass(node, cls) { if (node.className !== cls) node.className = cls; }

  function fmtInt(n) { return Math.round(n).toLocaleString('en-US'); }
  function fmtRate(n) { return n === 0 ? '0' : n < 10 ? n.toFixed(1) : fmtInt(n); }
  function fmtDuration(ms) {
    if (ms < 1000) return Math.max(0, Math.round(ms)) + ' ms';
    var s = ms / 1000;
    if (s < 60) return (s < 10 ? s.toFixed(1) : Math.round(s)) + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + Math.floor(s % 60) + ' s';
    var h = Math.floor(m / 60);
    if (h < 48) return h + ' h ' + (m % 60) + ' min';
    return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
  }
  /** An age in whole seconds and up (ages tick every second; tenths would only flicker). */
  function fmtAge(ms) { return ms < 60000 ? Math.max(0, Math.floor(ms / 1000)) + ' s' : fmtDuration(ms); }
  function fmtAgo(ms) { return ms < 1500 ? 'just now' : fmtAge(ms) + ' ago'; }
  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  function fmtClock(t) { var d = new Date(t); return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds()); }
  /** A 56-digit sequence number is unreadable in a table: keep its head and its tail (the part that moves). */
  function shortCheckpoint(cp) {
    var m = /^(\d+)(\/\d+)?$/.exec(cp);
    if (!m || m[1].length <= 16) return cp;
    return m[1].slice(0, 4) + '…' + m[1].slice(-8) + (m[2] || '');
  }

  /** The charts share one time axis: "slots" samples span the width, the newest at the right edge. */
  function sparkPaths(values, w, h, slots) {
    // One value is no line: a lone sample would fill the box as if it were a peak. The number beside it says it.
    if (values.length < 2) return { line: '', area: '' };
    var max = 1;
    for (var i = 0; i < values.length; i++) max = Math.max(max, values[i]);
    var step = w / (Math.max(slots, values.length) - 1);
    var pts = [];
    for (var j = 0; j < values.length; j++) {
      var y = h - 1 - (values[j] / max) * (h - 3);
      pts.push((w - (values.length - 1 - j) * step).toFixed(1) + ',' + y.toFixed(1));
    }
    var first = pts[0].split(',')[0];
    return { line: 'M' + pts.join('L'), area: 'M' + first + ',' + h + 'L' + pts.join('L') + 'L' + w + ',' + h + 'Z' };
  }
  function drawSpark(svg, values, sampleSeconds) {
    var p = sparkPaths(values, 120, 28, chartSlots);
    var paths = svg.getElementsByTagName('path');
    if (paths[0].getAttribute('d') !== p.area) paths[0].setAttribute('d', p.area);
    if (paths[1].getAttribute('d') !== p.line) paths[1].setAttribute('d', p.line);
    // A tooltip saying what the chart spans: the series has no axis.
    var title = svg.getElementsByTagName('title')[0];
    if (!title) { title = document.createElementNS(SVG_NS, 'title'); svg.insertBefore(title, svg.firstChild); }
    var max = values.length ? Math.max.apply(null, values) : 0;
    setText(title, values.length ? 'records/s over the last ' + fmtAge(values.length * sampleSeconds * 1000) + ' (a value every ' + sampleSeconds + ' s), peak ' + fmtRate(max) : 'no rate here');
  }
  function newSpark() {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 120 28');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('aria-hidden', 'true');
    var area = document.createElementNS(SVG_NS, 'path'); area.setAttribute('class', 'area');
    var line = document.createElementNS(SVG_NS, 'path'); line.setAttribute('class', 'line');
    svg.appendChild(area); svg.appendChild(line);
    return svg;
  }

  /** Why one of our shards looks stuck, or '' when it does not (see the header of page.ts). */
  function stuckReason(shard, now) {
    var lag = optNum(shard.millisBehindLatest);
    if (lag === undefined || lag <= 0) return '';
    if (shard.state !== 'processing' && shard.state !== 'handoff-pending') return '';
    var lastRecord = time(shard.lastRecordAt);
    var quietSince = lastRecord !== undefined ? lastRecord : oursSince[shard.shardId];
    if (quietSince !== undefined && now - quietSince >= SETTINGS.stuckQuietMillis) {
      return 'no records for ' + fmtAge(now - quietSince) + ' while ' + fmtDuration(lag) + ' behind';
    }
    var seen = lagSeen[shard.shardId] || [];
    for (var i = 0; i < seen.length; i++) {
      var watched = now - seen[i][0];
      if (watched < SETTINGS.lagWindowMillis) break;
      if (lag - seen[i][1] >= watched / 3 && lag >= 10000) {
        return 'lag grew from ' + fmtDuration(seen[i][1]) + ' to ' + fmtDuration(lag) + ' in ' + fmtAge(watched);
      }
    }
    return '';
  }

  function remember(shard, now, ours) {
    var id = shard.shardId;
    if (!ours) { delete oursSince[id]; delete lagSeen[id]; return; }
    if (oursSince[id] === undefined) oursSince[id] = now;
    var lag = optNum(shard.millisBehindLatest);
    var seen = lagSeen[id] || (lagSeen[id] = []);
    if (lag !== undefined) seen.push([now, lag]);
    // Keep a little more than the window: the oldest entry at least a window old is the comparison point.
    while (seen.length > 2 && now - seen[1][0] >= SETTINGS.lagWindowMillis) seen.shift();
  }

  function renderHeader(s, now) {
    setText($('app'), str(s.application) || '?');
    setText($('stream'), str(s.stream) || '?');
    setText($('self'), str(s.workerId) || '?');
    setText($('mode'), s.retrievalMode === 'FANOUT' ? 'enhanced fan-out' : s.retrievalMode === 'POLLING' ? 'polling' : str(s.retrievalMode));
    var totals = s.totals || {};
    setText($('rate'), fmtRate(num(totals.recordsPerSecond)));
    setText($('total'), fmtInt(num(totals.records)));
    renderAges(now);
    // The application's rate over time: the shards' series summed, aligned on their newest value.
    var sum = [];
    arr(s.shards).forEach(function (sh) {
      var v = arr(sh && sh.recordsPerSecond);
      for (var i = 0; i < v.length; i++) {
        var k = sum.length - v.length + i;
        while (k < 0) { sum.unshift(0); k++; }
        sum[k] += num(v[i]);
      }
    });
    drawSpark($('rate-spark'), sum, sampleSecondsOf(s));
  }

  /** Ages tick every second between polls. */
  function renderAges(now) {
    if (!last) return;
    var scanned = time(last.scannedAt);
    var scan = $('scan');
    setText(scan, scanned === undefined ? 'not yet' : fmtAgo(now - scanned));
    scan.title = scanned === undefined ? '' : 'at ' + fmtClock(scanned);
    arr(last.shards).forEach(function (sh) {
      var row = sh && rows[str(sh.shardId)];
      if (!row) return;
      var t = time(sh.lastRecordAt);
      setText(row.cells.last, t === undefined ? '—' : fmtAgo(now - t));
    });
    if (downSince !== null) {
      setText($('conn'), 'disconnected since ' + fmtClock(downSince) + ' (' + fmtAge(Date.now() - downSince) + ') · retrying');
    }
  }

  function renderWorkers(s) {
    var workers = arr(s.workers).filter(function (w) { return w && typeof w === 'object'; }).slice().sort(function (a, b) {
      if (!!a.self !== !!b.self) return a.self ? -1 : 1;
      if (!!a.alive !== !!b.alive) return a.alive ? -1 : 1;
      return str(a.workerId).localeCompare(str(b.workerId));
    });
    var gone = workers.filter(function (w) { return !w.alive; }).length;
    setText($('workers-count'), workers.length + (gone ? ' · ' + gone + ' gone' : ' · all alive'));
    var key = JSON.stringify(workers);
    if (sectionKeys.workers === key) return;
    sectionKeys.workers = key;
    var box = $('workers');
    box.textContent = '';
    workers.forEach(function (w) {
      var leases = num(w.leases);
      // Gone while named owner of leases is an alarm (red); gone holding nothing is a note (amber).
      var card = el('div', 'worker' + (w.self ? ' self' : '') + (w.alive ? '' : leases ? ' gone' : ' gone left'));
      card.setAttribute('data-worker', str(w.workerId));
      card.appendChild(el('span', 'dot'));
      card.appendChild(el('span', 'wid', str(w.workerId)));
      card.appendChild(el('span', 'wl', leases + (leases === 1 ? ' lease' : ' leases')));
      if (w.self) card.appendChild(el('span', 'tag self', 'this worker'));
      if (!w.alive) {
        card.appendChild(el('span', 'tag gone', 'gone'));
        card.title = 'Its leases were not renewed within the failover time: it stopped, crashed or is cut off. Other workers take its leases.';
      }
      box.appendChild(card);
    });
  }

  function newRow(id) {
    var tr = el('tr');
    tr.setAttribute('data-shard', id);
    var cells = {};
    var LABELS = { shard: 'shard', owner: 'owner', state: 'state', cp: 'checkpoint', lag: 'lag', records: 'records', rate: 'records/s', last: 'last record' };
    Object.keys(LABELS).forEach(function (name) {
      var extra = name === 'lag' || name === 'records' ? ' num' : name === 'cp' ? ' mono' : name === 'last' ? ' muted' : '';
      var td = el('td', 'c-' + name + extra);
      // The label is for the narrow layout, where each row becomes a card and has no column headers.
      td.setAttribute('data-label', LABELS[name]);
      cells[name] = td;
      tr.appendChild(td);
    });
    cells.shardId = el('span', 'mono', id);
    cells.parents = el('span', 'parents');
    cells.shard.appendChild(cells.shardId);
    cells.shard.appendChild(cells.parents);
    var rc = el('div', 'rate-cell');
    cells.spark = newSpark();
    cells.rateV = el('span', 'v');
    rc.appendChild(cells.spark);
    rc.appendChild(cells.rateV);
    cells.rate.appendChild(rc);
    return { tr: tr, cells: cells };
  }

  function renderShards(s, now) {
    var self = str(s.workerId);
    var alive = {};
    arr(s.workers).forEach(function (w) { if (w) alive[str(w.workerId)] = !!w.alive; });
    var shards = arr(s.shards).filter(function (sh) { return sh && str(sh.shardId); }).slice().sort(function (a, b) {
      return str(a.shardId).localeCompare(str(b.shardId), 'en', { numeric: true });
    });
    var tbody = $('shards').tBodies[0];
    var seen = {};
    var counts = {};
    var problems = [];
    shards.forEach(function (sh, index) {
      var id = str(sh.shardId);
      seen[id] = true;
      var state = str(sh.state);
      counts[state] = (counts[state] || 0) + 1;
      var owner = str(sh.owner);
      var ours = owner !== '' && owner === self && state !== 'owned-elsewhere';
      remember(sh, now, ours);
      var row = rows[id] || (rows[id] = newRow(id));
      if (tbody.rows[index] !== row.tr) tbody.insertBefore(row.tr, tbody.rows[index] || null);
      var c = row.cells;
      var parents = arr(sh.parentShardIds).map(str);
      setText(c.parents, parents.length ? '← ' + parents.join(', ') : '');

      c.owner.textContent = '';
      if (!owner) {
        c.owner.appendChild(el('span', 'muted', '—'));
      } else if (alive[owner] === false) {
        var g = el('span', 'owner-gone');
        g.appendChild(el('span', 'wname mono', owner));
        g.appendChild(document.createTextNode(' gone'));
        c.owner.appendChild(g);
      } else {
        c.owner.appendChild(el('span', 'mono', owner));
        if (owner === self) c.owner.appendChild(el('span', 'tag self', 'this worker'));
      }

      var reason = ours ? stuckReason(sh, now) : '';
      c.state.textContent = '';
      c.state.appendChild(el('span', 'badge s-' + state, STATE_LABEL[state] || state || '?'));
      if (reason) {
        c.state.appendChild(el('span', 'tag stuck', 'stuck'));
        problems.push(id + ' is stuck: ' + reason);
      }
      c.state.title = reason;
      setClass(row.tr, (ours ? '' : 'not-ours') + (reason ? ' stuck' : ''));

      var cp = str(sh.checkpoint);
      setText(c.cp, shortCheckpoint(cp));
      c.cp.title = cp;

      var lag = optNum(sh.millisBehindLatest);
      setText(c.lag, lag === undefined ? '—' : fmtDuration(lag));
      setClass(c.lag, 'c-lag num' + (lag === undefined ? ' muted' : lag >= 60000 ? ' lag-bad' : lag >= 10000 ? ' lag-warn' : ''));
      setText(c.records, fmtInt(num(sh.records)));

      var series = arr(sh.recordsPerSecond).map(num);
      drawSpark(c.spark, series, sampleSecondsOf(s));
      c.spark.style.visibility = series.length > 1 ? '' : 'hidden';
      setText(c.rateV, series.length ? fmtRate(series[series.length - 1]) : '—');
    });
    Object.keys(rows).forEach(function (id) {
      if (!seen[id]) { rows[id].tr.remove(); delete rows[id]; delete lagSeen[id]; delete oursSince[id]; }
    });
    $('no-shards').hidden = shards.length > 0;
    var parts = [];
    ['processing', 'waiting-on-parents', 'handoff-pending', 'owned-elsewhere', 'unowned', 'shard-end'].forEach(function (st) {
      if (counts[st]) parts.push(counts[st] + ' ' + STATE_LABEL[st]);
    });
    setText($('shards-count'), shards.length + (parts.length ? ' · ' + parts.join(' · ') : ''));
    return problems;
  }

  function renderLog(id, items, build, emptyText) {
    var key = JSON.stringify(items);
    if (sectionKeys[id] === key) return;
    sectionKeys[id] = key;
    var list = $(id);
    list.textContent = '';
    if (items.length === 0) list.appendChild(el('li', 'none', emptyText));
    items.slice(0, 50).forEach(function (item) {
      var li = el('li');
      var t = time(item.at);
      li.appendChild(el('span', 't', t === undefined ? '' : fmtClock(t)));
      build(li, item);
      list.appendChild(li);
    });
  }

  function renderMoves(s) {
    renderLog('moves', arr(s.recentMoves).filter(Boolean), function (li, m) {
      var kind = str(m.kind);
      li.appendChild(el('span', 'badge k-' + kind, MOVE_LABEL[kind] || kind));
      var msg = el('span', 'msg');
      msg.appendChild(el('span', 'mono', str(m.leaseKey)));
      var from = str(m.from), to = str(m.to);
      if (from || to) msg.appendChild(document.createTextNode('  ' + (from || '—') + ' → ' + (to || '—')));
      li.appendChild(msg);
    }, 'No lease has moved since this worker started.');
  }

  function renderErrors(s, now) {
    var errors = arr(s.recentErrors).filter(Boolean);
    renderLog('errors', errors, function (li, e) {
      li.className = 'err';
      var msg = el('span', 'msg');
      msg.appendChild(el('span', 'where', str(e.where)));
      if (e.shardId) msg.appendChild(el('span', 'mono', ' ' + str(e.shardId)));
      msg.appendChild(document.createTextNode(': ' + str(e.message)));
      li.appendChild(msg);
    }, 'No errors.');
    var recent = errors.filter(function (e) { var t = time(e.at); return t !== undefined && now - t < 60000; });
    return recent.length === 0 ? [] : [recent.length + (recent.length === 1 ? ' error' : ' errors') + ' in the last minute, latest: ' + str(recent[0].where) + (recent[0].shardId ? ' ' + str(recent[0].shardId) : '') + ': ' + str(recent[0].message)];
  }

  function renderAlerts(bad, warn, s) {
    var box = $('alerts');
    var key = JSON.stringify([bad, warn]);
    if (sectionKeys.alerts === key) return;
    sectionKeys.alerts = key;
    box.textContent = '';
    bad.forEach(function (t) { box.appendChild(el('div', 'alert bad', '⚠ ' + t)); });
    warn.forEach(function (t) { box.appendChild(el('div', 'alert warn', t)); });
    if (bad.length === 0 && warn.length === 0) {
      var n = arr(s.shards).length;
      box.appendChild(el('div', 'alert ok', '✓ No stuck shard, no gone worker' + (n ? ' (' + n + (n === 1 ? ' shard' : ' shards') + ')' : '')));
    }
  }

  function render(s) {
    if (!s || typeof s !== 'object') throw new Error('not a status snapshot');
    var generated = time(s.generatedAt);
    if (generated !== undefined) clockOffset = generated - Date.now();
    var now = serverNow();
    last = s;
    chartSlots = 2;
    arr(s.shards).forEach(function (sh) { if (sh) chartSlots = Math.max(chartSlots, arr(sh.recordsPerSecond).length); });
    renderHeader(s, now);
    renderWorkers(s);
    var bad = renderShards(s, now);
    var warn = [];
    arr(s.workers).forEach(function (w) {
      if (!w || w.alive) return;
      var n = num(w.leases);
      // Gone while still named owner: its shards wait for a taker. Gone with nothing: it stopped or was replaced.
      if (n) bad.push('worker ' + str(w.workerId) + ' is gone (still named owner of ' + n + (n === 1 ? ' lease' : ' leases') + ')');
      else warn.push('worker ' + str(w.workerId) + ' is gone (it holds no lease any more)');
    });
    renderMoves(s);
    warn = warn.concat(renderErrors(s, now));
    renderAlerts(bad, warn, s);
    renderAges(now);
    document.title = (bad.length ? '⚠ ' : '') + str(s.application) + ' · ' + fmtRate(num((s.totals || {}).recordsPerSecond)) + ' rec/s · kcl';
  }

  function connected() {
    downSince = null;
    document.body.className = 'live';
    setText($('conn'), 'live');
    $('conn').title = '';
  }

  function disconnected(err) {
    if (downSince === null) downSince = Date.now();
    downReason = err && err.name === 'AbortError' ? 'no answer in time' : str(err && err.message ? err.message : err);
    document.body.className = 'offline';
    $('conn').title = downReason;
    renderAges(serverNow());
    document.title = '✕ disconnected · ' + (last ? str(last.application) + ' · ' : '') + 'kcl';
  }

  function poll() {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, Math.max(4000, SETTINGS.pollMillis * 2));
    fetch(SETTINGS.statusUrl, { cache: 'no-store', signal: controller.signal, headers: { accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (snapshot) {
        try {
          render(snapshot);
          connected();
        } catch (e) {
          // A snapshot the page cannot read is shown like an outage, with the reason, rather than half-drawn.
          disconnected(new Error('unreadable status: ' + (e && e.message ? e.message : e)));
        }
      }, disconnected)
      .catch(function () { /* the next poll tries again */ })
      .then(function () {
        clearTimeout(timer);
        setTimeout(poll, SETTINGS.pollMillis);
      });
  }

  setInterval(function () { renderAges(serverNow()); }, 1000);
  poll();
})();
`;
