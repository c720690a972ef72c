// The fleet report as one self-contained HTML page (`fleet report --html FILE`): a summary, two inline SVG
// charts (point age per server, vault growth by day) and the table, worst first. Nothing is fetched: the
// CSS is inline and the page's Content-Security-Policy forbids scripts and every outside load, so a host
// name planted in a server.json is text (escaped), and could not run even if an escape were missed.
import type { FleetReport, FleetServer, FleetStatus, GrowthDay } from './report.js';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

// Colours keep a contrast of at least 4.5:1 with white text; each status also has its word and a symbol.
const STATUS_STYLE: Record<FleetStatus, { colour: string; symbol: string }> = {
  Critical: { colour: '#b00020', symbol: '✖' },
  Warning: { colour: '#8a5300', symbol: '▲' },
  OK: { colour: '#1b6e20', symbol: '✔' },
};

function hostOf(s: FleetServer): string {
  return s.hostname ?? `(server ${s.serverId.slice(0, 12)}…)`;
}

function ageText(s: FleetServer): string {
  if (s.ageHours === null) return 'never';
  return s.ageHours < 48 ? `${s.ageHours.toFixed(1)} h` : `${(s.ageHours / 24).toFixed(1)} d`;
}

/** Horizontal bars: hours since each server's last point, the limit as a dashed line. */
function ageChart(r: FleetReport): string {
  const rowH = 22;
  const left = 190;
  const width = 720;
  const plotW = width - left - 70;
  const h = r.servers.length * rowH + 40;
  const ages = r.servers.map((s) => s.ageHours ?? 0);
  const max = Math.max(r.maxAgeHours * 1.5, ...ages, 1);
  const x = (hours: number) => left + Math.min(hours, max) / max * plotW;
  const bars = r.servers.map((s, i) => {
    const y = 10 + i * rowH;
    const label = escapeHtml(hostOf(s).length > 26 ? `${hostOf(s).slice(0, 25)}…` : hostOf(s));
    const { colour } = STATUS_STYLE[s.status];
    const bar = s.ageHours === null
      ? `<text x="${left + 4}" y="${y + 15}" class="never">no point yet</text>`
      : `<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(s.ageHours) - left).toFixed(1)}" height="${rowH - 6}" fill="${colour}"><title>${escapeHtml(hostOf(s))}: ${ageText(s)}</title></rect>`
        + `<text x="${(x(s.ageHours) + 4).toFixed(1)}" y="${y + 15}">${ageText(s)}</text>`;
    return `<text x="${left - 6}" y="${y + 15}" text-anchor="end">${label}</text>${bar}`;
  }).join('\n');
  const limit = x(r.maxAgeHours);
  return `<svg role="img" aria-labelledby="age-title" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" xmlns="http://www.w3.org/2000/svg">
<title id="age-title">Hours since each server's last recovery point; the dashed line is the ${r.maxAgeHours} h limit</title>
${bars}
<line x1="${limit.toFixed(1)}" y1="4" x2="${limit.toFixed(1)}" y2="${h - 24}" stroke="#333" stroke-dasharray="4 3"/>
<text x="${limit.toFixed(1)}" y="${h - 8}" text-anchor="middle">${r.maxAgeHours} h limit</text>
</svg>`;
}

/** A line of the bytes stored (by the day their packs were written), with the axes labelled. */
function growthChart(growth: readonly GrowthDay[]): string {
  if (growth.length === 0) return '<p>No pack has been written yet.</p>';
  const width = 720;
  const height = 260;
  const pad = { l: 80, r: 20, t: 16, b: 40 };
  const t0 = Date.parse(growth[0]!.date);
  const t1 = Math.max(Date.parse(growth.at(-1)!.date), t0 + 86_400_000);
  const top = Math.max(...growth.map((g) => g.storedBytes), 1);
  const x = (date: string) => pad.l + (Date.parse(date) - t0) / (t1 - t0) * (width - pad.l - pad.r);
  const y = (bytes: number) => height - pad.b - bytes / top * (height - pad.t - pad.b);
  const points = growth.map((g) => `${x(g.date).toFixed(1)},${y(g.storedBytes).toFixed(1)}`).join(' ');
  const dots = growth.map((g) => `<circle cx="${x(g.date).toFixed(1)}" cy="${y(g.storedBytes).toFixed(1)}" r="3" fill="#0b57d0"><title>${g.date}: ${formatBytes(g.storedBytes)} (+${formatBytes(g.addedBytes)})</title></circle>`).join('');
  return `<svg role="img" aria-labelledby="growth-title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">
<title id="growth-title">Bytes stored in the vault by the day their packs were written, from ${growth[0]!.date} to ${growth.at(-1)!.date}</title>
<line x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}" stroke="#333"/>
<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${height - pad.b}" stroke="#333"/>
<text x="${pad.l - 6}" y="${pad.t + 4}" text-anchor="end">${formatBytes(top)}</text>
<text x="${pad.l - 6}" y="${height - pad.b}" text-anchor="end">0</text>
<text x="${pad.l}" y="${height - pad.b + 18}">${growth[0]!.date}</text>
<text x="${width - pad.r}" y="${height - pad.b + 18}" text-anchor="end">${growth.at(-1)!.date}</text>
<polyline points="${points}" fill="none" stroke="#0b57d0" stroke-width="2"/>
${dots}
</svg>`;
}

