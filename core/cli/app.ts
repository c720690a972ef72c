// The human and scripting command line (yargs). Each command maps its options onto the same args object
// that an rpc request carries, then goes through the same dispatcher.
import yargs, { type Argv } from 'yargs';
import { loadCommand } from '../commands/index.js';
import { processSignal, runCommand } from '../protocol/dispatch.js';
import { AzbError } from '../protocol/errors.js';
import { HumanSink, JsonSink, type EventSink, type HumanFormat } from '../protocol/events.js';
import { handleRequest, readRequest } from '../protocol/rpc.js';
import { readSecret } from './secrets.js';
import { versionLine } from '../commands/version.js';
import { DEFAULT_HOOK_TIMEOUT_SECONDS, type HookCommand } from '../backup/hooks.js';

interface GlobalOptions { json: boolean; debug: boolean; verbose: boolean }

function sinkFor(human: HumanFormat | undefined, g: GlobalOptions, toStderr = false): EventSink {
  // When stdout carries data (restore --to-tar -), every event goes to stderr.
  const err = (s: string) => process.stderr.write(s);
  if (toStderr) return g.json ? new JsonSink(err) : new HumanSink(human, g.verbose || g.debug, err, err);
  return g.json ? new JsonSink() : new HumanSink(human, g.verbose || g.debug);
}

const signal = processSignal();

async function run(name: string, args: Record<string, unknown>, g: GlobalOptions, secrets: Record<string, string> = {}, stdin?: AsyncIterable<Uint8Array>, dataOut?: NodeJS.WriteStream): Promise<number> {
  const command = await loadCommand(name);
  if (!command) throw new Error(`the CLI maps to an unknown command '${name}'`);
  const sink = sinkFor(command.human, g, dataOut !== undefined);
  return runCommand(command, args, sink, { secrets, debug: g.debug, signal, ...(stdin ? { stdin } : {}), ...(dataOut ? { dataOut } : {}) });
}

interface VaultOptions { vault?: string | undefined; server?: string | undefined; cacheDir?: string | undefined; passphraseFile?: string | undefined; passphraseStdin?: boolean | undefined }

function vaultArgs(a: VaultOptions): Record<string, unknown> {
  return defined({ vault: a.vault, server: a.server, cacheDir: a.cacheDir });
}

/** --pre-command / --post-command with their arguments and time-out, as the request carries them. */
function hookOption(phase: 'pre' | 'post', command: string | undefined, args: (string | number)[] | undefined, timeout: number | undefined): HookCommand | undefined {
  if (command === undefined) {
    if (args !== undefined || timeout !== undefined) throw new AzbError('AZB_USAGE', `--${phase}-arg and --${phase}-timeout need --${phase}-command.`, { hint: `Example: --${phase}-command /usr/local/bin/app-${phase === 'pre' ? 'quiesce' : 'resume'} --${phase}-arg mydb` });
    return undefined;
  }
  return { command, ...(args ? { arguments: args.map(String) } : {}), ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}) };
}

/** The passphrase from AZBACKUP_PASSPHRASE, --passphrase-file or --passphrase-stdin (not when stdin carries data). */
async function passphrase(a: VaultOptions, stdinIsData = false): Promise<Record<string, string>> {
  if (stdinIsData && a.passphraseStdin) throw new AzbError('AZB_SECRET_SOURCE', 'stdin carries the data to back up; the passphrase cannot come from stdin too.', { hint: 'Use AZBACKUP_PASSPHRASE or --passphrase-file.' });
  const p = await readSecret({ envName: 'AZBACKUP_PASSPHRASE', file: a.passphraseFile, stdin: a.passphraseStdin, label: 'passphrase' });
  return p === undefined ? {} : { passphrase: p };
}

/** "2MB" → 2097152; plain numbers are bytes per second. */
function parseRate(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|K|MB|M|GB|G)?(?:\/s)?$/i.exec(text.trim());
  if (!m) throw new AzbError('AZB_USAGE', `--${option} '${text}' is not a rate.`, { hint: 'Give bytes per second, or a number with KB, MB or GB (per second), e.g. 2MB.' });
  const unit = (m[2] ?? 'B').toUpperCase()[0]!;
  return Math.round(Number(m[1]) * ({ B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[unit]!);
}

/** "500MB" → 524288000; plain numbers are bytes. */
function parseSize(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|K|MB|M|GB|G|TB|T)?$/i.exec(text.trim());
  if (!m) throw new AzbError('AZB_USAGE', `--${option} '${text}' is not a size.`, { hint: 'Give bytes, or a number with KB, MB, GB or TB, e.g. 2GB.' });
  const unit = (m[2] ?? 'B').toUpperCase()[0]!;
  return Math.round(Number(m[1]) * ({ B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 } as Record<string, number>)[unit]!);
}

/** --snapshot auto|required|none (any case) → the request's Auto|Required|None. */
function snapshotModeArg(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const mode = ['Auto', 'Required', 'None'].find((m) => m.toLowerCase() === text.trim().toLowerCase());
  if (!mode) throw new AzbError('AZB_USAGE', `--snapshot '${text}' is not auto, required or none.`, { hint: 'auto (default): a snapshot where one can be made, else live reads; required: fail without one; none: live reads.' });
  return mode;
}

/** --read-from SOURCE=PATH (split at the last '='; paths may hold '='). */
function readFromArg(text: string): { source: string; path: string } {
  const at = text.lastIndexOf('=');
  if (at <= 0 || at === text.length - 1) throw new AzbError('AZB_USAGE', `--read-from '${text}' is not SOURCE=PATH.`, { hint: 'Example: --read-from /srv/data=/mnt/snap/srv/data' });
  return { source: text.slice(0, at), path: text.slice(at + 1) };
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

/** Global options that take a value as the next word (`--vault V`). */
const GLOBAL_VALUE_OPTIONS = new Set(['--vault', '--server', '--cache-dir', '--passphrase-file']);

/**
 * `ls` and `restore` take the point first, as `ls <point>` or as `--point <point>` (both spellings are
 * documented). yargs would hand the first path to a positional named like the option, so the option is
 * moved into the positional's place before parsing.
 */
export function pointOptionAsPositional(argv: string[]): string[] {
  // The command is the first word that is not an option nor the value of a global option before it.
  let command = -1;
  for (let i = 0; i < argv.length; i++) {
    if (GLOBAL_VALUE_OPTIONS.has(argv[i]!)) { i++; continue; }
    if (!argv[i]!.startsWith('-')) { command = i; break; }
  }
  if (command < 0 || (argv[command] !== 'ls' && argv[command] !== 'restore')) return argv;
  const at = argv.findIndex((a, i) => i > command && (a === '--point' || a.startsWith('--point=')));
  if (at < 0) return argv;
  const inline = argv[at]!.startsWith('--point=');
  const value = inline ? argv[at]!.slice('--point='.length) : argv[at + 1];
  if (value === undefined) return argv; // yargs reports the missing point
  const rest = argv.filter((_, i) => i !== at && (inline || i !== at + 1));
  return [...rest.slice(0, command + 1), value, ...rest.slice(command + 1)];
}

/** A policy file given to `policy set`. */
async function readPolicyFile(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const { fileError } = await import('../protocol/errors.js');
    throw fileError(err, path, 'Policy file');
  }
}

