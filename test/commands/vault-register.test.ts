// Vault creation, certificate upload and registration through the built engine, with their bad inputs.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, resultOf, runEngine } from '../helpers/engine.js';
import { writeTestCertificate } from '../helpers/certs.js';
import { tempDir } from '../helpers/tmp.js';
import { listTree, registeredServer } from '../helpers/vault-fixture.js';

function setup() {
  const root = tempDir('azb-reg-');
  const env = { AZBACKUP_HOME: join(root, 'home'), AZBACKUP_CACHE: join(root, 'cache'), AZBACKUP_TEST_KDF: 'fast', AZBACKUP_PASSPHRASE: 'a good long passphrase 1' };
  const az = (args: string[], extra: Record<string, string | undefined> = {}) => runEngine([...args, '--json'], { env: { ...env, ...extra } });
  return { root, env, az, vault: join(root, 'vault') };
}

describe('vault and registration', () => {
  it('creates a vault once, and refuses to create it again or open a folder that is not one', async () => {
    const { root, az, vault } = setup();
    const made = await az(['vault', 'create', vault]);
    expect(resultOf(made, 'Vault')).toMatchObject({ vault, formatVersion: 2 });
    expect(JSON.parse(readFileSync(join(vault, 'vault.json'), 'utf8'))).toMatchObject({ format: 'azbackup-vault', version: 2 });
    expect(onlyError(await az(['vault', 'create', vault])).code).toBe('AZB_VAULT_EXISTS');
    mkdirSync(join(root, 'plain'));
    expect(onlyError(await az(['vault', 'certs', '--vault', join(root, 'plain')])).code).toBe('AZB_VAULT_NOT_A_VAULT');
    expect(onlyError(await az(['vault', 'certs', '--vault', join(root, 'missing')])).code).toBe('AZB_VAULT_NOT_FOUND');
    expect(onlyError(await az(['vault', 'certs'])).code).toBe('AZB_VAULT_REQUIRED');
    mkdirSync(join(root, 'busy'));
    writeFileSync(join(root, 'busy', 'other.txt'), 'x');
    expect(onlyError(await az(['vault', 'create', join(root, 'busy')])).code).toBe('AZB_VAULT_FOLDER_NOT_EMPTY');
    expect(existsSync(join(root, 'busy', 'vault.json'))).toBe(false);
    const future = join(root, 'future');
    mkdirSync(future);
    writeFileSync(join(future, 'vault.json'), JSON.stringify({ format: 'azbackup-vault', version: 9, vaultId: 'ab'.repeat(16), created: '' }));
    expect(onlyError(await az(['vault', 'certs', '--vault', future])).code).toBe('AZB_VAULT_VERSION_UNSUPPORTED');
  });

  it('uploads only compliant certificates, only their public part, and lists them', async () => {
    const { root, az, vault } = setup();
    await az(['vault', 'create', vault]);
    const good = writeTestCertificate(root, 'good');
    const weak = writeTestCertificate(root, 'weak', { bits: 1024 });
    const added = await az(['vault', 'add-cert', good.pfxPath, '--vault', vault], { AZBACKUP_CERT_PASSWORD: good.password });
    expect(resultOf(added, 'VaultCertificate')).toMatchObject({ uploaded: true });
    const again = await az(['vault', 'add-cert', good.cerPath, '--vault', vault]);
    expect(resultOf(again, 'VaultCertificate')).toMatchObject({ uploaded: false });
    const stored = listTree(vault).filter((f) => f.startsWith('certificates/'));
    expect(stored).toHaveLength(1);
    expect(readFileSync(join(vault, stored[0]!.split(':')[0]!)).equals(readFileSync(good.cerPath))).toBe(true);
    expect(onlyError(await az(['vault', 'add-cert', weak.cerPath, '--vault', vault])).code).toBe('AZB_CERT_NOT_COMPLIANT');
    expect((await az(['vault', 'certs', '--vault', vault])).events.filter((e) => e.type === 'item')).toHaveLength(1);
  });

  it('registers with a generated passphrase saved to a private file, never echoed', async () => {
    const { root, az, vault } = setup();
    await az(['vault', 'create', vault]);
    const c = writeTestCertificate(root, 'srvgen');
    await az(['vault', 'add-cert', c.cerPath, '--vault', vault]);
    const out = join(root, 'passphrase.txt');
    const reg = await az(['register', '--vault', vault, '--certificate', c.pfxPath, '--generate-passphrase', '--passphrase-out', out], { AZBACKUP_CERT_PASSWORD: c.password, AZBACKUP_PASSPHRASE: undefined });
    expect(reg.code, reg.stdout).toBe(0);
    const pass = readFileSync(out, 'utf8').trim();
    expect(pass).toMatch(/^([A-Z2-9]{5}-){5}[A-Z2-9]{5}$/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(reg.stdout).not.toContain(pass);
    expect(reg.events.some((e) => e.type === 'warning' && /cannot be recovered/.test(e.message))).toBe(true);
    expect(resultOf(reg, 'Registration')).toMatchObject({ passphraseFile: out });
    // The generated passphrase opens the namespace.
    expect((await az(['points', '--vault', vault], { AZBACKUP_PASSPHRASE: pass })).code).toBe(0);
  });

  it.each([
    ['a passphrase under 16 characters', { AZBACKUP_PASSPHRASE: 'short pass' }, 'AZB_PASSPHRASE_TOO_SHORT', true],
    ['no passphrase', { AZBACKUP_PASSPHRASE: undefined }, 'AZB_PASSPHRASE_REQUIRED', true],
    ['a certificate not uploaded', {}, 'AZB_CERT_NOT_IN_VAULT', false],
    ['a .cer without private key', {}, 'AZB_CERT_PRIVATE_KEY_REQUIRED', true],
  ])('refuses registration with %s and writes nothing', async (what, extra, code, upload) => {
    const { root, az, vault } = setup();
    await az(['vault', 'create', vault]);
    const c = writeTestCertificate(root, 'srvbad');
    if (upload) await az(['vault', 'add-cert', c.cerPath, '--vault', vault]);
    const before = listTree(vault);
    const certArg = what.includes('.cer') ? c.cerPath : c.pfxPath;
    const run = await az(['register', '--vault', vault, '--certificate', certArg], { AZBACKUP_CERT_PASSWORD: c.password, ...extra });
    expect(onlyError(run).code).toBe(code);
    expect(listTree(vault)).toEqual(before);
    expect(existsSync(join(root, 'home', 'registrations'))).toBe(false);
  });

  it('says what is wrong with a passphrase file it cannot create, and writes nothing', async () => {
    const { root, az, vault } = setup();
    await az(['vault', 'create', vault]);
    const c = writeTestCertificate(root, 'srvfile');
    await az(['vault', 'add-cert', c.cerPath, '--vault', vault]);
    const taken = join(root, 'taken.txt');
    writeFileSync(taken, 'keep me');
    const before = listTree(vault);
    const exists = onlyError(await az(['register', '--vault', vault, '--certificate', c.pfxPath, '--generate-passphrase', '--passphrase-out', taken], { AZBACKUP_CERT_PASSWORD: c.password, AZBACKUP_PASSPHRASE: undefined }));
    expect(exists).toMatchObject({ code: 'AZB_FILE_EXISTS', hint: 'Give the name of a new file.' });
    expect(readFileSync(taken, 'utf8')).toBe('keep me');
    const noFolder = onlyError(await az(['register', '--vault', vault, '--certificate', c.pfxPath, '--generate-passphrase', '--passphrase-out', join(root, 'no-such', 'p.txt')], { AZBACKUP_CERT_PASSWORD: c.password, AZBACKUP_PASSPHRASE: undefined }));
    expect(noFolder).toMatchObject({ code: 'AZB_DIRECTORY_NOT_FOUND', target: join(root, 'no-such') });
    expect(listTree(vault)).toEqual(before);
  });

  it('warns when another server of the vault already has the host name being registered', async () => {
    const { root, az, vault } = setup();
    await az(['vault', 'create', vault]);
    const c = writeTestCertificate(root, 'srvtwin');
    await az(['vault', 'add-cert', c.cerPath, '--vault', vault]);
    const first = await az(['register', '--vault', vault, '--certificate', c.pfxPath, '--hostname', 'twin'], { AZBACKUP_CERT_PASSWORD: c.password });
    expect(first.events.some((e) => e.type === 'warning' && e.code === 'AZB_HOSTNAME_IN_USE')).toBe(false);
    const second = await az(['register', '--vault', vault, '--certificate', c.pfxPath, '--hostname', 'TWIN'], { AZBACKUP_CERT_PASSWORD: c.password, AZBACKUP_HOME: join(root, 'home2') });
    expect(second.code, second.stdout).toBe(0);
    expect(second.events.find((e) => e.type === 'warning' && e.code === 'AZB_HOSTNAME_IN_USE')).toMatchObject({ target: 'TWIN' });
  });

  it('refuses a second registration of the same server, and commands from an unregistered server', async () => {
    const fx = await registeredServer();
    const again = await fx.az(['register', '--vault', fx.vault, '--certificate', join(fx.root, 'srv01.pfx'), '--password-file', join(fx.root, 'pfx.pw')]);
    expect(onlyError(again).code).toBe('AZB_SERVER_ALREADY_REGISTERED');
    const stranger = setup();
    const src = join(stranger.root, 'src');
    mkdirSync(src);
    expect(onlyError(await stranger.az(['backup', src, '--vault', fx.vault])).code).toBe('AZB_SERVER_NOT_REGISTERED');
    const servers = (await fx.az(['servers'])).events.filter((e) => e.type === 'item');
    expect(servers).toHaveLength(1);
    expect((servers[0] as unknown as { data: Record<string, unknown> }).data).toMatchObject({ hostname: 'srv01', proofValid: true, thisServer: true });
    // Every field of the server record is covered by the registration proof.
    const recordFile = listTree(fx.vault).map((l) => l.split(':')[0]!).find((n) => n.endsWith('server.json'))!;
    const record = JSON.parse(readFileSync(join(fx.vault, recordFile), 'utf8'));
    writeFileSync(join(fx.vault, recordFile), JSON.stringify({ ...record, hostname: 'impostor' }));
    const after = (await fx.az(['servers'])).events.filter((e) => e.type === 'item');
    expect((after[0] as unknown as { data: Record<string, unknown> }).data).toMatchObject({ hostname: 'impostor', proofValid: false });
  });

  it('refuses an ambiguous --server and an unknown one', async () => {
    const fx = await registeredServer({ hostname: 'twin' });
    await registeredServer({ hostname: 'twin', vault: fx.vault });
    expect(onlyError(await fx.az(['points', '--server', 'twin'])).code).toBe('AZB_SERVER_AMBIGUOUS');
    expect(onlyError(await fx.az(['points', '--server', 'nobody'])).code).toBe('AZB_SERVER_NOT_FOUND');
  });

  it('changes the passphrase: the old one stops working, data stays readable', async () => {
    const fx = await registeredServer();
    const src = join(fx.root, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'kept');
    await fx.az(['backup', src]);
    const newFile = join(fx.root, 'new.pw');
    writeFileSync(newFile, 'the brand new passphrase 2026\n', { mode: 0o600 });
    expect(onlyError(await fx.az(['passphrase', 'set', '--new-passphrase-file', newFile], { env: { AZBACKUP_PASSPHRASE: 'wrong wrong wrong wrong' } })).code).toBe('AZB_PASSPHRASE_WRONG');
    const short = join(fx.root, 'short.pw');
    writeFileSync(short, 'tiny', { mode: 0o600 });
    expect(onlyError(await fx.az(['passphrase', 'set', '--new-passphrase-file', short])).code).toBe('AZB_PASSPHRASE_TOO_SHORT');
    expect((await fx.az(['passphrase', 'set', '--new-passphrase-file', newFile])).code).toBe(0);
    expect(onlyError(await fx.az(['points'])).code).toBe('AZB_PASSPHRASE_WRONG');
    const r = await fx.az(['restore', 'latest', '--target', join(fx.root, 'r')], { env: { AZBACKUP_PASSPHRASE: 'the brand new passphrase 2026' } });
    expect(r.code, r.stdout).toBe(0);
    expect(readFileSync(join(fx.root, 'r', src, 'a.txt'), 'utf8')).toBe('kept');
  });
});
