// A restore of the latest point run in the test's own process (not through the executable), so a test
// hook (RestoreOptions) can act in the middle of it: between files, or before the folders' metadata.
import type { VaultFixture } from './vault-fixture.js';
import { openStore } from '../../core/commands/context.js';
import { openVault } from '../../core/repo/vault.js';
import { openServer } from '../../core/repo/server.js';
import { findRegistration } from '../../core/config/home.js';
import { JsonSink } from '../../core/protocol/events.js';
import { findPoint } from '../../core/commands/points.js';
import { runRestore, type RestoreOptions } from '../../core/restore/restorer.js';

/** The events the restore emitted, parsed. */
export type RestoreEvent = { type: string; code?: string; message?: string; target?: string };

/** Restores the fixture's latest point with CreateCopy and `o`; returns its statistics and events. */
export async function restoreHere(fx: VaultFixture, o: Partial<RestoreOptions>): Promise<{ stats: Awaited<ReturnType<typeof runRestore>>; events: RestoreEvent[] }> {
  process.env['AZBACKUP_HOME'] = fx.home;
  const vault = await openVault(await openStore(fx.vault));
  const reg = (await findRegistration(vault.manifest.vaultId))!;
  const repo = await openServer(vault, reg.serverId, fx.passphrase);
  const lines: string[] = [];
  const sink = new JsonSink((l) => { lines.push(l); });
  await repo.loadIndexForReading((code, message, target) => sink.warning(code, message, target));
  const point = await findPoint(repo, 'latest', sink);
  try {
    const stats = await runRestore(repo, { point, items: [], conflict: 'CreateCopy', signal: new AbortController().signal, sink, ...o });
    return { stats, events: lines.map((l) => JSON.parse(l) as RestoreEvent) };
  } finally {
    await vault.store.close();
  }
}
