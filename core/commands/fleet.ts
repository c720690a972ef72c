// `fleet report`: one row per server of a vault, read without a passphrase (core/fleet/report.ts), and
// with --html the same as one self-contained page. Writes nothing to the vault.
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { now } from '../clock.js';
import { renderFleetHtml, formatBytes } from '../fleet/html.js';
import { DEFAULT_MAX_AGE_HOURS, readFleetReport } from '../fleet/report.js';
import { ExitCode, fileError } from '../protocol/errors.js';
import type { Command } from './command.js';
import { openVaultFor, STORAGE_SECRETS } from './context.js';

export interface FleetReportArgs { vault?: string; maxAgeHours?: number; html?: string }

/** Writes the page under a temporary name, then renames it: a web server never serves half a page. */
async function writePage(path: string, html: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(tmp, html, { mode: 0o644, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw fileError(err, path, 'HTML report folder');
  }
}

export const fleetReportCommand: Command<FleetReportArgs> = {
  name: 'fleet.report',
  argsSchema: 'azbackup:args.fleet.report',
  secrets: [...STORAGE_SECRETS],
  human: {
    item: (_k, d) => `${String(d['status']).padEnd(8)} ${String(d['hostname'] ?? String(d['serverId']).slice(0, 12) + '…').padEnd(20)} ${d['ageHours'] === null ? 'never'.padStart(8) : `${String(d['ageHours'])} h`.padStart(8)}  ${formatBytes(Number(d['storedBytes'])).padStart(10)}  ${String(d['reason'])}`,
    result: (_k, d) => `${String(d['servers'])} server(s): ${String(d['critical'])} critical, ${String(d['warning'])} warning, ${String(d['ok'])} OK; ${formatBytes(Number(d['storedBytes']))} stored${d['html'] ? `; page written to ${String(d['html'])}` : ''}`,
  },
  async run(ctx, args) {
    const vault = await openVaultFor(args, ctx.secrets);
    const maxAgeHours = args.maxAgeHours ?? DEFAULT_MAX_AGE_HOURS;
    // Damage of vault objects is a warning of the run too (exit code 3), not only a row's code.
    const warn = (code: string, message: string, target: string) => ctx.sink.warning(code, message, target);
    const report = await readFleetReport(vault, { now: now(), maxAgeHours, signal: ctx.signal, warn });
    for (const s of report.servers) ctx.sink.item('FleetServer', { ...s, vault: report.vault });
    let html: string | undefined;
    if (args.html !== undefined) {
      html = resolve(args.html);
      await writePage(html, renderFleetHtml(report));
    }
    const count = (st: string) => report.servers.filter((s) => s.status === st).length;
    ctx.sink.result('FleetReport', {
      vault: report.vault, vaultId: report.vaultId, generated: report.generated, maxAgeHours,
      servers: report.servers.length, critical: count('Critical'), warning: count('Warning'), ok: count('OK'),
      storedBytes: report.servers.reduce((n, s) => n + s.storedBytes, 0), growth: report.growth, ...(html ? { html } : {}),
    });
    return ctx.sink.warnings > 0 ? ExitCode.CompletedWithWarnings : 0;
  },
};
