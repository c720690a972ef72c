// The warning about a server certificate that expires soon, shared by registration and backup.

/** Registration and every backup warn this many days before the certificate that signs the points expires. */
export const CERT_EXPIRY_WARNING_DAYS = 30;

/**
 * What to do about an expiring certificate: renew it in place (server renew-cert), which keeps the
 * server's namespace, points and passphrase (FORMAT.md section 3, renewals).
 */
export function renewHint(): string {
  return 'Renew it: create a new certificate (New-AzBackupCertificate / azbackup cert new), upload it (Add-AzBackupVaultCertificate / azbackup vault add-cert), '
    + 'then move this server to it (Update-AzBackupServerCertificate / azbackup server renew-cert). The server keeps its ID, points and passphrase; '
    + 'afterwards the old certificate can be removed (Remove-AzBackupVaultCertificate / azbackup vault remove-cert).';
}
