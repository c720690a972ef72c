// The human and scripting command line (yargs). Each command maps its options onto the same args object
// that an rpc request carries, then goes through the same dispatcher.
import yargs, { type Argv } from 'yargs';
import { COMMANDS } from '../commands/index.js';
import { runCommand } from '../protocol/dispatch.js';
import { AzbError } from '../protocol/errors.js';
import { HumanSink, JsonSink, type EventSink } from '../protocol/events.js';
import { handleRequest, readStdin } from '../protocol/rpc.js';
import { readSecret } from './secrets.js';
import { versionLine } from '../commands/version.js';

interface GlobalOptions { json: boolean; debug: boolean; verbose: boolean }

function sinkFor(name: string, g: GlobalOptions): EventSink {
  return g.json ? new JsonSink() : new HumanSink(COMMANDS.get(name)?.human, g.verbose || g.debug);
}

async function run(name: string, args: Record<string, unknown>, g: GlobalOptions, secrets: Record<string, string> = {}): Promise<number> {
  const sink = sinkFor(name, g);
  return runCommand(COMMANDS.get(name)!, args, sink, { secrets, debug: g.debug });
}

/** Drops undefined values so optional args are absent, not null. */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function passwordOptions<T>(y: Argv<T>, what: string) {
  return y
    .option('password-file', { type: 'string', describe: `Read the ${what} password from this file (or set AZBACKUP_CERT_PASSWORD)` })
    .option('password-stdin', { type: 'boolean', describe: `Read the ${what} password from stdin` });
}

async function certPassword(a: { passwordFile?: string | undefined; passwordStdin?: boolean | undefined }): Promise<Record<string, string>> {
  const password = await readSecret({ envName: 'AZBACKUP_CERT_PASSWORD', file: a.passwordFile, stdin: a.passwordStdin, label: 'certificate password' });
  return password === undefined ? {} : { password };
}

/** Runs the CLI with the given arguments (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const globals = (a: Partial<GlobalOptions>): GlobalOptions => ({ json: a.json === true, debug: a.debug === true, verbose: a.verbose === true });

  const parser = yargs(argv)
    .scriptName('azbackup')
    .usage('$0 <command> [options]\n\nAzBackup engine: backs up files to a vault, encrypted with a passphrase that never leaves this machine.')
    .version(false)
    .option('json', { type: 'boolean', default: false, describe: 'Write NDJSON events instead of text' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Show log messages' })
    .option('debug', { type: 'boolean', default: false, describe: 'Show debug logs and stack traces of errors' })
    .option('version', { type: 'boolean', describe: 'Print engine and protocol version' })
    .command('version', 'Print engine and protocol version', (y) => y, async (a) => {
      exitCode = await run('version', {}, globals(a));
    })
    .command('cert', 'Create and check certificates', (y) => y
      .command('new', 'Create a self-signed client-authentication certificate (.cer + .pfx or PEM key)', (c) => passwordOptions(c
        .option('subject', { type: 'string', demandOption: true, describe: "Subject, e.g. 'CN=server01' or 'CN=server01, O=Contoso'" })
        .option('name', { type: 'string', describe: 'Base name of the files (default: from CN)' })
        .option('output-directory', { alias: 'o', type: 'string', describe: 'Directory for the files (default: current)' })
        .option('key-size', { type: 'number', describe: 'RSA key size: 2048 (default), 3072 or 4096' })
        .option('validity-days', { type: 'number', describe: 'Days the certificate is valid (default 365, at most 3 years)' })
        .option('key-format', { choices: ['pfx', 'pem'] as const, describe: 'Private key file: pfx (default, needs a password) or pem' })
        .option('force', { type: 'boolean', describe: 'Replace existing files of the same name' })
        .example("azbackup cert new --subject 'CN=srv01' --password-file ./pfx.pw", 'Create srv01.cer and srv01.pfx')
        .example("azbackup cert new --subject 'CN=srv01' --key-format pem -o /etc/azbackup", 'Create srv01.cer and srv01.key (mode 0600)'), 'pfx'),
      async (a) => {
        const secrets = await certPassword(a);
        exitCode = await run('cert.new', defined({
          subject: a.subject, name: a.name, outputDirectory: a.outputDirectory, keySize: a.keySize,
          validityDays: a.validityDays, keyFormat: a.keyFormat, force: a.force,
        }), globals(a), secrets);
      })
      .command('test <path>', 'Check a certificate file (.cer, .pem, .pfx) against every AzBackup requirement', (c) => passwordOptions(c
        .positional('path', { type: 'string', demandOption: true, describe: 'Certificate file' })
        .option('require-private-key', { type: 'boolean', describe: 'Fail unless the file holds the matching private key' })
        .example('azbackup cert test srv01.cer', 'Check the certificate you will upload to the vault')
        .epilogue('Exit code 0: every rule passed; 4: at least one rule failed; 1/2: the file could not be checked.'), '.pfx / encrypted key'),
      async (a) => {
        const secrets = await certPassword(a);
        exitCode = await run('cert.test', defined({ path: a.path, requirePrivateKey: a.requirePrivateKey }), globals(a), secrets);
      })
      .demandCommand(1, 'Name a cert command: new or test.'))
    .command('rpc', 'Read one JSON request on stdin and write NDJSON events on stdout (used by the PowerShell module)', (y) => y, async (a) => {
      exitCode = await handleRequest(await readStdin(), new JsonSink(), a.debug === true);
    })
    .demandCommand(1, 'Name a command.')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new AzbError('AZB_USAGE', msg, { hint: "Run 'azbackup --help' or 'azbackup <command> --help'." });
    });

  // `--version` answers before yargs parses anything: it is the cold-start path the module probes.
  const flags = new Set(argv);
  if (flags.has('--version') && argv.every((a) => a === '--version' || a === '--json')) {
    if (!flags.has('--json')) { process.stdout.write(versionLine() + '\n'); return 0; }
    return run('version', {}, globals({ json: true }));
  }
  try {
    await parser.parseAsync();
  } catch (err) {
    const e = err instanceof AzbError ? err : new AzbError('AZB_USAGE', (err as Error).message);
    const g = globals({ json: argv.includes('--json'), debug: argv.includes('--debug') });
    (g.json ? new JsonSink() : new HumanSink()).error(e, g.debug && err instanceof Error ? err.stack : undefined);
    return e.exitCode;
  }
  return exitCode;
}
