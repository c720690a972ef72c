// `source test`: whether paths can be backed up, one verdict each (core/source/eligibility.ts); the
// same check every backup and every policy save runs.
import { ExitCode } from '../protocol/errors.js';
import { readMounts } from '../source/mountinfo.js';
import { SOURCE_TIMEOUT_MS, testSource } from '../source/eligibility.js';
import { FsProbe } from '../source/probe.js';
import type { Command } from './command.js';

export interface SourceTestArgs { paths: string[]; timeoutSeconds?: number }

export const sourceTestCommand: Command<SourceTestArgs> = {
  name: 'source.test',
  argsSchema: 'azbackup:args.source.test',
  secrets: [],
  human: {
    item: (_k, d) => `${d['eligible'] ? ' OK  ' : 'NO   '} ${String(d['path'])}: ${String(d['message'])}${d['hint'] ? ` ${String(d['hint'])}` : ''}`,
  },
  async run(ctx, args) {
    const mounts = process.platform === 'win32' ? [] : await readMounts();
    const timeoutMs = args.timeoutSeconds !== undefined ? args.timeoutSeconds * 1000 : SOURCE_TIMEOUT_MS;
    const probe = new FsProbe(timeoutMs);
    let refused = 0;
    for (const path of args.paths) {
      const v = await testSource(path, { mounts, timeoutMs, probe });
      if (!v.eligible) refused++;
      // The st_dev is for the backup's own use, not part of the verdict shown.
      const { dev: _dev, ...shown } = v;
      ctx.sink.item('SourceVerdict', shown);
    }
    return refused > 0 ? ExitCode.NotCompliant : ExitCode.Ok;
  },
};
