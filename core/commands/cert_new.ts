// `cert new`: create the certificate that a server uploads to a vault and registers with.
import { newCertificate } from '../cert/create.js';
import { formatProperties } from '../protocol/events.js';
import type { Command } from './command.js';

export interface CertNewArgs {
  subject: string; name?: string; outputDirectory?: string; keySize?: number;
  validityDays?: number; keyFormat?: 'pfx' | 'pem'; force?: boolean;
}

export const certNewCommand: Command<CertNewArgs> = {
  name: 'cert.new',
  argsSchema: 'azbackup:args.cert.new',
  secrets: ['password'],
  human: { result: (_k, data) => formatProperties(data) },
  async run(ctx, args) {
    const result = await newCertificate({ ...args, password: ctx.secrets['password'] }, (status, percent) =>
      ctx.sink.progress('New certificate', status, percent));
    ctx.sink.log(`Wrote ${result.certificatePath} and ${result.privateKeyPath}`);
    if (result.privateKeyFormat === 'pem' && !ctx.secrets['password']) {
      ctx.sink.warning('AZB_CERT_KEY_UNENCRYPTED', `The private key ${result.privateKeyPath} is not encrypted; it is readable by its owner only. Keep it safe or give a password.`, result.privateKeyPath);
    }
    ctx.sink.result('Certificate', { ...result });
    return ctx.sink.warnings > 0 ? 3 : 0;
  },
};
