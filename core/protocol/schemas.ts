// The protocol's JSON Schemas (core/schemas/) compiled with ajv. The engine validates every request
// and its args here; the tests validate every event and result against the same files.
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import argsBackup from '../schemas/args.backup.schema.json' with { type: 'json' };
import argsCertNew from '../schemas/args.cert.new.schema.json' with { type: 'json' };
import argsCertTest from '../schemas/args.cert.test.schema.json' with { type: 'json' };
import argsCheck from '../schemas/args.check.schema.json' with { type: 'json' };
import argsJobStop from '../schemas/args.job.stop.schema.json' with { type: 'json' };
import argsJobs from '../schemas/args.jobs.schema.json' with { type: 'json' };
import argsLs from '../schemas/args.ls.schema.json' with { type: 'json' };
import argsPassphraseSet from '../schemas/args.passphrase.set.schema.json' with { type: 'json' };
import argsPointRemove from '../schemas/args.point.remove.schema.json' with { type: 'json' };
import argsPointUndelete from '../schemas/args.point.undelete.schema.json' with { type: 'json' };
import argsPoints from '../schemas/args.points.schema.json' with { type: 'json' };
import argsPrune from '../schemas/args.prune.schema.json' with { type: 'json' };
import argsSourceTest from '../schemas/args.source.test.schema.json' with { type: 'json' };
import resultSourceVerdict from '../schemas/result.SourceVerdict.schema.json' with { type: 'json' };
import argsRepair from '../schemas/args.repair.schema.json' with { type: 'json' };
import resultRepairResult from '../schemas/result.RepairResult.schema.json' with { type: 'json' };
import resultRepairedFile from '../schemas/result.RepairedFile.schema.json' with { type: 'json' };
import argsRegister from '../schemas/args.register.schema.json' with { type: 'json' };
import argsRestore from '../schemas/args.restore.schema.json' with { type: 'json' };
import argsServers from '../schemas/args.servers.schema.json' with { type: 'json' };
import argsServerUnregister from '../schemas/args.server.unregister.schema.json' with { type: 'json' };
import argsServerRenewCert from '../schemas/args.server.renew-cert.schema.json' with { type: 'json' };
import resultCertificateRenewal from '../schemas/result.CertificateRenewal.schema.json' with { type: 'json' };
import argsSettingsSet from '../schemas/args.settings.set.schema.json' with { type: 'json' };
import argsSettingsShow from '../schemas/args.settings.show.schema.json' with { type: 'json' };
import argsVaultAddCert from '../schemas/args.vault.add-cert.schema.json' with { type: 'json' };
import argsVaultRemoveCert from '../schemas/args.vault.remove-cert.schema.json' with { type: 'json' };
import argsVaultCerts from '../schemas/args.vault.certs.schema.json' with { type: 'json' };
import argsVaultCreate from '../schemas/args.vault.create.schema.json' with { type: 'json' };
import argsVersion from '../schemas/args.version.schema.json' with { type: 'json' };
import argsPolicySet from '../schemas/args.policy.set.schema.json' with { type: 'json' };
import argsPolicyGet from '../schemas/args.policy.get.schema.json' with { type: 'json' };
import argsPolicyRemove from '../schemas/args.policy.remove.schema.json' with { type: 'json' };
import argsPolicyState from '../schemas/args.policy.state.schema.json' with { type: 'json' };
import argsPolicyRun from '../schemas/args.policy.run.schema.json' with { type: 'json' };
import policySchema from '../schemas/policy.schema.json' with { type: 'json' };
import resultPolicy from '../schemas/result.Policy.schema.json' with { type: 'json' };
import resultPolicyRun from '../schemas/result.PolicyRun.schema.json' with { type: 'json' };
import resultRemovedPolicy from '../schemas/result.RemovedPolicy.schema.json' with { type: 'json' };
import eventError from '../schemas/event.error.schema.json' with { type: 'json' };
import eventItem from '../schemas/event.item.schema.json' with { type: 'json' };
import eventLog from '../schemas/event.log.schema.json' with { type: 'json' };
import eventProgress from '../schemas/event.progress.schema.json' with { type: 'json' };
import eventResult from '../schemas/event.result.schema.json' with { type: 'json' };
import event from '../schemas/event.schema.json' with { type: 'json' };
import eventWarning from '../schemas/event.warning.schema.json' with { type: 'json' };
import request from '../schemas/request.schema.json' with { type: 'json' };
import resultCertificate from '../schemas/result.Certificate.schema.json' with { type: 'json' };
import resultCertificateRule from '../schemas/result.CertificateRule.schema.json' with { type: 'json' };
import resultCertificateTest from '../schemas/result.CertificateTest.schema.json' with { type: 'json' };
import resultCheckProblem from '../schemas/result.CheckProblem.schema.json' with { type: 'json' };
import resultCheckResult from '../schemas/result.CheckResult.schema.json' with { type: 'json' };
import resultJob from '../schemas/result.Job.schema.json' with { type: 'json' };
import resultMachineSetting from '../schemas/result.MachineSetting.schema.json' with { type: 'json' };
import resultPassphraseChange from '../schemas/result.PassphraseChange.schema.json' with { type: 'json' };
import resultPruneResult from '../schemas/result.PruneResult.schema.json' with { type: 'json' };
import resultRecoverableItem from '../schemas/result.RecoverableItem.schema.json' with { type: 'json' };
import resultRecoveryPoint from '../schemas/result.RecoveryPoint.schema.json' with { type: 'json' };
import resultRegistration from '../schemas/result.Registration.schema.json' with { type: 'json' };
import resultRemovedRecoveryPoint from '../schemas/result.RemovedRecoveryPoint.schema.json' with { type: 'json' };
import resultRestoreResult from '../schemas/result.RestoreResult.schema.json' with { type: 'json' };
import resultServer from '../schemas/result.Server.schema.json' with { type: 'json' };
import resultUnregisteredServer from '../schemas/result.UnregisteredServer.schema.json' with { type: 'json' };
import resultVault from '../schemas/result.Vault.schema.json' with { type: 'json' };
import resultVaultCertificate from '../schemas/result.VaultCertificate.schema.json' with { type: 'json' };
import resultVersion from '../schemas/result.Version.schema.json' with { type: 'json' };
import argsMemberAdd from '../schemas/args.member.add.schema.json' with { type: 'json' };
import argsMemberList from '../schemas/args.member.list.schema.json' with { type: 'json' };
import argsMemberRemove from '../schemas/args.member.remove.schema.json' with { type: 'json' };
import argsMemberTest from '../schemas/args.member.test.schema.json' with { type: 'json' };
import resultMember from '../schemas/result.Member.schema.json' with { type: 'json' };
import resultMemberTest from '../schemas/result.MemberTest.schema.json' with { type: 'json' };
import resultRemovedMember from '../schemas/result.RemovedMember.schema.json' with { type: 'json' };
import argsGroupNew from '../schemas/args.group.new.schema.json' with { type: 'json' };
import argsGroupGet from '../schemas/args.group.get.schema.json' with { type: 'json' };
import argsGroupSet from '../schemas/args.group.set.schema.json' with { type: 'json' };
import argsGroupRemove from '../schemas/args.group.remove.schema.json' with { type: 'json' };
import argsGroupAddSource from '../schemas/args.group.add-source.schema.json' with { type: 'json' };
import argsGroupRemoveSource from '../schemas/args.group.remove-source.schema.json' with { type: 'json' };
import argsGroupRun from '../schemas/args.group.run.schema.json' with { type: 'json' };
import resultProtectionGroup from '../schemas/result.ProtectionGroup.schema.json' with { type: 'json' };
import resultDataSource from '../schemas/result.DataSource.schema.json' with { type: 'json' };
import resultRemovedProtectionGroup from '../schemas/result.RemovedProtectionGroup.schema.json' with { type: 'json' };
import resultRemovedDataSource from '../schemas/result.RemovedDataSource.schema.json' with { type: 'json' };
import resultProtectionGroupRun from '../schemas/result.ProtectionGroupRun.schema.json' with { type: 'json' };
import argsOnlineEnable from '../schemas/args.online.enable.schema.json' with { type: 'json' };
import argsOnlineCopy from '../schemas/args.online.copy.schema.json' with { type: 'json' };
import resultOnlineCopy from '../schemas/result.OnlineCopy.schema.json' with { type: 'json' };
import argsDsc from '../schemas/args.dsc.schema.json' with { type: 'json' };
import dscMachineSetting from '../schemas/dsc.MachineSetting.schema.json' with { type: 'json' };
import resultDscState from '../schemas/result.DscState.schema.json' with { type: 'json' };
import argsFleetReport from '../schemas/args.fleet.report.schema.json' with { type: 'json' };
import resultFleetServer from '../schemas/result.FleetServer.schema.json' with { type: 'json' };
import resultFleetReport from '../schemas/result.FleetReport.schema.json' with { type: 'json' };

