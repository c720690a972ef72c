// Microsoft Entra ID sign-in to an Azure Blob vault with the server's own certificate
// (AZBACKUP_STORAGE_AUTH=entra), end to end through the real @azure/identity and MSAL code: a loopback
// stand-in for Entra ID (test/helpers/entra-authority.ts) checks the certificate assertions and issues
// tokens; Azurite in OAuth mode, over HTTPS, accepts them. Nothing leaves 127.0.0.1.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, resultOf, runEngine } from '../helpers/engine.js';
import { startAzurite, type AzuriteServer } from '../helpers/azurite.js';
import { startEntraAuthority, startManagedIdentityEndpoint, writeLoopbackTls, type EntraAuthority } from '../helpers/entra-authority.js';
import { describeTree } from '../helpers/data-tree.js';
import { tempDir } from '../helpers/tmp.js';

let azurite: AzuriteServer;
let authority: EntraAuthority;
let tlsCert = '';
const tlsDir = tempDir('azb-tls-');
beforeAll(async () => {
  const tls = writeLoopbackTls(tlsDir);
  tlsCert = tls.certPath;
  azurite = await startAzurite({ tls });
  authority = await startEntraAuthority(tls);
}, 180_000); // Azurite starts slowly on a busy machine
afterAll(async () => {
  await authority?.close();
  await azurite?.stop();
});

/** A server with its own certificate (pfx) and the environment for Entra ID sign-in with it. */
async function entraServer(o: { registerInEntra: boolean; clientId?: string }) {
  const root = tempDir('azb-entra-');
  const pw = join(root, 'pfx.pw');
  writeFileSync(pw, 'entra-pfx-password', { mode: 0o600 });
  const made = await runEngine(['cert', 'new', '--subject', 'CN=srv-entra', '-o', root, '--password-file', pw, '--json']);
  expect(made.code, made.stdout).toBe(0);
  const clientId = o.clientId ?? randomUUID();
  if (o.registerInEntra) authority.registerApp(clientId, readFileSync(join(root, 'srv-entra.cer')));
  const env: Record<string, string> = {
    AZBACKUP_HOME: join(root, 'home'), AZBACKUP_CACHE: join(root, 'cache'), AZBACKUP_TEST_KDF: 'fast', AZBACKUP_PASSPHRASE: 'entra passphrase 1234567',
    AZBACKUP_STORAGE_AUTH: 'entra', AZBACKUP_STORAGE_CERTIFICATE: join(root, 'srv-entra.pfx'), AZBACKUP_STORAGE_CERTIFICATE_PASSWORD: 'entra-pfx-password',
    AZURE_TENANT_ID: authority.tenantId, AZURE_CLIENT_ID: clientId, AZURE_AUTHORITY_HOST: authority.host,
    // The loopback TLS certificate of the authority and of Azurite, trusted like an enterprise CA.
    NODE_EXTRA_CA_CERTS: tlsCert,
  };
  const az = (args: string[]) => runEngine([...args, '--json'], { env });
  return { root, pw, env, az, clientId, vault: `${azurite.blobEndpoint}/vault-${randomUUID().slice(0, 8)}` };
}

