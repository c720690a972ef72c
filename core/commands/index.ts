// Registry of engine commands by request name. Adding a command: a file here, its args schema in
// core/schemas/, a line below, and a CLI mapping in core/cli/.
// Each command's module is loaded when that command runs: an engine start pays only for the command it
// serves (certificates, tar, backup and restore code are large), not for all of them.
import type { Command } from './command.js';

type Loader = () => Promise<Command<never>>;

const LOADERS: ReadonlyMap<string, Loader> = new Map<string, Loader>([
  ['version', () => import('./version.js').then((m) => m.versionCommand)],
  ['cert.new', () => import('./cert_new.js').then((m) => m.certNewCommand)],
  ['cert.test', () => import('./cert_test.js').then((m) => m.certTestCommand)],
  ['vault.create', () => import('./vault.js').then((m) => m.vaultCreateCommand)],
  ['vault.add-cert', () => import('./vault.js').then((m) => m.vaultAddCertCommand)],
  ['vault.certs', () => import('./vault.js').then((m) => m.vaultCertsCommand)],
  ['vault.remove-cert', () => import('./vault.js').then((m) => m.vaultRemoveCertCommand)],
  ['servers', () => import('./vault.js').then((m) => m.serversCommand)],
  ['register', () => import('./register.js').then((m) => m.registerCommand)],
  ['passphrase.set', () => import('./register.js').then((m) => m.passphraseSetCommand)],
  ['backup', () => import('./backup.js').then((m) => m.backupCommand)],
  ['points', () => import('./points.js').then((m) => m.pointsCommand)],
  ['ls', () => import('./points.js').then((m) => m.lsCommand)],
  ['point.remove', () => import('./points.js').then((m) => m.pointRemoveCommand)],
  ['point.undelete', () => import('./points.js').then((m) => m.pointUndeleteCommand)],
  ['restore', () => import('./restore.js').then((m) => m.restoreCommand)],
  ['check', () => import('./check.js').then((m) => m.checkCommand)],
  ['prune', () => import('./prune.js').then((m) => m.pruneCommand)],
  ['repair', () => import('./repair.js').then((m) => m.repairCommand)],
  ['jobs', () => import('./jobs.js').then((m) => m.jobsCommand)],
  ['job.stop', () => import('./jobs.js').then((m) => m.jobStopCommand)],
  ['settings.set', () => import('./settings.js').then((m) => m.settingsSetCommand)],
  ['settings.show', () => import('./settings.js').then((m) => m.settingsShowCommand)],
  ['policy.set', () => import('./policy.js').then((m) => m.policySetCommand)],
  ['policy.get', () => import('./policy.js').then((m) => m.policyGetCommand)],
  ['policy.remove', () => import('./policy.js').then((m) => m.policyRemoveCommand)],
  ['policy.suspend', () => import('./policy.js').then((m) => m.policySuspendCommand)],
  ['policy.resume', () => import('./policy.js').then((m) => m.policyResumeCommand)],
  ['policy.run', () => import('./policy.js').then((m) => m.policyRunCommand)],
  ['server.unregister', () => import('./server.js').then((m) => m.serverUnregisterCommand)],
  ['server.renew-cert', () => import('./server.js').then((m) => m.serverRenewCertCommand)],
  ['source.test', () => import('./source.js').then((m) => m.sourceTestCommand)],
  ['member.add', () => import('./member.js').then((m) => m.memberAddCommand)],
  ['member.list', () => import('./member.js').then((m) => m.memberListCommand)],
  ['member.remove', () => import('./member.js').then((m) => m.memberRemoveCommand)],
  ['member.test', () => import('./member.js').then((m) => m.memberTestCommand)],
  ['group.new', () => import('./group.js').then((m) => m.groupNewCommand)],
  ['group.get', () => import('./group.js').then((m) => m.groupGetCommand)],
  ['group.set', () => import('./group.js').then((m) => m.groupSetCommand)],
  ['group.remove', () => import('./group.js').then((m) => m.groupRemoveCommand)],
  ['group.add-source', () => import('./group.js').then((m) => m.groupAddSourceCommand)],
  ['group.remove-source', () => import('./group.js').then((m) => m.groupRemoveSourceCommand)],
  ['group.run', () => import('./group.js').then((m) => m.groupRunCommand)],
  ['online.enable', () => import('./online.js').then((m) => m.onlineEnableCommand)],
  ['online.copy', () => import('./online.js').then((m) => m.onlineCopyCommand)],
  ['dsc.get', () => import('./dsc.js').then((m) => m.dscGetCommand)],
  ['dsc.test', () => import('./dsc.js').then((m) => m.dscTestCommand)],
  ['dsc.set', () => import('./dsc.js').then((m) => m.dscSetCommand)],
  ['dsc.export', () => import('./dsc.js').then((m) => m.dscExportCommand)],
  ['fleet.report', () => import('./fleet.js').then((m) => m.fleetReportCommand)],
]);

/** Every request name the engine answers. */
export const COMMAND_NAMES: readonly string[] = [...LOADERS.keys()];

/** The command a request names, loaded; undefined for a name the engine does not know. */
export async function loadCommand(name: string): Promise<Command<never> | undefined> {
  const load = LOADERS.get(name);
  if (!load) return undefined;
  const command = await load();
  if (command.name !== name) throw new Error(`command registry: '${name}' loads '${command.name}'`);
  return command;
}