/** Every schema of the protocol, keyed by $id. */
export const ALL_SCHEMAS: readonly { $id: string }[] = [
  argsBackup, argsCertNew, argsCertTest, argsCheck, argsJobStop, argsJobs, argsLs, argsPassphraseSet, argsPointRemove, argsPointUndelete, argsPoints, argsPrune, argsRegister, argsRestore, argsServers, argsSettingsSet, argsSettingsShow, argsVaultAddCert, argsVaultCerts, argsVaultRemoveCert, argsVaultCreate, argsVersion, eventError, eventItem, eventLog, eventProgress, eventResult, event, eventWarning, request, resultCertificate, resultCertificateRule, resultCertificateTest, resultCheckProblem, resultCheckResult, resultJob, resultMachineSetting, resultPassphraseChange, resultPruneResult, resultRecoverableItem, resultRecoveryPoint, resultRegistration, resultRemovedRecoveryPoint, resultRestoreResult, resultServer, resultVault, resultVaultCertificate, resultVersion,
  argsPolicySet, argsPolicyGet, argsPolicyRemove, argsPolicyState, argsPolicyRun, policySchema, resultPolicy, resultPolicyRun, resultRemovedPolicy,
  argsRepair, resultRepairResult, resultRepairedFile,
  argsSourceTest, resultSourceVerdict,
  argsServerUnregister, resultUnregisteredServer, argsServerRenewCert, resultCertificateRenewal,
  argsMemberAdd, argsMemberList, argsMemberRemove, argsMemberTest, resultMember, resultMemberTest, resultRemovedMember,
  argsGroupNew, argsGroupGet, argsGroupSet, argsGroupRemove, argsGroupAddSource, argsGroupRemoveSource, argsGroupRun, resultProtectionGroup, resultDataSource, resultRemovedProtectionGroup, resultRemovedDataSource, resultProtectionGroupRun,
  argsOnlineEnable, argsOnlineCopy, resultOnlineCopy,
  argsDsc, dscMachineSetting, resultDscState,
  argsFleetReport, resultFleetServer, resultFleetReport,
];

