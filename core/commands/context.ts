// Shared steps of the vault commands: find the vault (argument or this machine's registration), open
// its store, pick the server namespace, open it with the passphrase, and run the work as a job.
import { isAbsolute, resolve, join } from 'node:path';
import { cacheDir, findRegistration, listRegistrations, loadSigningKey, type Registration } from '../config/home.js';
import { finishJob, startJob, type JobStatus } from '../jobs/jobs.js';
import { AzbError, toAzbError } from '../protocol/errors.js';
import { readSecretFile } from '../config/secret-file.js';
import { listServers, registrationProblems } from '../repo/registration.js';
import { openServer, type ServerRepo } from '../repo/server.js';
import { PROXY_AUTH_HINT, UNREACHABLE_HINT } from '../repo/storage-errors.js';
import { openVault, type Vault } from '../repo/vault.js';
import { openLocalFolderStore } from '../storage/local.js';
import { isStorageError, type ObjectStore } from '../storage/storage.js';
import { throttled } from '../storage/throttle.js';
import { DEFAULT_UPLOAD_CONCURRENCY, proxyFor, rateAt, readSettings } from '../config/settings.js';
import type { CommandContext } from './command.js';

/** Args every vault command accepts. */
export interface VaultArgs { vault?: string; server?: string; cacheDir?: string }

/** Names of the secrets that carry storage credentials (rpc `secrets`; CLI: environment variables). */
export const STORAGE_SECRETS = ['storageConnectionString', 'storageKey', 'storageSas', 'storageAuth', 'storageCertificatePassword'] as const;

const STORAGE_ENV: Record<(typeof STORAGE_SECRETS)[number], string> = {
  storageConnectionString: 'AZBACKUP_STORAGE_CONNECTION_STRING',
  storageKey: 'AZBACKUP_STORAGE_KEY',
  storageSas: 'AZBACKUP_STORAGE_SAS',
  storageAuth: 'AZBACKUP_STORAGE_AUTH',
  storageCertificatePassword: 'AZBACKUP_STORAGE_CERTIFICATE_PASSWORD',
};

