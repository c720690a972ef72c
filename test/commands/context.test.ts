// Vault location and credential handling (no network: Entra ID sign-in itself cannot be reached here).
import { describe, expect, it } from 'vitest';
import { entraHint, isAzureLocation, openStore, shownLocation } from '../../core/commands/context.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try { await p; } catch (e) { return (e as { code?: string }).code; }
  return undefined;
}

describe('vault locations', () => {
  it('tell Azure URLs from folders and never show a query string or user info', () => {
    expect(isAzureLocation('https://acct.blob.core.windows.net/c')).toBe(true);
    expect(isAzureLocation('http://127.0.0.1:10000/devstoreaccount1/c')).toBe(true);
    expect(isAzureLocation('/mnt/vault')).toBe(false);
    expect(shownLocation('https://acct.blob.core.windows.net/c?sv=1&sig=SECRET')).toBe('https://acct.blob.core.windows.net/c');
    expect(shownLocation('https://user:pass@host/c')).toBe('https://host/c');
  });

  it('refuse unknown schemes and Entra ID over plain http, with coded errors', async () => {
    expect(await codeOf(openStore('ftp://host/vault'))).toBe('AZB_VAULT_LOCATION_UNSUPPORTED');
    expect(await codeOf(openStore('http://127.0.0.1:1/acct/c', { storageAuth: 'entra' }))).toBe('AZB_ARGS_INVALID');
  });

  it('need the tenant and app for Entra ID certificate sign-in', async () => {
    const saved = { ...process.env };
    try {
      process.env['AZBACKUP_STORAGE_CERTIFICATE'] = '/nonexistent.pem';
      delete process.env['AZURE_TENANT_ID'];
      delete process.env['AZURE_CLIENT_ID'];
      expect(await codeOf(openStore('https://acct.blob.core.windows.net/c', { storageAuth: 'entra' }))).toBe('AZB_STORAGE_CREDENTIAL_REQUIRED');
      process.env['AZURE_TENANT_ID'] = '00000000-0000-0000-0000-000000000000';
      process.env['AZURE_CLIENT_ID'] = '00000000-0000-0000-0000-000000000001';
      expect(await codeOf(openStore('https://acct.blob.core.windows.net/c', { storageAuth: 'entra' }))).toBe('AZB_FILE_NOT_FOUND');
    } finally {
      process.env = saved;
    }
  });

  it('explain Entra ID failures by their AADSTS code', () => {
    expect(entraHint('ClientCertificateCredential authentication failed: AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: ...]'))
      .toMatch(/not registered for the app in Entra ID.*az ad app credential reset/);
    expect(entraHint('AADSTS700016: Application with identifier ... was not found in the directory')).toMatch(/AZURE_CLIENT_ID/);
    expect(entraHint('AADSTS90002: Tenant ... not found')).toMatch(/AZURE_TENANT_ID/);
    expect(entraHint('CredentialUnavailableError: ManagedIdentityCredential: no managed identity endpoint')).toMatch(/managed identity/);
    expect(entraHint('403 AuthorizationPermissionMismatch')).toMatch(/Storage Blob Data Contributor/);
    expect(entraHint('something else entirely')).toBeUndefined();
  });
});
