// `cert test`: check a certificate file against every AzBackup requirement, one result per rule.
import { loadCertificateFile, subjectOf, thumbprintOf } from '../cert/load.js';
import { evaluateRules } from '../cert/rules.js';
import { ExitCode } from '../protocol/errors.js';
import type { Command } from './command.js';

export interface CertTestArgs { path: string; requirePrivateKey?: boolean }

export const certTestCommand: Command<CertTestArgs> = {
  name: 'cert.test',
  argsSchema: 'azbackup:args.cert.test',
  secrets: ['password'],
  human: {
    item: (_k, d) => `${d['passed'] ? (d['status'] === 'NotRequired' ? ' --  ' : ' OK  ') : 'FAIL '} ${String(d['rule']).padEnd(24)} ${String(d['detail'])}`,
    result: (_k, d) => (d['compliant'] ? `${d['path']}: meets every AzBackup requirement.` : `${d['path']}: does NOT meet: ${(d['failedRules'] as string[]).join(', ')}`),
  },
  async run(ctx, args) {
    const cert = await loadCertificateFile(args.path, ctx.secrets['password']);
    const thumbprint = thumbprintOf(cert.x509);
    const results = evaluateRules(cert.facts, args.requirePrivateKey === true);
    for (const r of results) ctx.sink.item('CertificateRule', { path: args.path, thumbprint, ...r });
    const failed = results.filter((r) => !r.passed).map((r) => r.rule);
    ctx.sink.result('CertificateTest', {
      path: args.path,
      thumbprint,
      subject: subjectOf(cert.x509),
      notBefore: cert.facts.notBefore.toISOString(),
      notAfter: cert.facts.notAfter.toISOString(),
      ...(cert.facts.keyBits !== undefined ? { keySize: cert.facts.keyBits } : {}),
      hasPrivateKey: cert.facts.hasPrivateKey,
      compliant: failed.length === 0,
      failedRules: failed,
    });
    return failed.length === 0 ? ExitCode.Ok : ExitCode.NotCompliant;
  },
};