/** True for an Azure Blob container URL (https, or http for the Azurite emulator). */
export function isAzureLocation(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** A location safe to show: no query string (a SAS token) and no user:password. */
export function shownLocation(location: string): string {
  return location.replace(/\?.*$/, '').replace(/\/\/[^/@]*@/, '//');
}

/**
 * Microsoft Entra ID credential (AZBACKUP_STORAGE_AUTH=entra): the certificate named by
 * AZBACKUP_STORAGE_CERTIFICATE (the server's PEM or .pfx — the same certificate it registered with) for
 * the app AZURE_CLIENT_ID in tenant AZURE_TENANT_ID; without a certificate, DefaultAzureCredential
 * (managed identity on Azure VMs, AZURE_* environment, Azure CLI).
 */
async function entraCredential(secrets: Readonly<Record<string, string>>) {
  const identity = await import('@azure/identity'); // loaded only for Entra ID: it is large
  const certPath = process.env['AZBACKUP_STORAGE_CERTIFICATE'];
  if (!certPath) return { kind: 'tokenCredential' as const, credential: new identity.DefaultAzureCredential() };
  const tenant = process.env['AZURE_TENANT_ID'];
  const client = process.env['AZURE_CLIENT_ID'];
  if (!tenant || !client) {
    throw new AzbError('AZB_STORAGE_CREDENTIAL_REQUIRED', 'Entra ID certificate sign-in needs the tenant and the app (client) ID.', {
      hint: 'Set AZURE_TENANT_ID and AZURE_CLIENT_ID to the tenant and the app registration that holds this server\'s certificate.',
    });
  }
  const { loadCertificateFile } = await import('../cert/load.js');
  const cert = await loadCertificateFile(certPath, secrets['storageCertificatePassword'] ?? process.env['AZBACKUP_STORAGE_CERTIFICATE_PASSWORD']);
  if (!cert.privateKey) {
    throw new AzbError('AZB_CERT_PRIVATE_KEY_REQUIRED', `${certPath} holds no private key; Entra ID sign-in needs it.`, { target: certPath, hint: 'Give the .pfx or the PEM file with the key.' });
  }
  const pem = cert.x509.toString() + cert.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { kind: 'tokenCredential' as const, credential: new identity.ClientCertificateCredential(tenant, client, { certificate: pem }, authorityOptions()) };
}

/** Sign-in hosts of the Azure clouds (public, China, US Government), which instance discovery knows. */
const CLOUD_AUTHORITY_HOSTS = new Set(['login.microsoftonline.com', 'login.chinacloudapi.cn', 'login.microsoftonline.us']);

/**
 * AZURE_AUTHORITY_HOST (the Azure SDK's variable) picks another cloud's sign-in host. One that is not a
 * known Azure cloud (a private or stack cloud) is used as it is: asking login.microsoftonline.com to
 * "discover" it would leak the host name and fail on a closed network.
 */
function authorityOptions(): { authorityHost?: string; disableInstanceDiscovery?: boolean } {
  const host = process.env['AZURE_AUTHORITY_HOST'];
  if (!host) return {};
  let url: URL;
  try { url = new URL(host); } catch {
    throw new AzbError('AZB_ARGS_INVALID', `AZURE_AUTHORITY_HOST '${host}' is not a URL.`, { target: 'AZURE_AUTHORITY_HOST', hint: 'Example: https://login.microsoftonline.us' });
  }
  if (url.protocol !== 'https:') throw new AzbError('AZB_ARGS_INVALID', `AZURE_AUTHORITY_HOST must be an https URL, not ${url.protocol}.`, { target: 'AZURE_AUTHORITY_HOST' });
  return { authorityHost: url.origin, ...(CLOUD_AUTHORITY_HOSTS.has(url.hostname) ? {} : { disableInstanceDiscovery: true }) };
}

/** MSAL's words for a sign-in service it could not reach (its metadata or its token endpoint). */
const UNREACHABLE = /network_error|endpoints_resolution_error|ENOTFOUND|ECONNREFUSED/i;

/** Errors @azure/identity raises when it cannot get a token (by name: the module is loaded lazily). */
const SIGN_IN_ERRORS = new Set(['AuthenticationError', 'CredentialUnavailableError', 'AuthenticationRequiredError', 'AggregateAuthenticationError']);

/**
 * Whether a failure (or its cause) is an Entra ID sign-in failure; if so its text (for entraHint) and
 * the service's reason, e.g. "AADSTS700016: Application with identifier '…' was not found …", cut to
 * its first sentence (the AADSTS text names the app and the certificate thumbprint, never a secret).
 */
export function entraFailure(err: unknown): { text: string; reason: string | undefined } | undefined {
  for (let e = err as { name?: string; message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.name && SIGN_IN_ERRORS.has(e.name)) {
      const text = String(e.message ?? '');
      const aadsts = /AADSTS\d+:[^.\r\n]*/.exec(text)?.[0];
      return { text, reason: aadsts ?? (UNREACHABLE.test(text) ? 'the sign-in service cannot be reached' : undefined) };
    }
  }
  return undefined;
}

/** A hint for an Entra ID sign-in failure, from the AADSTS code in its message (what the admin must do). */
export function entraHint(message: string): string | undefined {
  if (/AADSTS700027|AADSTS700024|certificate/i.test(message) && /AADSTS/.test(message)) {
    return "The certificate is not registered for the app in Entra ID: upload this server's .cer to the app registration (Certificates & secrets), e.g. az ad app credential reset --id <app> --cert @server.cer --append.";
  }
  if (/AADSTS700016/.test(message)) return 'No app with this AZURE_CLIENT_ID in the tenant: check the app (client) ID and AZURE_TENANT_ID.';
  if (/AADSTS90002|AADSTS900023/.test(message)) return 'The tenant in AZURE_TENANT_ID does not exist: check it.';
  if ((UNREACHABLE.test(message) || /certificate/i.test(message)) && !/AADSTS/.test(message)) return 'The Entra ID sign-in service cannot be reached: check the network, the proxy and AZURE_AUTHORITY_HOST.';
  if (/CredentialUnavailable|No credential|managed identity/i.test(message)) return 'No Entra ID credential is available here: set AZBACKUP_STORAGE_CERTIFICATE with AZURE_TENANT_ID and AZURE_CLIENT_ID, or run on an Azure VM with a managed identity.';
  if (/AuthorizationPermissionMismatch|AuthorizationFailure|403/.test(message)) return "Signed in, but the identity may not use the container: grant it the 'Storage Blob Data Contributor' role on the storage account or container.";
  return undefined;
}

/** A storage credential in a file named by an environment variable (AZBACKUP_STORAGE_KEY_FILE and the like), private to its owner. */
async function secretFile(envName: string): Promise<string | undefined> {
  const path = process.env[envName];
  return path ? readSecretFile(path, `${envName} credential`, { ownerOnly: true }) : undefined;
}

// The Azure credential from the request's secrets, else the environment (or a private file an
// environment variable names); never from an argument.
async function azureCredential(location: string, secrets: Readonly<Record<string, string>>) {
  if ((secrets['storageAuth'] ?? process.env['AZBACKUP_STORAGE_AUTH'])?.toLowerCase() === 'entra') {
    if (!location.toLowerCase().startsWith('https://')) {
      throw new AzbError('AZB_ARGS_INVALID', `Entra ID sign-in needs an https vault URL, not ${shownLocation(location)}.`, { target: shownLocation(location), hint: 'Use https://<account>.blob.core.windows.net/<container>.' });
    }
    return entraCredential(secrets);
  }
  const pick = async (name: (typeof STORAGE_SECRETS)[number]) => secrets[name] ?? process.env[STORAGE_ENV[name]] ?? await secretFile(`${STORAGE_ENV[name]}_FILE`);
  const conn = await pick('storageConnectionString');
  if (conn) return { kind: 'connectionString' as const, value: conn };
  const sas = await pick('storageSas');
  if (sas) return { kind: 'sas' as const, sasUrl: sas };
  const key = await pick('storageKey');
  if (key) {
    const url = new URL(location);
    const host = url.hostname.split('.');
    const account = host.length > 1 && host[1] === 'blob' ? host[0]! : url.pathname.split('/').filter(Boolean)[0] ?? '';
    return { kind: 'sharedKey' as const, account, key };
  }
  throw new AzbError('AZB_STORAGE_CREDENTIAL_REQUIRED', `No credential for the Azure vault at ${shownLocation(location)}.`, {
    target: shownLocation(location),
    hint: 'Give a connection string, account key or SAS (AZBACKUP_STORAGE_CONNECTION_STRING, AZBACKUP_STORAGE_KEY, AZBACKUP_STORAGE_SAS, or the same names with _FILE for a private file holding it), or AZBACKUP_STORAGE_AUTH=entra for Microsoft Entra ID.',
  });
}

// Retry timing from the environment (tests shorten it; the defaults suit real networks).
function azureTuning(): { tryTimeoutMs?: number; retryDelayMs?: number; maxTries?: number } {
  const num = (name: string) => { const v = Number(process.env[name]); return Number.isFinite(v) && v > 0 ? v : undefined; };
  const t = num('AZBACKUP_AZURE_TRY_TIMEOUT_MS');
  const d = num('AZBACKUP_AZURE_RETRY_DELAY_MS');
  const m = num('AZBACKUP_AZURE_MAX_TRIES');
  return { ...(t ? { tryTimeoutMs: t } : {}), ...(d ? { retryDelayMs: d } : {}), ...(m ? { maxTries: m } : {}) };
}

/** Opens the object store at a vault location: a folder path, or an Azure Blob container URL. */
export async function openStore(location: string, secrets: Readonly<Record<string, string>> = {}, o: { create?: boolean; accessTier?: 'Hot' | 'Cool' | 'Cold' } = {}): Promise<ObjectStore> {
  const opened = await openStoreUnchecked(location, secrets, o);
  await opened.check();
  return opened.store;
}

/**
 * openStore without the Azure container check (a HEAD request): `check()` makes it, with the same
 * errors. A caller whose first read succeeds has its proof that the container is there and may be read,
 * and calls check() only when that read fails, to say why.
 */
async function openStoreUnchecked(location: string, secrets: Readonly<Record<string, string>>, o: { create?: boolean; accessTier?: 'Hot' | 'Cool' | 'Cold' }): Promise<{ store: ObjectStore; check: () => Promise<void> }> {
  if (isAzureLocation(location)) {
    if (/\?/.test(location)) {
      throw new AzbError('AZB_ARGS_INVALID', 'The vault URL carries a query string; a SAS token must not be given as an argument.', {
        target: shownLocation(location), hint: 'Give the container URL alone and the SAS in AZBACKUP_STORAGE_SAS.',
      });
    }
    const credential = await azureCredential(location, secrets);
    const azure = await import('../storage/azure.js'); // loaded only for Azure vaults: it is large
    const openError = (err: unknown): unknown => {
      const signIn = credential.kind === 'tokenCredential' ? entraFailure(err) : undefined;
      if (signIn) {
        return new AzbError('AZB_STORAGE_AUTH_FAILED', `Entra ID sign-in for ${shownLocation(location)} failed${signIn.reason ? `: ${signIn.reason}` : ''}.`, {
          target: shownLocation(location), hint: entraHint(signIn.text) ?? 'Check AZURE_TENANT_ID, AZURE_CLIENT_ID and that the certificate is registered for the app in Entra ID; run with --debug for the sign-in details.',
        });
      }
      if (isStorageError(err, 'unreachable')) return new AzbError('AZB_VAULT_UNREACHABLE', err.message, { target: shownLocation(location), hint: UNREACHABLE_HINT });
      if (isStorageError(err, 'unavailable')) return new AzbError('AZB_VAULT_NOT_FOUND', err.message, { target: shownLocation(location), hint: 'Check the URL and that the container exists; New-AzBackupVault / azbackup vault create creates it.' });
      const entra = credential.kind === 'tokenCredential' ? entraHint(`${(err as Error).message} ${((err as { cause?: Error }).cause)?.message ?? ''}`) : undefined;
      if (entra) return new AzbError('AZB_STORAGE_AUTH_FAILED', `Entra ID sign-in for ${shownLocation(location)} failed.`, { target: shownLocation(location), hint: entra });
      if (isStorageError(err, 'denied') && err.deniedBy === 'proxy') return new AzbError('AZB_PROXY_AUTH_FAILED', err.message, { target: shownLocation(location), hint: PROXY_AUTH_HINT });
      if (isStorageError(err, 'denied')) return new AzbError('AZB_VAULT_ACCESS_DENIED', err.message, { target: shownLocation(location), hint: 'Check the credential: key, SAS (permissions, expiry) or connection string.' });
      return err;
    };
    try {
      // Machine settings: a proxy, and throttling of uploads (read once per command; hours are checked as it runs).
      const settings = await readSettings();
      const proxy = await proxyFor(settings);
      const store = await (o.create ? azure.createAzureContainer : azure.openAzureBlobStore)({ containerUrl: location, credential, ...(proxy ? { proxy } : {}),
        uploadConcurrency: settings.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY, ...(o.accessTier ? { accessTier: o.accessTier } : {}), ...azureTuning(), probe: false });
      // createAzureContainer has made the check already.
      const check = o.create ? async () => undefined : async () => { try { await store.probe(); } catch (err) { throw openError(err); } };
      return { store: settings.throttle ? throttled(store, () => rateAt(settings)) : store, check };
    } catch (err) {
      throw openError(err);
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new AzbError('AZB_VAULT_LOCATION_UNSUPPORTED', `Vault location '${shownLocation(location)}' is neither a folder nor an Azure Blob container URL.`, {
      target: shownLocation(location), hint: 'Use a folder path, or https://<account>.blob.core.windows.net/<container>.',
    });
  }
  const path = isAbsolute(location) ? location : resolve(location);
  try {
    return { store: await openLocalFolderStore(path), check: async () => undefined };
  } catch (err) {
    if (isStorageError(err, 'unavailable')) {
      throw new AzbError('AZB_VAULT_NOT_FOUND', `No vault folder at ${path}.`, { target: path, hint: "Check the path, or create a vault with 'azbackup vault create'." });
    }
    throw err;
  }
}

/** The vault location to use: the argument, else the only vault this machine is registered with. */
export async function vaultLocation(args: VaultArgs): Promise<string> {
  if (args.vault) return args.vault;
  const regs = await listRegistrations();
  if (regs.length === 1) return regs[0]!.vault;
  throw new AzbError('AZB_VAULT_REQUIRED', regs.length === 0
    ? 'No vault given, and this server is registered with none.'
    : `No vault given, and this server is registered with ${regs.length} vaults (${regs.map((r) => r.vault).join(', ')}).`, {
    hint: 'Give the vault with -Vault / --vault.',
  });
}

/** Opens the vault named by the args. */
export async function openVaultFor(args: VaultArgs, secrets: Readonly<Record<string, string>> = {}, o: { accessTier?: 'Hot' | 'Cool' | 'Cold' } = {}): Promise<Vault> {
  const location = await vaultLocation(args);
  if (o.accessTier && !isAzureLocation(location)) {
    throw new AzbError('AZB_ARGS_INVALID', 'An access tier applies only to Azure Blob vaults.', { target: 'accessTier', hint: 'Leave the access tier out for a folder vault.' });
  }
  const opened = await openStoreUnchecked(location, secrets, o);
  try {
    return await openVault(opened.store);
  } catch (err) {
    // The container missing or the credential refused, said as openStore says it; an unreachable service
    // was tried long enough already.
    if (!(err instanceof AzbError && err.code === 'AZB_VAULT_UNREACHABLE')) await opened.check();
    throw err;
  }
}

/** This machine's registration with a vault, or AZB_SERVER_NOT_REGISTERED. */
export async function requireRegistration(vault: Vault): Promise<Registration> {
  const reg = await findRegistration(vault.manifest.vaultId);
  if (!reg) {
    // Registered with this very location, and that server's namespace is here, yet the vault ID differs:
    // vault.json is what changed (damaged or replaced), not the registration.
    const here = (await listRegistrations()).find((r) => r.vault === vault.store.location);
    if (here && (await vault.store.stat(`servers/${here.serverId}/server.json`).catch(() => undefined))) {
      throw new AzbError('AZB_OBJECT_DAMAGED', `vault.json at ${vault.store.location} names vault ${vault.manifest.vaultId}, but this server registered with this vault as ${here.vaultId} and its namespace is there: vault.json is damaged or was replaced.`, {
        target: 'vault.json', hint: `Do not register again. Put back vault.json from a copy (its vaultId must be ${here.vaultId}).`,
      });
    }
    throw new AzbError('AZB_SERVER_NOT_REGISTERED', `This server is not registered with the vault at ${vault.store.location}.`, {
      target: vault.store.location, hint: "Register it with Register-AzBackupServer / 'azbackup register'.",
    });
  }
  return reg;
}

/** The server namespace to work on: `server` (ID, ID prefix or hostname) or this machine's own. */
export async function serverIdFor(vault: Vault, server: string | undefined): Promise<string> {
  if (!server) return (await requireRegistration(vault)).serverId;
  const servers = await listServers(vault);
  const matches = servers.filter((s) => s.serverId === server || (server.length >= 8 && s.serverId.startsWith(server)) || s.hostname.toLowerCase() === server.toLowerCase());
  if (matches.length === 1) return matches[0]!.serverId;
  if (matches.length === 0) throw new AzbError('AZB_SERVER_NOT_FOUND', `No server '${server}' is registered in the vault at ${vault.store.location}.`, { target: server, hint: 'List servers with Get-AzBackupServer / azbackup servers.' });
  throw new AzbError('AZB_SERVER_AMBIGUOUS', `'${server}' matches ${matches.length} servers.`, { target: server, hint: 'Give the server ID instead of the host name.' });
}

/**
 * Opens a server namespace with the passphrase from the request's secrets. When it is this machine's
 * own namespace, its registration pins what may open it and sign its points (FORMAT.md section 11);
 * another server's (--server) is judged by its server.json and proof alone.
 */
export async function openServerFor(ctx: CommandContext, args: VaultArgs, o: { accessTier?: 'Hot' | 'Cool' | 'Cold'; configCopy?: boolean } = {}): Promise<{ vault: Vault; repo: ServerRepo }> {
  const vault = await openVaultFor(args, ctx.secrets, o);
  const serverId = await serverIdFor(vault, args.server);
  const reg = await findRegistration(vault.manifest.vaultId);
  const pin = reg && reg.serverId === serverId ? reg : undefined;
  const repo = await openServer(vault, serverId, ctx.secrets['passphrase'], {
    ...(pin ? { pin } : {}), signal: ctx.signal,
    ...(o.configCopy ? { configCopy: join(namespaceCacheDir(args, vault.manifest.vaultId, serverId), 'config') } : {}),
  });
  return { vault, repo };
}

/** The cache folder of one server namespace. */
export function serverCacheDir(args: VaultArgs, repo: ServerRepo): string {
  return namespaceCacheDir(args, repo.vault.manifest.vaultId, repo.serverId);
}

function namespaceCacheDir(args: VaultArgs, vaultId: string, serverId: string): string {
  return join(cacheDir(args.cacheDir), `${vaultId}-${serverId.slice(0, 16)}`);
}

/** This machine's registration when `repo` is its own namespace, else AZB_SERVER_NOT_REGISTERED saying only that server may `what`. */
export async function ownRegistration(repo: ServerRepo, what: string): Promise<Registration> {
  const reg = await findRegistration(repo.vault.manifest.vaultId);
  if (!reg || reg.serverId !== repo.serverId) {
    throw new AzbError('AZB_SERVER_NOT_REGISTERED', `This machine is not registered as server ${repo.record.hostname} of this vault; only that server can ${what}.`, {
      hint: `Run it on server ${repo.record.hostname}, or register this one.`,
    });
  }
  return reg;
}

/**
 * The key that signs recovery points: from this machine's registration (backups run only on the
 * registered server). Before anything is written, the server's record in the vault must match this
 * machine's registration — certificate, proof, signing key — else AZB_REGISTRATION_MISMATCH: points
 * written under a changed record could never be verified.
 */
export async function signingKeyFor(repo: ServerRepo): Promise<import('node:crypto').KeyObject> {
  const reg = await ownRegistration(repo, 'back up into its namespace');
  const key = await loadSigningKey(reg, repo.masterKey);
  const problems = await registrationProblems(repo.vault, repo.record, reg, key);
  if (problems.length > 0) {
    const record = `${repo.prefix}server.json`;
    throw new AzbError('AZB_REGISTRATION_MISMATCH', `The registration record ${record} of this server does not match its registration on this machine: ${problems.join('; ')}. Nothing was backed up: points written now could not be verified.`, {
      target: record,
      hint: `server.json was changed outside AzBackup (no key is needed to change it). Put it back from a copy of the vault — it must name certificate ${reg.certificate} and its proof must verify — and run 'azbackup check'.`,
    });
  }
  return key;
}

/** Runs `work` as a recorded job; the job ends Completed, CompletedWithWarnings, Failed or Cancelled. */
export async function asJob<T>(ctx: CommandContext, operation: string, vault: string, serverId: string | null, work: (jobId: string) => Promise<T>, policy: string | null = null): Promise<T> {
  const jobId = startJob(operation, vault, serverId, policy);
  ctx.sink.log(`Job ${jobId} started: ${operation}`);
  const warningsBefore = ctx.sink.warnings;
  // A process that ends before the job does (a second stop signal) still records how it ended:
  // finishJob is synchronous, so it runs in the exit handler.
  const onExit = () => {
    try {
      finishJob(jobId, ctx.signal.aborted ? 'Cancelled' : 'Failed', null, [ctx.signal.aborted
        ? { code: 'AZB_CANCELLED', message: 'Stopped by a second stop signal before the job reached a safe point.' }
        : { code: 'AZB_JOB_ABANDONED', message: 'The engine process ended without finishing the job.' }], ctx.sink.warnings - warningsBefore, ctx.sink.warningLog.slice(warningsBefore));
    } catch { /* the history cannot be written now; listing jobs marks it abandoned later */ }
  };
  process.once('exit', onExit);
  try {
    const result = await work(jobId);
    const stats = (result && typeof result === 'object' ? (result as { stats?: Record<string, unknown> }).stats ?? null : null);
    const status: JobStatus = ctx.sink.warnings > warningsBefore ? 'CompletedWithWarnings' : 'Completed';
    finishJob(jobId, status, stats, [], ctx.sink.warnings - warningsBefore, ctx.sink.warningLog.slice(warningsBefore));
    return result;
  } catch (err) {
    const e = toAzbError(err);
    finishJob(jobId, e.code === 'AZB_CANCELLED' ? 'Cancelled' : 'Failed', null, [{ code: e.code, message: e.message }], ctx.sink.warnings - warningsBefore, ctx.sink.warningLog.slice(warningsBefore));
    throw err;
  } finally {
    process.removeListener('exit', onExit);
  }
}