// ajv-formats is published as CommonJS with a default export property.
type AddFormats = (ajv: Ajv, formats: string[]) => Ajv;
const addFormats: AddFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats));

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

/** Returns the validator for a schema $id (compiled once, on first use, to keep start-up small). */
export function validator(id: string): ValidateFunction {
  let fn = compiled.get(id);
  if (fn) return fn;
  if (!ajv) {
    // validateSchema: false — the schemas are checked against the JSON Schema meta-schema by the tests
    // (test/protocol), not again at every start of the engine (that costs more than the rest of ajv).
    ajv = new Ajv({ allErrors: true, strict: true, validateSchema: false, schemas: ALL_SCHEMAS as object[] });
    addFormats(ajv, ['date-time']);
  }
  fn = ajv.getSchema(id);
  if (!fn) throw new Error(`no schema ${id}`);
  compiled.set(id, fn);
  return fn;
}

/** True when a schema with this $id exists. */
export function hasSchema(id: string): boolean {
  return ALL_SCHEMAS.some((s) => s.$id === id);
}

/** Human-readable summary of ajv errors. Never includes the offending values (they may be secrets). */
export function describeErrors(errors: ErrorObject[] | null | undefined, root = ''): string {
  if (!errors || errors.length === 0) return 'invalid';
  return errors.map((e) => {
    const where = `${root}${e.instancePath}` || '(root)';
    if (e.keyword === 'additionalProperties') return `${where}: unknown property '${String(e.params['additionalProperty'])}'`;
    return `${where} ${e.message ?? 'is invalid'}`;
  }).join('; ');
}
