// Turns object-store failures into the engine's coded errors, naming the vault object involved.
import { AzbError } from '../protocol/errors.js';
import { isStorageError } from '../storage/storage.js';

/** What to do when the network path to the vault fails. */
export const UNREACHABLE_HINT = 'Check the network path to the storage endpoint: name resolution (DNS), firewall, the proxy (Set-AzBackupMachineSetting -Proxy), and that the service is up; then try again. Nothing was changed by the failed attempt.';

/** What to do when the HTTP proxy refuses its credentials (407). */
export const PROXY_AUTH_HINT = 'Set the proxy user name and password again (Set-AzBackupMachineSetting -ProxyCredential, or azbackup settings set --proxy-username --proxy-password-file), or check AZBACKUP_PROXY_PASSWORD.';

/** Maps a StorageError (or anything) met while working on `what` to an AzbError. Not-found is left to the caller. */
export function vaultError(err: unknown, location: string, what: string): AzbError {
  if (err instanceof AzbError) return err;
  if (isStorageError(err)) {
    switch (err.kind) {
      case 'denied':
        if (err.deniedBy === 'proxy') return new AzbError('AZB_PROXY_AUTH_FAILED', `The proxy refused its user name and password while working on ${what} in the vault at ${location}.`, { target: location, hint: PROXY_AUTH_HINT });
        return new AzbError('AZB_VAULT_ACCESS_DENIED', `Access denied to ${what} in the vault at ${location}.`, { target: err.objectName, hint: 'Run with an account that may read and write the vault.' });
      case 'unavailable':
        return new AzbError('AZB_VAULT_NOT_FOUND', `The vault at ${location} is no longer there (${err.message}).`, { target: location, hint: 'Check the vault location: the folder or the container may have been removed or unmounted.' });
      case 'unreachable':
        return new AzbError('AZB_VAULT_UNREACHABLE', `The vault at ${location} cannot be reached while working on ${what}: ${err.message}.`, { target: location, hint: UNREACHABLE_HINT });
      case 'bad-range':
        return new AzbError('AZB_OBJECT_DAMAGED', `${what} is damaged: ${err.objectName} is shorter than the index says (truncated).`, { target: err.objectName, hint: "Run 'azbackup check' to see what is affected." });
      case 'unsafe':
        // The store names the planted entry (a link, FIFO, device or socket) and left it untouched.
        return new AzbError('AZB_VAULT_UNSAFE_OBJECT', `Refused while working on ${what}: ${err.message}.`, {
          target: err.objectName, hint: "AzBackup never creates links or special files in a vault: whoever can write to the vault folder put this there. Find out who, remove it (a folder moved elsewhere and linked back: move it back), then run 'azbackup check'.",
        });
      case 'too-large':
        // Bigger than any object of its kind the engine writes: damaged or forged, and never read.
        return new AzbError('AZB_OBJECT_DAMAGED', `${what} is damaged: ${err.message}.`, { target: err.objectName, hint: "Run 'azbackup check' to see what is affected." });
      case 'not-found':
        return new AzbError('AZB_OBJECT_DAMAGED', `${what} is missing from the vault at ${location} (${err.objectName}).`, { target: err.objectName, hint: "Run 'azbackup check' to see what is affected." });
      default:
        return new AzbError('AZB_VAULT_IO', `Error on ${what} in the vault at ${location}: ${err.message}`, { target: err.objectName, hint: 'Check the storage and try again.' });
    }
  }
  return new AzbError('AZB_VAULT_IO', `Error on ${what} in the vault at ${location}: ${(err as Error)?.message ?? String(err)}`, { target: location });
}