function row(s: FleetServer): string {
  const { colour, symbol } = STATUS_STYLE[s.status];
  const cells = [
    `<td><span class="status" style="background:${colour}">${symbol} ${s.status}</span></td>`,
    `<td class="host">${escapeHtml(hostOf(s))}</td>`,
    `<td class="mono" title="${s.serverId}">${s.serverId.slice(0, 8)}…</td>`,
    `<td class="when">${s.lastPoint ? escapeHtml(s.lastPoint.slice(0, 16).replace('T', ' ')) + ' UTC' : 'never'}</td>`,
    `<td class="num">${ageText(s)}</td>`,
    `<td class="num">${s.pointCount}</td>`,
    `<td class="num">${formatBytes(s.storedBytes)}</td>`,
    `<td class="num">${formatBytes(s.bytesPerDay7)}/day</td>`,
    `<td>${s.locks.length === 0 ? '—' : s.locks.map(escapeHtml).join('<br>')}</td>`,
    `<td>${escapeHtml(s.reason)}${s.codes.length ? `<div class="codes">${s.codes.map(escapeHtml).join(' ')}</div>` : ''}</td>`,
  ];
  return `<tr class="server ${s.status.toLowerCase()}" data-server-id="${s.serverId}">${cells.join('')}</tr>`;
}

/** The whole page. */
export function renderFleetHtml(r: FleetReport): string {
  const count = (st: FleetStatus) => r.servers.filter((s) => s.status === st).length;
  const total = r.servers.reduce((n, s) => n + s.storedBytes, 0);
  const summary = (['Critical', 'Warning', 'OK'] as const).map((st) => `<span class="status" style="background:${STATUS_STYLE[st].colour}">${STATUS_STYLE[st].symbol} ${count(st)} ${st}</span>`).join(' ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AzBackup fleet report — ${escapeHtml(r.generated.slice(0, 16).replace('T', ' '))} UTC</title>
<style>
body { font: 14px/1.4 system-ui, "Segoe UI", Roboto, sans-serif; color: #1f1f1f; margin: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: #444; margin-bottom: 12px; }
.status { display: inline-block; color: #fff; border-radius: 4px; padding: 1px 8px; font-weight: 600; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.num { text-align: right; white-space: nowrap; } td.when { white-space: nowrap; } .mono { font-family: ui-monospace, Consolas, monospace; }
td.host { font-weight: 600; overflow-wrap: anywhere; max-width: 16em; }
.codes { font-family: ui-monospace, Consolas, monospace; font-size: 12px; color: #555; margin-top: 2px; }
svg text { font-size: 12px; fill: #1f1f1f; } svg text.never { fill: #b00020; font-style: italic; }
</style>
</head>
<body>
<h1>AzBackup fleet report</h1>
<div class="meta">Vault ${escapeHtml(r.vault)} · generated ${escapeHtml(r.generated)} · limit ${r.maxAgeHours} h since the last recovery point · ${r.servers.length} server(s) · ${formatBytes(total)} stored</div>
<div>${summary}</div>
<h2>Servers, worst first</h2>
<table id="servers">
<thead><tr><th>Status</th><th>Host</th><th>Server ID</th><th>Last point</th><th>Age</th><th>Points</th><th>Stored</th><th>Growth (7 days)</th><th>Locks</th><th>Why</th></tr></thead>
<tbody>
${r.servers.map(row).join('\n')}
</tbody>
</table>
<h2>Age of the last recovery point</h2>
${ageChart(r)}
<h2>Vault growth</h2>
${growthChart(r.growth)}
<p class="meta">Read without a passphrase from what the vault shows to anyone who can read it: point and pack object times and sizes, server records, certificates and locks (FORMAT.md §3). Packs that prune deleted no longer count.</p>
</body>
</html>
`;
}
