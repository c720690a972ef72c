// Registry of engine commands by request name. Adding a command: a file here, its args schema in
// core/schemas/, a line below, and a CLI mapping in core/cli/.
import type { Command } from './command.js';
import { versionCommand } from './version.js';
import { certNewCommand } from './cert_new.js';
import { certTestCommand } from './cert_test.js';
import { serversCommand, vaultAddCertCommand, vaultCertsCommand, vaultCreateCommand, vaultRemoveCertCommand } from './vault.js';
import { passphraseSetCommand, registerCommand } from './register.js';
import { backupCommand } from './backup.js';
import { lsCommand, pointRemoveCommand, pointsCommand, pointUndeleteCommand } from './points.js';
import { restoreCommand } from './restore.js';
import { checkCommand } from './check.js';
import { pruneCommand } from './prune.js';
import { repairCommand } from './repair.js';
import { jobStopCommand, jobsCommand } from './jobs.js';
import { settingsSetCommand, settingsShowCommand } from './settings.js';
import { serverRenewCertCommand, serverUnregisterCommand } from './server.js';
import { sourceTestCommand } from './source.js';
import { memberAddCommand, memberListCommand, memberRemoveCommand, memberTestCommand } from './member.js';
import { groupAddSourceCommand, groupGetCommand, groupNewCommand, groupRemoveCommand, groupRemoveSourceCommand, groupRunCommand, groupSetCommand } from './group.js';
import { onlineCopyCommand, onlineEnableCommand } from './online.js';
import { fleetReportCommand } from './fleet.js';
import { policyGetCommand, policyRemoveCommand, policyResumeCommand, policyRunCommand, policySetCommand, policySuspendCommand } from './policy.js';

/** Every command the engine answers, by its request name. */
export const COMMANDS: ReadonlyMap<string, Command<never>> = new Map<string, Command<never>>(
  [versionCommand, certNewCommand, certTestCommand, vaultCreateCommand, vaultAddCertCommand, vaultCertsCommand, vaultRemoveCertCommand, serversCommand,
    registerCommand, passphraseSetCommand, backupCommand, pointsCommand, lsCommand, pointRemoveCommand, pointUndeleteCommand, restoreCommand,
    checkCommand, pruneCommand, repairCommand, jobsCommand, jobStopCommand, settingsSetCommand, settingsShowCommand,
    policySetCommand, policyGetCommand, policyRemoveCommand, policySuspendCommand, policyResumeCommand, policyRunCommand,
    serverUnregisterCommand, serverRenewCertCommand, sourceTestCommand,
    memberAddCommand, memberListCommand, memberRemoveCommand, memberTestCommand,
    groupNewCommand, groupGetCommand, groupSetCommand, groupRemoveCommand, groupAddSourceCommand, groupRemoveSourceCommand, groupRunCommand,
    onlineEnableCommand, onlineCopyCommand, fleetReportCommand].map((c) => [c.name, c as Command<never>]),
);
