// An application dump from a member as the stream a stream backup reads (backup --member): the
// command's output over ssh. As a policy's command stream does, it ends with an error when the command
// or the connection fails, so the backup fails before it writes a point: a dump cut short must not
// pass as a whole one.
import { AzbError } from '../protocol/errors.js';
import { describeMember, type Member } from './members.js';
import { memberCommandFailed, runOnMember } from './ssh.js';

export function memberCommandStream(member: Member, argv: readonly string[], signal: AbortSignal, log: (line: string) => void): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      // Only the command's name: its arguments may hold what the admin would not want in a log.
      log(`Running '${argv[0]!}' (${argv.length - 1} argument${argv.length === 2 ? '' : 's'}) on member ${describeMember(member)} over ssh.`);
      const run = runOnMember(member, argv, { signal });
      let bytes = 0;
      try {
        for await (const chunk of run.stdout) {
          bytes += (chunk as Uint8Array).length;
          yield chunk as Uint8Array;
        }
      } finally {
        // A consumer that stops early (the backup failed elsewhere) must not leave ssh running.
        if (run.stdout.readable) run.stdout.destroy();
      }
      const end = await run.done;
      for (const l of end.stderrTail) log(`${member.name}: ${l}`);
      if (end.stopped) throw new AzbError('AZB_CANCELLED', `The backup was stopped while '${argv[0]!}' ran on member ${member.name}; no recovery point was written.`, { target: member.name, hint: 'Run the backup again when ready.' });
      if (end.connectionError) throw end.connectionError;
      if (end.status !== 0) throw memberCommandFailed(member, argv[0]!, end, ` after ${bytes} bytes of output; no recovery point was written`);
    },
  };
}