/** The JSON instance DSC writes on stdin (empty: no properties). Never echoed: only the position of a JSON error. */
async function readDscInstance(): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1024 * 1024) throw new AzbError('AZB_REQUEST_TOO_LARGE', 'The instance on stdin is larger than 1 MiB.', { hint: 'Send one JSON object with the resource\'s properties.' });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    const pos = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new AzbError('AZB_REQUEST_INVALID_JSON', `The instance on stdin is not valid JSON${pos ? ` (at position ${pos})` : ''}.`, { hint: 'Send one JSON object with the resource\'s properties, e.g. {"uploadConcurrency": 8}.' });
  }
}

/** Runs the CLI with the given arguments (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  // yargs reads the '-' of "--to-tar -" as a positional, not the option's value.
  argv = pointOptionAsPositional(argv).flatMap((x, i, all) => (x === '-' && all[i - 1] === '--to-tar' ? [] : x === '--to-tar' && all[i + 1] === '-' ? ['--to-tar=-'] : [x]));
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
    .option('vault', { type: 'string', describe: 'Vault location (default: the vault this server is registered with)' })
    .option('server', { type: 'string', describe: "Work on another server's namespace (ID or host name)" })
    .option('cache-dir', { type: 'string', describe: 'Cache location (default: AZBACKUP_CACHE or <home>/cache)' })
    .option('passphrase-file', { type: 'string', describe: 'Read the passphrase from this file (or set AZBACKUP_PASSPHRASE)' })
    .option('passphrase-stdin', { type: 'boolean', describe: 'Read the passphrase from stdin' })
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
    .command('vault', 'Create a vault and manage its certificates', (y) => y
      .command('create [path]', 'Create a new vault in an empty folder', (c) => c
        .positional('path', { type: 'string', describe: 'Folder of the new vault (or --vault)' })
        .example('azbackup vault create /mnt/backup/vault', 'Create a vault on a mounted disk'),
      async (a) => {
        const vault = a.path ?? a.vault;
        if (!vault) throw new AzbError('AZB_VAULT_REQUIRED', 'Give the folder of the new vault.', { hint: 'azbackup vault create /path/to/vault' });
        exitCode = await run('vault.create', { vault }, globals(a));
      })
      .command('add-cert <path>', 'Upload a certificate (.cer, or the public part of a .pem/.pfx) to the vault', (c) => passwordOptions(c
        .positional('path', { type: 'string', demandOption: true, describe: 'Certificate file' })
        .example('azbackup vault add-cert srv01.cer --vault /mnt/backup/vault', 'Allow the holder of srv01.pfx to register'), '.pfx'),
      async (a) => {
        exitCode = await run('vault.add-cert', defined({ ...vaultArgs(a), path: a.path }), globals(a), await certPassword(a));
      })
      .command('certs', 'List the certificates uploaded to the vault', (c) => c, async (a) => {
        exitCode = await run('vault.certs', vaultArgs(a), globals(a));
      })
      .command('remove-cert <thumbprint>', 'Remove an uploaded certificate that no server is registered with', (c) => c
        .positional('thumbprint', { type: 'string', demandOption: true, describe: 'SHA-1 thumbprint (40 hex digits), as vault certs shows it' }),
      async (a) => {
        exitCode = await run('vault.remove-cert', { ...vaultArgs(a), thumbprint: a.thumbprint }, globals(a));
      })
      .demandCommand(1, 'Name a vault command: create, add-cert, certs or remove-cert.'))
    .command('servers', 'List the servers registered in the vault', (y) => y, async (a) => {
      exitCode = await run('servers', vaultArgs(a), globals(a));
    })
    .command('server', 'Manage this server\'s registration', (y) => y
      .command('unregister', 'This server leaves the vault: its registration, policies, stored passphrase and cache go; its points stay unless --delete-backup', (c) => c
        .option('delete-backup', { type: 'boolean', describe: 'Also delete every recovery point of this server (recoverable for 14 days with --server <ID> and the passphrase)' })
        .option('dry-run', { type: 'boolean', describe: 'Only say what would be removed' })
        .example('azbackup server unregister --dry-run', 'Show how many points and which policies unregistering would touch'),
      async (a) => {
        if (a.server) throw new AzbError('AZB_USAGE', 'A server unregisters itself only; --server cannot be given.', { hint: 'Run server unregister on the server that is to leave the vault.' });
        exitCode = await run('server.unregister', defined({ vault: a.vault, cacheDir: a.cacheDir, deleteBackup: a.deleteBackup, whatIf: a.dryRun }), globals(a), await passphrase(a));
      })
      .command('renew-cert', 'Move this server to a new certificate (uploaded first); its points and passphrase stay', (c) => passwordOptions(c
        .option('certificate', { type: 'string', demandOption: true, describe: 'The new certificate: .pfx, or PEM with the private key' })
        .example('azbackup server renew-cert --certificate srv01-2027.pfx --password-file pfx.pw', 'Sign from now on with srv01-2027; then remove the old certificate with vault remove-cert'), '.pfx'),
      async (a) => {
        if (a.server) throw new AzbError('AZB_USAGE', 'A server renews its own certificate only; --server cannot be given.', { hint: 'Run server renew-cert on the server whose certificate it is.' });
        exitCode = await run('server.renew-cert', defined({ vault: a.vault, cacheDir: a.cacheDir, certificate: a.certificate }), globals(a), { ...(await certPassword(a)), ...(await passphrase(a)) });
      })
      .demandCommand(1, 'Name a server command: unregister or renew-cert.'))
    .command('register', 'Register this server with the vault: prove the certificate key, create its namespace', (y) => passwordOptions(y
      .option('certificate', { type: 'string', demandOption: true, describe: 'The .pfx or PEM file with the private key of an uploaded certificate' })
      .option('hostname', { type: 'string', describe: 'Name of this server in the vault (default: host name)' })
      .option('generate-passphrase', { type: 'boolean', describe: 'Generate a strong passphrase and save it in --passphrase-out' })
      .option('passphrase-out', { type: 'string', describe: 'New file (mode 0600) that receives the generated passphrase' })
      .example('azbackup register --vault /mnt/v --certificate srv01.pfx --password-file pfx.pw --passphrase-file pass.txt', 'Register with a passphrase you chose')
      .example('azbackup register --vault /mnt/v --certificate srv01.pfx --password-file pfx.pw --generate-passphrase --passphrase-out /root/azbackup-passphrase.txt', 'Register with a generated passphrase'), '.pfx'),
    async (a) => {
      const secrets = { ...(await certPassword(a)), ...(a.generatePassphrase ? {} : await passphrase(a)) };
      exitCode = await run('register', defined({ ...vaultArgs(a), certificate: a.certificate, hostname: a.hostname, generatePassphrase: a.generatePassphrase, passphraseFile: a.passphraseOut }), globals(a), secrets);
    })
    .command('passphrase', 'Change the passphrase of a server', (y) => y
      .command('set', 'Set a new passphrase (old one from AZBACKUP_PASSPHRASE / --passphrase-file)', (c) => c
        .option('new-passphrase-file', { type: 'string', describe: 'File with the new passphrase (or AZBACKUP_NEW_PASSPHRASE)' })
        .option('update-stored', { type: 'boolean', describe: 'Also update the passphrase stored for unattended policy runs' })
        .option('generate-passphrase', { type: 'boolean', describe: 'Generate a strong new passphrase and save it in --passphrase-out' })
        .option('passphrase-out', { type: 'string', describe: 'New file (mode 0600) that receives the generated passphrase' }),
      async (a) => {
        const next = a.generatePassphrase ? undefined : await readSecret({ envName: 'AZBACKUP_NEW_PASSPHRASE', file: a.newPassphraseFile, label: 'new passphrase' });
        exitCode = await run('passphrase.set', defined({ ...vaultArgs(a), updateStored: a.updateStored, generatePassphrase: a.generatePassphrase, passphraseFile: a.passphraseOut }), globals(a), { ...(await passphrase(a)), ...(next ? { newPassphrase: next } : {}) });
      })
      .demandCommand(1, 'Name a passphrase command: set.'))
    .command('backup [paths..]', 'Back up files and folders (or stdin) into a new recovery point', (y) => y
      .positional('paths', { type: 'string', array: true, describe: 'Files and folders to back up' })
      .option('exclude', { type: 'string', array: true, describe: 'Glob of paths or names to leave out (repeatable; ./ and ../ are relative to the current folder; parentheses are literal)' })
      .option('exclude-file', { type: 'string', array: true, describe: 'File of exclude globs, one a line (# comments and blank lines ignored; repeatable)' })
      .option('files-from', { type: 'string', array: true, describe: 'File of paths (or globs) to back up, one a line (# comments and blank lines ignored; repeatable)' })
      .option('exclude-caches', { type: 'boolean', describe: 'Leave out the contents of folders marked by a CACHEDIR.TAG (the tag is kept)' })
      .option('one-file-system', { alias: 'x', type: 'boolean', describe: 'Do not cross into other file systems below the sources (mount points are kept empty)' })
      .option('tag', { type: 'string', array: true, describe: 'Tag for the recovery point (repeatable)' })
      .option('snapshot', { type: 'string', describe: 'auto (default): read a snapshot where one can be made (btrfs, snapshot provider), else live; required: fail without one; none: read live' })
      .option('read-from', { type: 'string', array: true, describe: 'SOURCE=PATH: read SOURCE from PATH (a frozen copy you made), record SOURCE (repeatable)' })
      .option('stdin', { type: 'boolean', describe: 'Back up standard input as one file' })
      .option('stdin-name', { type: 'string', describe: 'File name for --stdin or --member (default: stdin)' })
      .option('member', { type: 'string', describe: 'Back up the output of --remote-command run on this member over SSH (azbackup member add)' })
      .option('remote-command', { type: 'string', describe: 'Command to run on --member; its output is the stream (quoted for the member\'s shell)' })
      .option('remote-arg', { type: 'string', array: true, describe: 'Argument of --remote-command (repeatable; each passed as one word; --remote-arg=-x for one that starts with -)' })
      .option('from-tar', { type: 'string', describe: 'ROOT: import a tar stream from stdin (tar -C / -cf - srv/data) as the files below ROOT (/srv/data)' })
      .option('access-tier', { choices: ['Hot', 'Cool', 'Cold'] as const, describe: 'Azure access tier of the new packs (Azure vaults only)' })
      .option('retain-until', { type: 'string', describe: 'Let retention expire this point after this date (ISO 8601); default: kept until removed' })
      .option('pre-command', { type: 'string', describe: 'Program to run before anything is read (no shell); a failure stops the backup' })
      .option('pre-arg', { type: 'string', array: true, describe: 'Argument of --pre-command (repeatable; --pre-arg=-x for one that starts with -)' })
      .option('pre-timeout', { type: 'number', describe: `Seconds --pre-command may run before its process group is killed (default ${DEFAULT_HOOK_TIMEOUT_SECONDS})` })
      .option('post-command', { type: 'string', describe: 'Program to run after the read; it always runs once the backup started, a failure is a warning' })
      .option('post-arg', { type: 'string', array: true, describe: 'Argument of --post-command (repeatable)' })
      .option('post-timeout', { type: 'number', describe: `Seconds --post-command may run (default ${DEFAULT_HOOK_TIMEOUT_SECONDS})` })
      .example('azbackup backup /srv/data /etc --exclude "*.tmp"', 'Back up two folders')
      .example('azbackup backup /srv/app --pre-command /usr/local/bin/app-quiesce --post-command /usr/local/bin/app-resume', 'Quiesce an application while its files are read')
      .example('azbackup backup / --one-file-system --exclude-caches --exclude-file /etc/azbackup/excludes', 'Back up the root file system only, without caches')
      .example('pg_dump mydb | azbackup backup --stdin --stdin-name mydb.sql', 'Back up a database dump without a temp file')
      .example('azbackup backup /srv/data --snapshot required', 'Back up from a snapshot, or fail')
      .example('azbackup backup --member db01 --remote-command pg_dump --remote-arg mydb --stdin-name mydb.sql', 'Back up a database dump made on a member over SSH')
      .example('ssh member tar -C / -cf - srv/data | azbackup backup --from-tar /srv/data', "Back up a member's folder from a tar stream"),
    async (a) => {
      if (a.stdin && a.member !== undefined) throw new AzbError('AZB_USAGE', 'Back up either stdin (--stdin) or a command on a member (--member), not both.', { hint: 'Leave out --stdin: with --member the stream comes over SSH.' });
      if (a.fromTar !== undefined && (a.stdin || a.member !== undefined)) throw new AzbError('AZB_USAGE', 'A tar stream (--from-tar) is read from stdin alone: not with --stdin or --member.', { hint: 'Pipe the tar stream into azbackup backup --from-tar ROOT.' });
      const streamed = a.stdin === true || a.member !== undefined;
      exitCode = await run('backup', defined({ ...vaultArgs(a), paths: streamed ? undefined : (a.paths ?? []).map(String), exclude: a.exclude?.map(String), excludeFile: a.excludeFile?.map(String), filesFrom: a.filesFrom?.map(String), excludeCaches: a.excludeCaches, oneFileSystem: a.oneFileSystem, tags: a.tag,
        snapshot: snapshotModeArg(a.snapshot), readFrom: a.readFrom?.map((r) => readFromArg(String(r))), stdinName: streamed ? (a.stdinName ?? 'stdin') : undefined, member: a.member, remoteCommand: a.remoteCommand, remoteArguments: a.remoteArg?.map(String),
        fromTar: a.fromTar !== undefined ? { root: String(a.fromTar) } : undefined, accessTier: a.accessTier, retainUntil: a.retainUntil,
        preCommand: hookOption('pre', a.preCommand, a.preArg, a.preTimeout), postCommand: hookOption('post', a.postCommand, a.postArg, a.postTimeout) }), globals(a), await passphrase(a, a.stdin === true || a.fromTar !== undefined), a.stdin || a.fromTar !== undefined ? process.stdin : undefined);
    })
    .command('points', 'List recovery points', (y) => y
      .option('path', { type: 'string', describe: 'Only points whose sources contain this path' })
      .option('after', { type: 'string', describe: 'Only points after this time (ISO 8601)' })
      .option('before', { type: 'string', describe: 'Only points before this time (ISO 8601)' })
      .option('tag', { type: 'string', describe: 'Only points with this tag' })
      .option('deleted', { type: 'boolean', describe: 'List the soft-deleted points (those undelete can bring back) instead' })
      .option('group', { type: 'string', describe: "A protection group's points: in its disk vault, or with --online in its Azure copy" })
      .option('data-source', { type: 'string', describe: 'With --group: only the points of this data source (<member>:<path or stream name>)' })
      .option('online', { type: 'boolean', describe: "With --group: the group's online copy (Azure vault) instead of its disk vault" }),
    async (a) => {
      exitCode = await run('points', defined({ ...vaultArgs(a), path: a.path, after: a.after, before: a.before, tag: a.tag, deleted: a.deleted, group: a.group, dataSource: a.dataSource, online: a.online }), globals(a), await passphrase(a));
    })
    .command('ls <point> [path]', 'List the items of a recovery point', (y) => y
      .positional('point', { type: 'string', demandOption: true, describe: "Recovery point ID (or a unique prefix, or 'latest'); also as --point" })
      .positional('path', { type: 'string', describe: 'Folder inside the point' })
      .option('recurse', { alias: 'r', type: 'boolean', describe: 'Also list the contents of sub-folders' })
      .option('filter', { type: 'string', describe: 'Only items whose name matches this glob (searches the whole point)' })
      .option('group', { type: 'string', describe: "A protection group's point: in its disk vault, or with --online in its Azure copy" })
      .option('data-source', { type: 'string', describe: "With --group: 'latest' is this data source's newest point" })
      .option('online', { type: 'boolean', describe: "With --group: the group's online copy (Azure vault)" }),
    async (a) => {
      exitCode = await run('ls', defined({ ...vaultArgs(a), point: a.point, path: a.path, recurse: a.recurse, filter: a.filter, group: a.group, dataSource: a.dataSource, online: a.online }), globals(a), await passphrase(a));
    })
    .command('restore <point> [items..]', 'Restore a recovery point, or items of it', (y) => y
      .positional('point', { type: 'string', demandOption: true, describe: "Recovery point ID (or a unique prefix, or 'latest'); also as --point" })
      .positional('items', { type: 'string', array: true, describe: 'Paths inside the point (default: everything)' })
      .option('target', { type: 'string', describe: 'Restore into this folder (default: the original location)' })
      .option('original-location', { type: 'boolean', describe: "Restore another server's point (--server) to its original paths on this machine" })
      .option('conflict', { choices: ['Overwrite', 'OverwriteIfChanged', 'Skip', 'CreateCopy'] as const, describe: 'When an item exists: Overwrite, OverwriteIfChanged (default in place), Skip, or CreateCopy (default into a target); a file identical to the backed-up one is left as it is' })
      .option('preserve-setuid', { type: 'boolean', describe: 'Keep the setuid and setgid bits of files (cleared by default)' })
      .option('ignore-free-space', { type: 'boolean', describe: 'Restore even when the destination has less free space than the files need (refused by default: AZB_RESTORE_NO_SPACE)' })
      .option('restore-selinux-labels', { type: 'boolean', describe: 'Set SELinux labels (security.selinux) from the point too (left to the system policy by default)' })
      .option('to-tar', { type: 'string', describe: "-: write the items as a pax tar stream to stdout (events on stderr), each file verified; for 'tar -x'" })
      .option('group', { type: 'string', describe: "A protection group's point: from its disk vault, or with --online from its Azure copy" })
      .option('data-source', { type: 'string', describe: "With --group: 'latest' is this data source's newest point" })
      .option('online', { type: 'boolean', describe: "With --group: restore from the group's online copy (Azure vault)" })
      .example('azbackup restore latest --group pg1 --data-source web01:/srv/www --online --target /tmp/www', "Restore a data source's newest online point")
      .option('to-member', { type: 'string', describe: 'Unpack the items with GNU tar on this member (azbackup member add) over SSH, into --target, a folder that exists there; each file verified' })
      .example('azbackup restore latest /srv/data/report.docx --target /tmp/restore', 'Restore one file to another folder')
      .example('azbackup restore latest /srv/data --to-tar - | ssh member tar -x -C /', 'Restore a folder to a member through tar')
      .example('azbackup restore latest /srv/data --to-member db01 --target /srv/restore', 'Restore a folder into /srv/restore on member db01 over SSH'),
    async (a) => {
      const items = a.items?.map(String);
      const toTar = a.toTar;
      if (toTar !== undefined && toTar !== '-') throw new AzbError('AZB_USAGE', `--to-tar takes '-' (the tar goes to stdout), not '${toTar}'.`, { target: 'toTar', hint: 'azbackup restore POINT [ITEMS] --to-tar - | tar -x -C DEST' });
      exitCode = await run('restore', defined({ ...vaultArgs(a), point: a.point, items, target: a.target, originalLocation: a.originalLocation, conflict: a.conflict, preserveSetuid: a.preserveSetuid, restoreSelinuxLabels: a.restoreSelinuxLabels, ignoreFreeSpace: a.ignoreFreeSpace, toTar: a.toTar, group: a.group, dataSource: a.dataSource, online: a.online, toMember: a.toMember }), globals(a), await passphrase(a), undefined, a.toTar !== undefined ? process.stdout : undefined);
    })
    .command('check', 'Check the vault: structure, and with --read-data every byte', (y) => y
      .option('read-data', { type: 'string', describe: 'Also read and verify data: all of it, or --read-data=PERCENT of the packs' }),
    async (a) => {
      let pct = 0;
      if (a.readData !== undefined) {
        const m = /^(\d{1,3})%?$/.exec(a.readData);
        pct = a.readData === '' ? 100 : m ? Number(m[1]) : -1;
        if (pct < 1 || pct > 100) throw new AzbError('AZB_USAGE', `--read-data takes a percentage from 1 to 100, not '${a.readData}'.`, { hint: 'Example: --read-data=10' });
      }
      exitCode = await run('check', defined({ ...vaultArgs(a), readDataPercent: pct }), globals(a), await passphrase(a));
    })
    .command('prune', 'Delete data that no recovery point needs', (y) => y
      .option('dry-run', { type: 'boolean', describe: 'Only report what would be deleted' })
      .option('max-unused', { type: 'string', describe: 'Repack partly used packs when more than this share of the kept packs is unused (default 5%; 100% never repacks)' })
      .option('max-repack-size', { type: 'string', describe: 'Rewrite at most this much of packs in one prune (bytes, or with KB/MB/GB)' }),
    async (a) => {
      let maxUnusedPercent: number | undefined;
      if (a.maxUnused !== undefined) {
        const m = /^(\d+(?:\.\d+)?)%?$/.exec(a.maxUnused.trim());
        maxUnusedPercent = m ? Number(m[1]) : NaN;
        if (!(maxUnusedPercent >= 0 && maxUnusedPercent <= 100)) throw new AzbError('AZB_USAGE', `--max-unused takes a percentage from 0 to 100, not '${a.maxUnused}'.`, { hint: 'Example: --max-unused 10%' });
      }
      const maxRepackBytes = parseSize(a.maxRepackSize, 'max-repack-size');
      exitCode = await run('prune', defined({ ...vaultArgs(a), dryRun: a.dryRun, maxUnusedPercent, maxRepackBytes }), globals(a), await passphrase(a));
    })
    .command('repair [parts..]', 'Repair after damage: rebuild the index from the packs (index), salvage damaged packs (packs), rewrite points that lost data, marking the files (points)', (y) => y
      .positional('parts', { type: 'string', array: true, choices: ['index', 'packs', 'points'], describe: 'What to repair, in this order; all three when none is named' })
      .option('dry-run', { type: 'boolean', describe: 'Only report what would be repaired' }),
    async (a) => {
      const parts = a.parts && a.parts.length > 0 ? [...new Set(a.parts)] : undefined;
      exitCode = await run('repair', defined({ ...vaultArgs(a), parts, dryRun: a.dryRun }), globals(a), await passphrase(a));
    })
    .command('source', 'Check what can be backed up', (y) => y
      .command('test <paths..>', 'Whether each path can be backed up: on a local, fixed, writable disk file system that answers', (c) => c
        .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'Files or folders to check' })
        .option('timeout-seconds', { type: 'number', describe: 'How long a device may take to answer before it counts as offline (default 10)' })
        .example('azbackup source test /srv/data /mnt/nfs', 'Check two sources before putting them in a policy')
        .epilogue('Exit code 0: every path can be backed up; 4: at least one is refused (the verdict says why).'),
      async (a) => {
        exitCode = await run('source.test', defined({ paths: a.paths, timeoutSeconds: a.timeoutSeconds }), globals(a));
      })
      .demandCommand(1, 'Name a source command: test.'))
    .command('member', 'Members: servers this one reaches over SSH (README "Members over SSH")', (y) => y
      .command('add <name>', 'Add a member; its host key must match --host-key-fingerprint (or --accept-new-host-key)', (c) => c
        .positional('name', { type: 'string', demandOption: true, describe: 'Name of the member, e.g. db01' })
        .option('host', { type: 'string', demandOption: true, describe: 'DNS name or IP address of the member' })
        .option('port', { type: 'number', describe: 'Port of its SSH server (default 22)' })
        .option('user', { type: 'string', describe: 'Account to log in as (default: this account\'s name)' })
        .option('identity-file', { type: 'string', demandOption: true, describe: 'Private key file ssh offers (the path is stored, never the key)' })
        .option('host-key-fingerprint', { type: 'string', describe: 'SHA256:... fingerprint of the member\'s host key, read on the member with ssh-keygen -lf' })
        .option('accept-new-host-key', { type: 'boolean', describe: 'Trust the host key the member offers now, unchecked (trust on first use)' })
        .example('azbackup member add db01 --host db01.contoso.com --user backup --identity-file /root/.ssh/azbackup_ed25519 --host-key-fingerprint SHA256:abc...', 'Add a member whose host key you checked'),
      async (a) => {
        exitCode = await run('member.add', defined({ name: a.name, host: a.host, port: a.port, user: a.user, identityFile: a.identityFile, hostKeyFingerprint: a.hostKeyFingerprint, acceptNewHostKey: a.acceptNewHostKey }), globals(a));
      })
      .command('list', 'List the members', (c) => c,
      async (a) => {
        exitCode = await run('member.list', {}, globals(a));
      })
      .command('remove <name>', 'Forget a member (and its host keys, unless another member shares its host and port)', (c) => c
        .positional('name', { type: 'string', demandOption: true }),
      async (a) => {
        exitCode = await run('member.remove', { name: a.name }, globals(a));
      })
      .command('test <name>', 'Connect to a member and run a no-op: OK, or the coded failure', (c) => c
        .positional('name', { type: 'string', demandOption: true }),
      async (a) => {
        exitCode = await run('member.test', { name: a.name }, globals(a));
      })
      .demandCommand(1, 'Name a member command: add, list, remove or test.'))
    .command('forget <point>', 'Remove a recovery point: soft-deleted for 14 days (undelete brings it back), then prune deletes it and its data', (y) => y
      .positional('point', { type: 'string', demandOption: true, describe: 'Recovery point ID (or a unique prefix)' })
      .option('permanent', { type: 'boolean', describe: 'Delete the point at once, without the 14 days of soft delete' }),
    async (a) => {
      exitCode = await run('point.remove', defined({ ...vaultArgs(a), point: a.point, permanent: a.permanent }), globals(a), await passphrase(a));
    })
    .command('undelete <point>', 'Bring back a soft-deleted recovery point (within 14 days of its deletion)', (y) => y
      .positional('point', { type: 'string', demandOption: true, describe: 'Recovery point ID (or a unique prefix); points --deleted lists them' }),
    async (a) => {
      exitCode = await run('point.undelete', defined({ ...vaultArgs(a), point: a.point }), globals(a), await passphrase(a));
    })
    .command('policy', 'Backup policies: what is backed up, when, and how long points are kept', (y) => y
      .command('set <file>', 'Save a policy (JSON file, or - for stdin), activate it and register its schedule', (c) => c
        .positional('file', { type: 'string', demandOption: true, describe: 'The policy as JSON (see README "Policies"), or - for stdin' })
        .option('store-passphrase', { type: 'boolean', describe: 'Store the passphrase on this server for unattended runs' })
        .option('replace', { type: 'boolean', describe: 'Replace a saved policy of the same name' })
        .option('dry-run', { type: 'boolean', describe: 'Check the policy and say what it would do; save nothing' }),
      async (a) => {
        const text = a.file === '-' ? await (await import('../protocol/rpc.js')).readStdin() : await readPolicyFile(a.file);
        let policy: unknown;
        try { policy = JSON.parse(text); } catch (err) {
          throw new AzbError('AZB_ARGS_INVALID', `The policy in ${a.file === '-' ? 'stdin' : a.file} is not JSON: ${(err as Error).message}.`, { target: a.file, hint: 'See README "Policies" for an example.' });
        }
        if (a.vault && policy && typeof policy === 'object' && !('vault' in policy)) policy = { ...policy, vault: a.vault };
        exitCode = await run('policy.set', defined({ policy, storePassphrase: a.storePassphrase, replace: a.replace, whatIf: a.dryRun }), globals(a), a.file === '-' ? {} : await passphrase(a));
      })
      .command(['get [name]', 'list'], 'Show the saved policies, their next run and last result', (c) => c
        .positional('name', { type: 'string', describe: 'Only this policy' }),
      async (a) => {
        exitCode = await run('policy.get', defined({ name: a.name }), globals(a));
      })
      .command('remove <name>', 'Stop a policy\'s schedule and forget it; its points are kept unless --delete-backup', (c) => c
        .positional('name', { type: 'string', demandOption: true })
        .option('delete-backup', { type: 'boolean', describe: 'Also remove every recovery point of the policy' })
        .option('dry-run', { type: 'boolean', describe: 'Only say what would be removed' }),
      async (a) => {
        exitCode = await run('policy.remove', defined({ name: a.name, deleteBackup: a.deleteBackup, whatIf: a.dryRun }), globals(a), await passphrase(a));
      })
      .command('suspend <name>', 'Stop a policy\'s scheduled runs (the policy and its points stay)', (c) => c.positional('name', { type: 'string', demandOption: true }), async (a) => {
        exitCode = await run('policy.suspend', { name: a.name }, globals(a));
      })
      .command('resume <name>', 'Start a suspended policy\'s scheduled runs again', (c) => c.positional('name', { type: 'string', demandOption: true }), async (a) => {
        exitCode = await run('policy.resume', { name: a.name }, globals(a));
      })
      .command('run <name>', 'Back up by a policy now, then enforce its retention', (c) => c
        .positional('name', { type: 'string', demandOption: true })
        .option('scheduled', { type: 'boolean', describe: 'Run as the scheduler does: skip weeks off the weekly frequency; stored passphrase' }),
      async (a) => {
        exitCode = await run('policy.run', defined({ name: a.name, scheduled: a.scheduled, cacheDir: a.cacheDir }), globals(a), await passphrase(a));
      })
      .demandCommand(1, 'Name a policy command: set, get, list, remove, suspend, resume or run.'))
    .command('group', 'Protection groups: data sources of members backed up to this server\'s disk vault (README "Protection groups")', (y) => y
      .command('new <name>', 'Make a protection group; its short-term points go to --vault (a folder vault this server is registered with)', (c) => c
        .positional('name', { type: 'string', demandOption: true, describe: 'Name of the group: letters, digits, - and _' })
        .example('azbackup group new dpm1 --vault /srv/vault', 'A group whose points go to the folder vault /srv/vault'),
      async (a) => {
        exitCode = await run('group.new', defined({ name: a.name, vault: a.vault }), globals(a));
      })
      .command('get [name]', 'Show the protection groups (or one) and, per data source, its newest points, size and last error', (c) => c
        .positional('name', { type: 'string', describe: 'Only this group' }),
      async (a) => {
        exitCode = await run('group.get', defined({ name: a.name }), globals(a));
      })
      .command('set <name>', 'Set a group\'s short-term objective and schedule, suspend or resume it, store the passphrase for its runs', (c) => c
        .positional('name', { type: 'string', demandOption: true })
        .option('retention-range-days', { type: 'number', describe: 'Days disk points are kept, 1–448, counted back from each data source\'s newest point' })
        .option('synchronization-frequency', { type: 'number', describe: 'Run every N minutes: 15, 30, 60, 120, 240, 360, 480, 720 or 1440' })
        .option('days', { type: 'string', array: true, describe: 'Schedule: days of the week (Monday … Sunday or Mon … Sun); with --times' })
        .option('times', { type: 'string', array: true, describe: 'Schedule: times of day HH:MM, up to 24; with --days' })
        .option('suspend', { type: 'boolean', describe: 'Stop the scheduled runs (the group and its points stay)' })
        .option('resume', { type: 'boolean', describe: 'Start the scheduled runs again' })
        .option('store-passphrase', { type: 'boolean', describe: 'Store the passphrase on this server for the scheduled runs' })
        .option('dry-run', { type: 'boolean', describe: 'Check the settings and show the group; save nothing' })
        .example('azbackup group set dpm1 --retention-range-days 14 --synchronization-frequency 60 --store-passphrase', 'Hourly points kept 14 days')
        .example('azbackup group set dpm1 --days Mon Tue Wed Thu Fri --times 08:00 20:00', 'Twice a day on work days'),
      async (a) => {
        if (a.suspend && a.resume) throw new AzbError('AZB_USAGE', 'Give --suspend or --resume, not both.');
        if ((a.days === undefined) !== (a.times === undefined)) throw new AzbError('AZB_USAGE', 'A schedule needs both --days and --times.', { hint: 'Example: --days Mon Wed --times 09:00 21:00' });
        const { dayName } = await import('../commands/group.js');
        exitCode = await run('group.set', defined({
          name: a.name, retentionRangeDays: a.retentionRangeDays, synchronizationFrequencyMinutes: a.synchronizationFrequency,
          schedule: a.days && a.times ? { daysOfWeek: a.days.map((d) => dayName(String(d))), timesOfDay: a.times.map(String) } : undefined,
          state: a.suspend ? 'Suspended' : a.resume ? 'Active' : undefined, storePassphrase: a.storePassphrase, whatIf: a.dryRun,
        }), globals(a), a.storePassphrase ? await passphrase(a) : {});
      })
      .command('remove <name>', 'Forget a protection group and its schedule; its points are kept', (c) => c
        .positional('name', { type: 'string', demandOption: true }),
      async (a) => {
        exitCode = await run('group.remove', { name: a.name }, globals(a));
      })
      .command('add-source <group>', 'Add a data source: --path of a member (tar over SSH), or --command and --stream-name (a dump)', (c) => c
        .positional('group', { type: 'string', demandOption: true })
        .option('member', { type: 'string', demandOption: true, describe: 'The member (azbackup member add) the data source is on' })
        .option('path', { type: 'string', describe: 'Absolute path of a folder on the member' })
        .option('command', { type: 'string', describe: 'Command run on the member whose output is backed up (pg_dump, mysqldump, sqlcmd)' })
        .option('arg', { type: 'string', array: true, describe: 'An argument of --command (repeat; write --arg=-x for one that starts with -)' })
        .option('stream-name', { type: 'string', describe: 'File name the command\'s output is stored under, e.g. shop.sql' })
        .example('azbackup group add-source dpm1 --member web01 --path /srv/www', 'A folder of web01')
        .example('azbackup group add-source dpm1 --member db01 --command pg_dump --arg shop --stream-name shop.sql', 'A database dump on db01'),
      async (a) => {
        exitCode = await run('group.add-source', defined({ group: a.group, member: a.member, path: a.path, command: a.command, arguments: a.arg?.map(String), streamName: a.streamName }), globals(a));
      })
      .command('remove-source <group> <dataSource>', 'Take a data source (MEMBER:PATH or MEMBER:STREAMNAME) out of a group; its points are kept', (c) => c
        .positional('group', { type: 'string', demandOption: true })
        .positional('dataSource', { type: 'string', demandOption: true }),
      async (a) => {
        exitCode = await run('group.remove-source', { group: a.group, dataSource: a.dataSource }, globals(a));
      })
      .command('run <name>', 'Back up every data source of a group now, enforce its retention, copy online when due', (c) => c
        .positional('name', { type: 'string', demandOption: true })
        .option('data-source', { type: 'string', describe: 'Only this data source (MEMBER:PATH or MEMBER:STREAMNAME)' })
        .option('online', { type: 'boolean', describe: 'Copy online after the disk backups even when not due' })
        .option('scheduled', { type: 'boolean', describe: 'Run as the scheduler does: nothing when suspended; stored passphrase' }),
      async (a) => {
        exitCode = await run('group.run', defined({ name: a.name, scheduled: a.scheduled, dataSource: a.dataSource, online: a.online, cacheDir: a.cacheDir }), globals(a), await passphrase(a));
      })
      .demandCommand(1, 'Name a group command: new, get, set, remove, add-source, remove-source or run.'))
    .command('online', 'Online protection: copy a protection group\'s points to an Azure vault (README "Online protection")', (y) => y
      .command('enable <group>', 'Replicate this server\'s namespace into an Azure vault and set the group\'s online retention', (c) => c
        .positional('group', { type: 'string', demandOption: true })
        .option('online-vault', { type: 'string', describe: 'The Azure vault (container URL; or --vault); the server\'s certificate must be uploaded there first' })
        .option('retention-days', { type: 'number', demandOption: true, describe: 'Online retention per data source, 1 to 120 days' })
        .option('max-points', { type: 'number', describe: 'At most this many online points per data source (1 to 120; default 120)' })
        .option('max-size-gb', { type: 'number', describe: 'Refuse the online copy of a data source larger than this (1 to 850 GB; default 850)' })
        .option('times', { type: 'string', array: true, describe: 'Online copy times of day, HH:MM (default 21:00)' })
        .example('azbackup online enable pg1 --online-vault https://acct.blob.core.windows.net/vault --retention-days 30', 'Copy group pg1 online, kept 30 days'),
      async (a) => {
        exitCode = await run('online.enable', defined({ group: a.group, vault: a.onlineVault ?? a.vault, onlineRetentionDays: a.retentionDays, maxOnlinePoints: a.maxPoints, maxOnlineSizeGB: a.maxSizeGb, onlineTimesOfDay: a.times?.map(String) }), globals(a), await passphrase(a));
      })
      .command('copy <group>', 'Copy the newest disk point of each data source online now, then enforce online retention', (c) => c
        .positional('group', { type: 'string', demandOption: true })
        .option('data-source', { type: 'string', describe: 'Only this data source' }),
      async (a) => {
        exitCode = await run('online.copy', defined({ group: a.group, dataSource: a.dataSource }), globals(a), await passphrase(a));
      })
      .demandCommand(1, 'Name an online command: enable or copy.'))
    .command('fleet', 'Reports on every server of a vault (README "Fleet report")', (y) => y
      .command('report', 'One row per server: last point, age, size and growth, locks, certificate, and why it needs a look; no passphrase needed', (c) => c
        .option('max-age-hours', { type: 'number', describe: 'A server whose last point is older than this is Critical (default 24)' })
        .option('html', { type: 'string', describe: 'Also write the report as one self-contained HTML page to this file' }),
      async (a) => {
        exitCode = await run('fleet.report', defined({ vault: a.vault, maxAgeHours: a.maxAgeHours, html: a.html }), globals(a));
      })
      .demandCommand(1, 'Name a fleet command: report.'))
    .command('jobs', 'Show the job history of this machine', (y) => y
      .option('previous', { type: 'number', describe: 'Only the N most recent jobs' })
      .option('status', { choices: ['InProgress', 'Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled'] as const, describe: 'Only jobs with this status' }),
    async (a) => {
      exitCode = await run('jobs', defined({ previous: a.previous, status: a.status }), globals(a));
    })
    .command('job', 'Control a job', (y) => y
      .command('stop <jobId>', 'Cancel a running job cleanly', (c) => c.positional('jobId', { type: 'string', demandOption: true }), async (a) => {
        exitCode = await run('job.stop', { jobId: a.jobId }, globals(a));
      })
      .demandCommand(1, 'Name a job command: stop.'))
    .command('settings', 'Machine settings: bandwidth throttling and proxy for cloud vaults', (y) => y
      .command('set', 'Throttle uploads by work hours (or --no-throttle); set a proxy (or --no-proxy); set the upload concurrency', (c) => c
        .option('throttle', { type: 'boolean', describe: 'Give --no-throttle to remove throttling' })
        .option('proxy-server', { type: 'string', describe: 'HTTP(S) proxy host for cloud vaults (its password, if any: AZBACKUP_PROXY_PASSWORD)' })
        .option('proxy-port', { type: 'number', describe: 'Proxy port' })
        .option('proxy-username', { type: 'string', describe: 'Proxy user name' })
        .option('proxy-password-file', { type: 'string', describe: 'Read the proxy password from this file; it is stored owner-only in the configuration home (AZBACKUP_PROXY_PASSWORD overrides it at run time)' })
        .option('proxy-password-stdin', { type: 'boolean', describe: 'Read the proxy password from stdin' })
        .option('upload-concurrency', { type: 'number', describe: 'Packs uploaded at once to cloud vaults, 1–32 (default 4)' })
        .option('proxy', { type: 'boolean', describe: 'Give --no-proxy to remove the proxy (HTTPS_PROXY still applies)' })
        .option('work-days', { type: 'string', array: true, describe: 'Work days (default Monday…Friday)' })
        .option('start-work-hour', { type: 'number', describe: 'First work hour, 0–23 (default 9)' })
        .option('end-work-hour', { type: 'number', describe: 'Hour work ends, 1–24 (default 18)' })
        .option('work-hour-bandwidth', { type: 'string', describe: 'Upload rate in work hours: bytes/s, or with KB/MB/GB (per second)' })
        .option('non-work-hour-bandwidth', { type: 'string', describe: 'Upload rate outside work hours' })
        .option('cache-location', { type: 'string', describe: 'Move the cache (file metadata, staged packs) to this folder; it needs free space of 10% of the data set' })
        .option('metrics-file', { type: 'string', describe: "Write Prometheus metrics of policy runs to this file (node_exporter's textfile collector); --no-metrics-file stops it" })
        .option('snapshot-create-command', { type: 'string', describe: 'Snapshot provider: absolute path of the command that snapshots a source (README "Snapshot providers")' })
        .option('snapshot-remove-command', { type: 'string', describe: 'Snapshot provider: absolute path of the command that removes the snapshot' })
        .option('snapshot-timeout', { type: 'number', describe: 'Seconds a snapshot command may run before it is killed, 1–3600 (default 120)' })
        .option('snapshot-provider', { type: 'boolean', describe: 'Give --no-snapshot-provider to remove the snapshot provider' })
        .example('azbackup settings set --work-days Mon Tue Wed Thu Fri --start-work-hour 8 --end-work-hour 18 --work-hour-bandwidth 2MB --non-work-hour-bandwidth 50MB', 'Slow uploads down during the working day'),
      async (a) => {
        // No environment source: AZBACKUP_PROXY_PASSWORD overrides the stored password at run time, it is not one to store.
        const proxyPassword = await readSecret({ file: a.proxyPasswordFile, stdin: a.proxyPasswordStdin, label: 'proxy password' });
        exitCode = await run('settings.set', defined({
          uploadConcurrency: a.uploadConcurrency,
          noThrottle: a.throttle === false ? true : undefined, noProxy: a.proxy === false ? true : undefined,
          proxyServer: a.proxyServer, proxyPort: a.proxyPort, proxyUsername: a.proxyUsername, workDays: a.workDays?.map(String), startWorkHour: a.startWorkHour, endWorkHour: a.endWorkHour,
          workHourBandwidth: parseRate(a.workHourBandwidth, 'work-hour-bandwidth'), nonWorkHourBandwidth: parseRate(a.nonWorkHourBandwidth, 'non-work-hour-bandwidth'),
          cacheLocation: a.cacheLocation, metricsFile: typeof a.metricsFile === 'string' ? a.metricsFile : undefined, noMetricsFile: (a.metricsFile as unknown) === false ? true : undefined,
          snapshotCreateCommand: a.snapshotCreateCommand, snapshotRemoveCommand: a.snapshotRemoveCommand, snapshotTimeoutSeconds: a.snapshotTimeout, noSnapshotProvider: a.snapshotProvider === false ? true : undefined,
        }), globals(a), proxyPassword !== undefined ? { proxyPassword } : {});
      })
      .command('show', 'Show the machine settings', (c) => c, async (a) => {
        exitCode = await run('settings.show', {}, globals(a));
      })
      .demandCommand(1, 'Name a settings command: set or show.'))
    .command('dsc <operation>', 'DSC v3 command resource (azbackup.dsc.resource.json): the instance as JSON on stdin, its state as JSON on stdout, events on stderr', (y) => y
      .positional('operation', { type: 'string', choices: ['get', 'test', 'set', 'export'], demandOption: true })
      .option('resource', { type: 'string', choices: ['MachineSetting'], default: 'MachineSetting', describe: 'The resource type (AzBackup/MachineSetting)' })
      .example('echo \'{"uploadConcurrency": 8}\' | azbackup dsc test', 'Whether this machine uploads 8 packs at once (the state, then the properties that differ)'),
    async (a) => {
      const name = `dsc.${String(a.operation)}`;
      // stdout is DSC's: the state lines only. Events, errors included, go to stderr as NDJSON.
      const g = { json: true, debug: a.debug === true, verbose: a.verbose === true };
      let instance: unknown;
      try {
        instance = await readDscInstance();
      } catch (err) {
        const e = err instanceof AzbError ? err : new AzbError('AZB_REQUEST_INVALID', (err as Error).message);
        sinkFor(undefined, g, true).error(e); // JSON events: no human format needed
        exitCode = e.exitCode;
        return;
      }
      exitCode = await run(name, defined({ resource: a.resource, instance }), g, {}, undefined, process.stdout);
    })
    .command('rpc', 'Read one JSON request on stdin and write NDJSON events on stdout (used by the PowerShell module)', (y) => y, async (a) => {
      const { text, rest } = await readRequest();
      exitCode = await handleRequest(text, new JsonSink(), a.debug === true, signal, rest);
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
    // yargs answers `--help` before it checks the command, so `azbackup bogus --help` would print the
    // general help and exit 0: an unknown command is a usage error with or without --help.
    const first = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
    if (first !== undefined && (flags.has('--help') || flags.has('-h'))) {
      const known: string[] = (parser as unknown as { getInternalMethods(): { getCommandInstance(): { getCommands(): string[] } } }).getInternalMethods().getCommandInstance().getCommands();
      if (!known.includes(first)) throw new AzbError('AZB_USAGE', `Unknown command: ${first}`, { hint: "Run 'azbackup --help' for the list of commands." });
    }
    await parser.parseAsync();
  } catch (err) {
    const e = err instanceof AzbError ? err : new AzbError('AZB_USAGE', (err as Error).message);
    const g = globals({ json: argv.includes('--json'), debug: argv.includes('--debug') });
    (g.json ? new JsonSink() : new HumanSink()).error(e, g.debug && err instanceof Error ? err.stack : undefined);
    return e.exitCode;
  }
  return exitCode;
}
