/**
 * The status page as a document: self-contained (nothing fetched but the snapshot), its script parses, and its
 * settings cannot break out of the script element. What it shows is tested in a real browser
 * (test/integration/status-page.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { renderStatusPage } from '../../src/status/page.js';

test('the page needs nothing from outside: no external script, style, font, image or link', () => {
  const html = renderStatusPage();
  assert.match(html, /^<!doctype html>/);
  assert.doesNotMatch(html, /\b(src|href)\s*=/i, 'no src/href attribute at all');
  assert.doesNotMatch(html, /@import|url\(/i, 'no CSS import or url()');
  assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no URL but the SVG namespace');
  assert.match(html, /<meta name="viewport"/);
});

test("the page's script parses, and its settings are data, not markup", () => {
  const html = renderStatusPage({ statusUrl: '</script><script>alert(1)//', pollMillis: 50 });
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
  assert.equal(scripts.length, 1, 'one script element, not closed early by a setting');
  assert.doesNotThrow(() => new vm.Script(scripts[0]!), 'valid JavaScript');
  assert.match(scripts[0]!, /"pollMillis":500/, 'the poll period is clamped to at least 500 ms');
  assert.doesNotMatch(html, /<script>alert/);
});
