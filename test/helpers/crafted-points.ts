// Opens a fixture's server in the test process, so a test can write blobs and signed recovery points
// itself, as a compromised server or an engine defect could.
import { openStore } from '../../core/commands/context.js';
import { openVault } from '../../core/repo/vault.js';
import { openServer } from '../../core/repo/server.js';
import { findRegistration, loadSigningKey } from '../../core/config/home.js';
import { BlobSaver } from '../../core/backup/blob-saver.js';
import type { VaultFixture } from './vault-fixture.js';

/** The fixture's vault and server repo (index loaded), its signing key and a blob saver. */
export async function craftingPoints(fx: VaultFixture) {
  process.env['AZBACKUP_HOME'] = fx.home;
  const vault = await openVault(await openStore(fx.vault));
  const reg = (await findRegistration(vault.manifest.vaultId))!;
  const repo = await openServer(vault, reg.serverId, fx.passphrase);
  await repo.loadIndex();
  return { vault, repo, key: await loadSigningKey(reg, repo.masterKey), saver: new BlobSaver(repo) };
}
