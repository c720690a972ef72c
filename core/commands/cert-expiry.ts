// The warning about a server certificate that expires soon, shared by registration and backup.
import { join } from 'node:path';

/** Registration and every backup warn this many days before the certificate that signs the points expires. */
export const CERT_EXPIRY_WARNING_DAYS = 30;

/**
 * What to do about an expiring certificate. AzBackup cannot yet move a registered server to another
 * certificate (server.json names one, and only it may sign the server's points): the way on is a new
 * registration, which starts a new server namespace.
 */
export function renewHint(home: string, vaultId: string): string {
  return 'AzBackup cannot yet move a registered server to a new certificate. To go on backing up: create one (New-AzBackupCertificate / azbackup cert new), '
    + 'upload it (Add-AzBackupVaultCertificate / azbackup vault add-cert), remove this registration '
    + `(${join(home, 'registrations', `${vaultId}.json`)} and .key) and register again (Register-AzBackupServer / azbackup register). `
    + 'That starts a new server namespace; the existing recovery points stay restorable with -Server / --server <this server ID> and this passphrase.';
}