describe('Entra ID sign-in with the server certificate', () => {
  it('creates the vault, registers, backs up and restores with tokens from Entra ID, never a storage key', async () => {
    const s = await entraServer({ registerInEntra: true });
    const before = authority.requests.length;
    const created = await s.az(['vault', 'create', s.vault]);
    expect(created.code, created.stdout).toBe(0);
    expect((await s.az(['vault', 'add-cert', join(s.root, 'srv-entra.cer'), '--vault', s.vault])).code).toBe(0);
    const reg = await runEngine(['register', '--vault', s.vault, '--certificate', join(s.root, 'srv-entra.pfx'), '--password-file', s.pw, '--json'], { env: s.env });
    expect(reg.code, reg.stdout).toBe(0);
    const src = join(s.root, 'src');
    mkdirSync(join(src, 'd'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'signed in with a certificate');
    writeFileSync(join(src, 'd', 'b.bin'), Buffer.alloc(300_000, 7));
    const backup = await s.az(['backup', src]);
    expect(backup.code, backup.stdout.slice(-400)).toBe(0);
    const target = join(s.root, 'restored');
    expect((await s.az(['restore', 'latest', '--target', target])).code).toBe(0);
    expect(describeTree(join(target, src))).toEqual(describeTree(src));
    // Every command signed in at the authority with a certificate assertion it accepted, and asked only
    // the metadata and token endpoints: no instance discovery, no other host.
    const mine = authority.requests.slice(before);
    expect(mine.filter((r) => r.outcome.startsWith('token for https://storage.azure.com')).length).toBeGreaterThanOrEqual(5);
    expect(mine.every((r) => r.outcome === 'metadata' || r.outcome.startsWith('token for'))).toBe(true);
    for (const r of [created, reg, backup]) expect(r.stdout + r.stderr).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}|entra-pfx-password/);
  }, 120_000);

  it('explains what the admin must do when the certificate is not registered for the app in Entra ID', async () => {
    const s = await entraServer({ registerInEntra: false });
    authority.registerApp(s.clientId); // the app exists, without this certificate
    const run = await s.az(['vault', 'create', s.vault]);
    const err = onlyError(run);
    expect(err).toMatchObject({ code: 'AZB_STORAGE_AUTH_FAILED', category: 'AuthenticationError' });
    expect(err.message).toContain('AADSTS700027');
    expect(String(err.hint)).toMatch(/upload this server's \.cer to the app registration/);
    // One refused sign-in is final: no retry storm against the sign-in service.
    const refused = authority.requests.filter((r) => r.clientId === s.clientId && r.outcome === 'assertion refused');
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThanOrEqual(2);
  }, 60_000);

  it('signs in with a managed identity (DefaultAzureCredential) when no certificate is named', async () => {
    const mi = await startManagedIdentityEndpoint();
    try {
      const root = tempDir('azb-entra-mi-');
      const env: Record<string, string | undefined> = {
        AZBACKUP_HOME: join(root, 'home'), AZBACKUP_CACHE: join(root, 'cache'), AZBACKUP_TEST_KDF: 'fast', AZBACKUP_PASSPHRASE: 'entra passphrase 1234567',
        AZBACKUP_STORAGE_AUTH: 'entra', NODE_EXTRA_CA_CERTS: tlsCert,
        // What App Service gives an app with a managed identity.
        IDENTITY_ENDPOINT: mi.endpoint, IDENTITY_HEADER: mi.header,
        AZURE_TENANT_ID: undefined, AZURE_CLIENT_ID: undefined, AZURE_CLIENT_SECRET: undefined, AZURE_AUTHORITY_HOST: undefined,
      };
      const vault = `${azurite.blobEndpoint}/vault-mi-${randomUUID().slice(0, 8)}`;
      const created = await runEngine(['vault', 'create', vault, '--json'], { env });
      expect(created.code, created.stdout).toBe(0);
      expect(resultOf(created, 'Vault')).toMatchObject({ vault });
      expect(mi.requests.length).toBeGreaterThan(0);
      expect(mi.requests.every((r) => r.headerOk && r.resource === 'https://storage.azure.com')).toBe(true);
      expect(created.stdout + created.stderr).not.toContain(mi.header);
    } finally {
      await mi.close();
    }
  }, 60_000);

  it('names a wrong app (client) ID, and a certificate without its key', async () => {
    const s = await entraServer({ registerInEntra: false });
    const err = onlyError(await s.az(['vault', 'create', s.vault]));
    expect(err.code).toBe('AZB_STORAGE_AUTH_FAILED');
    expect(String(err.hint)).toMatch(/AZURE_CLIENT_ID/);
    const noKey = await runEngine(['vault', 'create', s.vault, '--json'], { env: { ...s.env, AZBACKUP_STORAGE_CERTIFICATE: join(s.root, 'srv-entra.cer') } });
    expect(onlyError(noKey).code).toBe('AZB_CERT_PRIVATE_KEY_REQUIRED');
    const httpUrl = await runEngine(['points', '--vault', s.vault.replace('https:', 'http:'), '--json'], { env: s.env });
    expect(onlyError(httpUrl).code).toBe('AZB_ARGS_INVALID');
    for (const host of ['not a url', 'http://127.0.0.1:9']) {
      const bad = onlyError(await runEngine(['vault', 'create', s.vault, '--json'], { env: { ...s.env, AZURE_AUTHORITY_HOST: host } }));
      expect(bad).toMatchObject({ code: 'AZB_ARGS_INVALID', target: 'AZURE_AUTHORITY_HOST' });
    }
    // A sign-in service that does not answer: a coded error that says so.
    const down = onlyError(await runEngine(['vault', 'create', s.vault, '--json'], { env: { ...s.env, AZURE_AUTHORITY_HOST: 'https://127.0.0.1:9' } }));
    expect(down).toMatchObject({ code: 'AZB_STORAGE_AUTH_FAILED', message: expect.stringMatching(/cannot be reached/) });
    expect(String(down.hint)).toMatch(/cannot be reached/);
  }, 60_000);
});
