// Certificates that no longer meet the rules: an expired one signs no new recovery point (the backup
// fails, with what to do, and renewing the certificate gets the server going again), one close to expiry is warned about, and `vault certs` flags every
// certificate in the vault that breaks a rule.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onlyError, runEngine } from '../helpers/engine.js';
import { writeTestCertificate } from '../helpers/certs.js';
import { tempDir } from '../helpers/tmp.js';

/** A vault with a server registered with a certificate valid until `notAfter`, and a small source. */
async function serverWithCertificate(notAfter: Date) {
  const root = tempDir('azb-cert-');
  const env = { AZBACKUP_HOME: join(root, 'home'), AZBACKUP_CACHE: join(root, 'cache'), AZBACKUP_TEST_KDF: 'fast', AZBACKUP_PASSPHRASE: 'certificate test passphrase' };
  const az = (args: string[]) => runEngine([...args, '--json'], { env });
  const vault = join(root, 'vault');
  expect((await az(['vault', 'create', vault])).code).toBe(0);
  const cert = writeTestCertificate(root, 'srv-cert', { notAfter });
  const pw = join(root, 'pfx.pw');
  writeFileSync(pw, cert.password, { mode: 0o600 });
  expect((await az(['vault', 'add-cert', cert.cerPath, '--vault', vault])).code).toBe(0);
  const reg = await az(['register', '--vault', vault, '--certificate', cert.pfxPath, '--password-file', pw]);
  expect(reg.code, reg.stdout).toBe(0);
  const src = join(root, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'alpha');
  const thumbprint = createHash('sha1').update(readFileSync(cert.cerPath)).digest('hex').toUpperCase();
  return { root, vault, az, src, thumbprint, reg };
}

const pointCount = async (az: (args: string[]) => ReturnType<typeof runEngine>) => (await az(['points'])).events.filter((e) => e.type === 'item').length;

describe('the certificate that signs recovery points', () => {
  it('once expired, signs no new point: the backup fails with AZB_CERT_EXPIRED and how to go on', async () => {
    const notAfter = new Date(Math.ceil((Date.now() + 15_000) / 1000) * 1000);
    const s = await serverWithCertificate(notAfter);
    const before = await s.az(['backup', s.src]);
    expect(before.code, before.stdout).toBe(3); // a point, with the expiry warning
    expect(before.events.find((e) => e.type === 'warning' && e.code === 'AZB_CERT_EXPIRING')).toMatchObject({ target: s.thumbprint });
    await new Promise((r) => setTimeout(r, Math.max(0, notAfter.getTime() - Date.now() + 1500)));
    const after = await s.az(['backup', s.src]);
    const err = onlyError(after);
    expect(err).toMatchObject({ code: 'AZB_CERT_EXPIRED', category: 'SecurityError', target: s.thumbprint });
    expect(err.message).toContain(notAfter.toISOString());
    expect(err.hint).toMatch(/cert new/);
    expect(err.hint).toMatch(/vault add-cert/);
    expect(err.hint).toMatch(/server renew-cert/);
    expect(await pointCount(s.az)).toBe(1);
    const jobs = (await s.az(['jobs', '--previous', '1'])).events.filter((e) => e.type === 'item');
    expect(jobs).toEqual([expect.objectContaining({ data: expect.objectContaining({ operation: 'Backup', status: 'Failed' }) })]);
    // The hint's way on: a new certificate, uploaded, and the server moved to it; the expired one's point stays.
    const next = writeTestCertificate(s.root, 'srv-cert-next');
    writeFileSync(join(s.root, 'next.pw'), next.password, { mode: 0o600 });
    expect((await s.az(['vault', 'add-cert', next.cerPath, '--vault', s.vault])).code).toBe(0);
    const renewed = await s.az(['server', 'renew-cert', '--certificate', next.pfxPath, '--password-file', join(s.root, 'next.pw')]);
    expect(renewed.code, renewed.stdout).toBe(0);
    const again = await s.az(['backup', s.src]);
    expect(again.code, again.stdout).toBe(0);
    expect(await pointCount(s.az)).toBe(2);
  }, 90_000);

  it('warns 30 days before it expires, and not earlier: at registration and at every backup', async () => {
    const soon = await serverWithCertificate(new Date(Date.now() + 20 * 86_400_000));
    expect(soon.reg.events.find((e) => e.type === 'warning' && e.code === 'AZB_CERT_EXPIRING')).toMatchObject({ target: soon.thumbprint, message: expect.stringMatching(/in 19 days/) });
    const run = await soon.az(['backup', soon.src]);
    expect(run.code).toBe(3);
    const warning = run.events.find((e) => e.type === 'warning' && e.code === 'AZB_CERT_EXPIRING') as { message: string } | undefined;
    expect(warning?.message).toMatch(/in 19 days/);
    const later = await serverWithCertificate(new Date(Date.now() + 40 * 86_400_000));
    expect(later.reg.events.some((e) => e.type === 'warning' && e.code === 'AZB_CERT_EXPIRING')).toBe(false);
    const quiet = await later.az(['backup', later.src]);
    expect(quiet.code, quiet.stdout).toBe(0);
  }, 90_000);
});

describe('vault certs', () => {
  it('flags certificates in the vault that break the rules', async () => {
    const s = await serverWithCertificate(new Date(Date.now() + 365 * 86_400_000));
    // Put there by hand (add-cert refuses them): one expired, one without the Client Authentication EKU.
    const expired = writeTestCertificate(s.root, 'expired', { notBefore: new Date(Date.now() - 400 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    const noEku = writeTestCertificate(s.root, 'no-eku', { noEku: true });
    const thumbOf = (path: string) => createHash('sha1').update(readFileSync(path)).digest('hex').toUpperCase();
    for (const c of [expired, noEku]) writeFileSync(join(s.vault, 'certificates', `${thumbOf(c.cerPath)}.cer`), readFileSync(c.cerPath), { mode: 0o600 });
    const run = await s.az(['vault', 'certs', '--vault', s.vault]);
    expect(run.code).toBe(0);
    const items = run.events.filter((e) => e.type === 'item').map((e) => (e as unknown as { data: { thumbprint: string; compliant?: boolean; problems?: string[] } }).data);
    const byThumb = new Map(items.map((i) => [i.thumbprint, i]));
    expect(byThumb.get(s.thumbprint)).toMatchObject({ compliant: true, problems: [] });
    expect(byThumb.get(thumbOf(expired.cerPath))).toMatchObject({ compliant: false, problems: [expect.stringMatching(/^TimeValid: Expired on/)] });
    expect(byThumb.get(thumbOf(noEku.cerPath))).toMatchObject({ compliant: false, problems: [expect.stringMatching(/^ClientAuthenticationEku:/)] });
    const flagged = run.events.filter((e) => e.type === 'warning' && e.code === 'AZB_CERT_NOT_COMPLIANT').map((e) => (e as { target?: string }).target).sort();
    expect(flagged).toEqual([thumbOf(expired.cerPath), thumbOf(noEku.cerPath)].sort());
  }, 90_000);
});
