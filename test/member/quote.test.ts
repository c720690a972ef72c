// The quoting of remote arguments, against a real POSIX shell: the member's shell parses the line ssh
// sends, so every argument must come back from `sh -c` exactly as given, whatever it holds.
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteRemoteArgument, remoteCommandLine } from '../../core/member/ssh.js';

/** What sh makes of a command line: the words printf receives, NUL-terminated. */
function wordsAfterShell(args: readonly string[]): string[] {
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${remoteCommandLine(args)}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('remote argument quoting', () => {
  it('single-quotes each argument and writes an embedded quote as \'\\\'\'', () => {
    expect(quoteRemoteArgument('a b')).toBe("'a b'");
    expect(quoteRemoteArgument("it's")).toBe("'it'\\''s'");
    expect(quoteRemoteArgument('')).toBe("''");
  });

  it('gives sh back the very words, for shell syntax of every kind', () => {
    const tricky = ['a b', "it's", '"dq"', '$HOME', '${PATH}', 'x; echo pwned', '$(echo pwned)', '`echo pwned`', '*', '?', '[a]', '~', '', ' ', '\t', '\n', 'a\nb', '\\', "'", "''", '!', '#c', '&', '|', '>f', '<f', '(x)', '{a,b}', '--opt', '-e', 'ü✓'];
    expect(wordsAfterShell(tricky)).toEqual(tricky);
  });

  it('gives sh back any generated arguments unchanged', () => {
    // Any text without NUL (which no argument can hold), including quotes, backslashes and newlines.
    const arg = fc.string({ unit: fc.oneof(fc.constantFrom("'", '"', '\\', '$', '`', ' ', '\n', ';', '*', '!'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => !c.includes('\0'))), maxLength: 20 });
    fc.assert(fc.property(fc.array(arg, { minLength: 1, maxLength: 6 }), (args) => {
      expect(wordsAfterShell(args)).toEqual(args);
    }), { numRuns: 150, seed: 14 });
  });
});
