// The fleet report's HTML page, opened in a real headless Chromium (Debian's `chromium`, tools/setup.sh):
// one start takes a screenshot and dumps the rendered DOM. Host names planted in server.json records
// (a script, an attribute break-out) must come out as text, the rows worst first, both charts drawn.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml, formatBytes, renderFleetHtml } from '../../core/fleet/html.js';
import type { FleetReport, FleetServer } from '../../core/fleet/report.js';
import { tempDir } from '../helpers/tmp.js';

const WIDTH = 1280;
const HEIGHT = 1400;

function server(n: number, o: Partial<FleetServer>): FleetServer {
  return {
    serverId: n.toString(16).padStart(64, '0'), hostname: `srv${n}`, status: 'OK', reason: 'Last recovery point 2.0 h ago.', codes: [],
    registered: '2026-11-01T00:00:00.000Z', certificate: 'A'.repeat(40), certificateExpires: '2027-11-01T00:00:00.000Z', proofValid: true,
    lastPoint: '2026-12-03T08:00:00.000Z', ageHours: 2, pointCount: 10, packCount: 4, storedBytes: 64 << 20, bytesPerDay7: 1 << 20, bytesPerDay30: 1 << 19,
    activeLocks: 0, staleLocks: 0, locks: [], ...o,
  };
}

// Worst first, as readFleetReport sorts them.
const SCRIPT_HOST = '<script>document.title="owned"</script>';
const ATTRIBUTE_HOST = '"><img src=x onerror=alert(1)>';
const report: FleetReport = {
  vault: '/srv/vault', vaultId: 'f'.repeat(32), generated: '2026-12-03T10:00:00.000Z', maxAgeHours: 24,
  servers: [
    server(1, { hostname: SCRIPT_HOST, status: 'Critical', codes: ['AZB_SERVER_RECORD_DAMAGED'], reason: 'servers/…/server.json is damaged: it has no registration time.', proofValid: null, lastPoint: null, ageHours: null, pointCount: 0, storedBytes: 0 }),
    server(2, { status: 'Critical', codes: ['AZB_BACKUP_OVERDUE'], reason: 'Its last recovery point is 52.0 h old, more than 24 h.', ageHours: 52, lastPoint: '2026-12-01T06:00:00.000Z' }),
    server(3, { hostname: ATTRIBUTE_HOST, status: 'Warning', codes: ['AZB_LOCK_STALE'], reason: 'A stale backup lock…', ageHours: 5, staleLocks: 1, locks: ['backup lock for backup on srv3 (pid 1) since 2026-12-03T01:00:00.000Z, stale'] }),
    server(4, {}),
    server(5, { ageHours: 0.5 }),
  ],
  growth: [
    { date: '2026-11-20', addedBytes: 100 << 20, storedBytes: 100 << 20 },
    { date: '2026-11-27', addedBytes: 50 << 20, storedBytes: 150 << 20 },
    { date: '2026-12-03', addedBytes: 170 << 20, storedBytes: 320 << 20 },
  ],
};

/** Width, height and RGB pixels of a PNG (8-bit RGB or RGBA, not interlaced: what Chromium writes). */
function decodePng(png: Buffer): { width: number; height: number; rgb: (x: number, y: number) => [number, number, number] } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let pos = 8;
  let width = 0, height = 0, colourType = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4); colourType = data[9]!;
      expect(data[8], 'bit depth').toBe(8);
      expect(data[12], 'interlace').toBe(0);
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  expect([2, 6]).toContain(colourType);
  const bpp = colourType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[y * stride + i - bpp]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? out[(y - 1) * stride + i - bpp]! : 0;
      const p = a + b - c;
      const pred = [0, a, b, (a + b) >> 1, Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c][filter]!;
      out[y * stride + i] = (line[i]! + pred) & 0xff;
    }
  }
  return { width, height, rgb: (x, y) => [out[y * stride + x * bpp]!, out[y * stride + x * bpp + 1]!, out[y * stride + x * bpp + 2]!] };
}

describe('fleet report HTML in headless Chromium', () => {
  let dom = '';
  let png: Buffer;
  let html = '';

  beforeAll(async () => {
    const dir = tempDir('azb-fleet-html-');
    html = renderFleetHtml(report);
    writeFileSync(join(dir, 'fleet.html'), html);
    const shot = join(dir, 'fleet.png');
    // --no-sandbox: the tests run as root in a container, where Chromium's sandbox cannot start.
    const child = spawn('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${join(dir, 'profile')}`,
      `--window-size=${WIDTH},${HEIGHT}`, `--screenshot=${shot}`, '--dump-dom', `file://${join(dir, 'fleet.html')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { dom += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const code = await new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('close', resolve); });
    expect(code, err).toBe(0);
    png = readFileSync(shot);
  }, 60_000);

  it('renders the rows worst first, with status words, and planted host names as text', () => {
    const rowIds = [...dom.matchAll(/<tr class="server (\w+)" data-server-id="([0-9a-f]{64})">/g)].map((m) => [m[1], m[2]]);
    expect(rowIds).toEqual(report.servers.map((s) => [s.status.toLowerCase(), s.serverId]));
    // Status is a word and a symbol, not colour alone.
    expect(dom).toContain('✖ Critical');
    expect(dom).toContain('▲ Warning');
    expect(dom).toContain('✔ OK');
    // The planted names are text in the rendered document: no script ran (the title is the page's own),
    // no element came from them.
    expect(dom).toContain(`<td class="host">${escapeHtml(SCRIPT_HOST).replace(/&quot;/g, '"')}</td>`);
    expect(dom).toContain('<td class="host">"&gt;&lt;img src=x onerror=alert(1)&gt;</td>');
    expect(dom).not.toMatch(/<script|<img/i);
    expect(dom).toMatch(/<title>AzBackup fleet report — 2026-12-03 10:00 UTC<\/title>/);
    // Both charts: a bar per server with a point (the one never backed up says so), and the growth line.
    expect(dom.match(/<rect /g)).toHaveLength(4);
    expect(dom).toContain('no point yet');
    expect(dom).toMatch(/<polyline points="[\d., ]+"/);
    expect(dom).toContain(formatBytes(320 << 20));
    // Self-contained: no element or style that loads anything (the escaped 'src=x' above is text).
    expect(html).not.toMatch(/<(link|script|img|iframe|object|embed)\b|\s(src|href)\s*=\s*["']|url\(|@import/i);
  });

  it('draws a screenshot of the page with the status colours in it', () => {
    const { width, height, rgb } = decodePng(png);
    expect([width, height]).toEqual([WIDTH, HEIGHT]);
    expect(png.length).toBeGreaterThan(20_000);
    const seen = new Set<string>();
    for (let y = 0; y < height; y += 2) for (let x = 0; x < width; x += 2) seen.add(rgb(x, y).join(','));
    // The badges' and bars' colours (Critical #b00020, Warning #8a5300, OK #1b6e20) and the growth line's (#0b57d0).
    for (const colour of ['176,0,32', '138,83,0', '27,110,32', '11,87,208']) expect(seen.has(colour), colour).toBe(true);
    expect(seen.size).toBeGreaterThan(50); // text, anti-aliasing: not a blank page
  });
});
