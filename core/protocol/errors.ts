// Stable error codes and the one error class that crosses the process boundary as an `error` event.
// A code never changes meaning once released; the PowerShell module turns it into the ErrorId.

/** PowerShell ErrorCategory names the engine may use (the module maps them 1:1). */
export type ErrorCategory =
  | 'InvalidArgument' | 'InvalidData' | 'InvalidOperation' | 'ObjectNotFound' | 'ResourceExists'
  | 'PermissionDenied' | 'AuthenticationError' | 'ProtocolError' | 'NotImplemented'
  | 'ResourceUnavailable' | 'OperationStopped' | 'SecurityError' | 'InvalidResult' | 'NotSpecified';

/** Process exit codes, documented in README ("Exit codes"). */
export const ExitCode = {
  Ok: 0,
  Failed: 1,
  BadRequest: 2,
  CompletedWithWarnings: 3,
  NotCompliant: 4,
  Cancelled: 5,
} as const;

interface CodeInfo { category: ErrorCategory; exit: number }

/** Every error code the engine emits, with its PowerShell category and process exit code. */
export const ERROR_CODES = {
  // Request / protocol
  AZB_REQUEST_INVALID_JSON: { category: 'ProtocolError', exit: ExitCode.BadRequest },
  AZB_REQUEST_INVALID: { category: 'ProtocolError', exit: ExitCode.BadRequest },
  AZB_REQUEST_TOO_LARGE: { category: 'ProtocolError', exit: ExitCode.BadRequest },
  AZB_PROTOCOL_UNSUPPORTED: { category: 'ProtocolError', exit: ExitCode.BadRequest },
  AZB_COMMAND_UNKNOWN: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_ARGS_INVALID: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_USAGE: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_SECRET_SOURCE: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_SECRET_FILE_UNPROTECTED: { category: 'SecurityError', exit: ExitCode.BadRequest },
  // Files
  AZB_FILE_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_PATH_IS_DIRECTORY: { category: 'InvalidArgument', exit: ExitCode.Failed },
  AZB_FILE_ACCESS_DENIED: { category: 'PermissionDenied', exit: ExitCode.Failed },
  AZB_FILE_EXISTS: { category: 'ResourceExists', exit: ExitCode.Failed },
  AZB_DIRECTORY_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_IO: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  // Certificates
  AZB_CERT_KEY_TOO_SHORT: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_CERT_KEY_SIZE_UNSUPPORTED: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_CERT_VALIDITY_TOO_LONG: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_CERT_VALIDITY_INVALID: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_CERT_SUBJECT_INVALID: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_CERT_PASSWORD_REQUIRED: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_CERT_PASSWORD_WRONG: { category: 'AuthenticationError', exit: ExitCode.Failed },
  AZB_CERT_UNREADABLE: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_CERT_NO_CERTIFICATE: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_CERT_NOT_COMPLIANT: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_CERT_NOT_IN_VAULT: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_CERT_EXPIRED: { category: 'SecurityError', exit: ExitCode.Failed },
  AZB_CERT_PRIVATE_KEY_REQUIRED: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  // Vaults and servers
  AZB_VAULT_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_VAULT_NOT_A_VAULT: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_VAULT_EXISTS: { category: 'ResourceExists', exit: ExitCode.Failed },
  AZB_VAULT_FOLDER_NOT_EMPTY: { category: 'ResourceExists', exit: ExitCode.Failed },
  AZB_VAULT_VERSION_UNSUPPORTED: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_VAULT_LOCATION_UNSUPPORTED: { category: 'NotImplemented', exit: ExitCode.BadRequest },
  AZB_VAULT_REQUIRED: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_STORAGE_CREDENTIAL_REQUIRED: { category: 'AuthenticationError', exit: ExitCode.BadRequest },
  AZB_STORAGE_AUTH_FAILED: { category: 'AuthenticationError', exit: ExitCode.Failed },
  AZB_VAULT_ACCESS_DENIED: { category: 'PermissionDenied', exit: ExitCode.Failed },
  AZB_PROXY_AUTH_FAILED: { category: 'AuthenticationError', exit: ExitCode.Failed },
  AZB_VAULT_IO: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_VAULT_UNSAFE_OBJECT: { category: 'SecurityError', exit: ExitCode.Failed },
  AZB_VAULT_LOCKED: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_LOCK_LOST: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  // Tar import (backup --from-tar)
  AZB_TAR_INVALID: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_TAR_TRUNCATED: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_TAR_EMPTY: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_TAR_UNSAFE_PATH: { category: 'SecurityError', exit: ExitCode.Failed },
  AZB_TAR_OUTSIDE_ROOT: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_TAR_UNSUPPORTED: { category: 'NotImplemented', exit: ExitCode.Failed },
  AZB_TAR_NAME_NOT_UTF8: { category: 'NotImplemented', exit: ExitCode.Failed },
  AZB_BACKUP_RUNNING: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_OBJECT_DAMAGED: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_PRUNE_DATA_MISSING: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_PRUNE_TREE_DAMAGED: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_TREE_DAMAGED: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_SERVER_NOT_REGISTERED: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_SERVER_ALREADY_REGISTERED: { category: 'ResourceExists', exit: ExitCode.Failed },
  AZB_REGISTRATION_IN_PROGRESS: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_SERVER_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_SERVER_AMBIGUOUS: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_PASSPHRASE_REQUIRED: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_PASSPHRASE_TOO_SHORT: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_PASSPHRASE_WRONG: { category: 'AuthenticationError', exit: ExitCode.Failed },
  AZB_KEY_NOT_CURRENT: { category: 'SecurityError', exit: ExitCode.Failed },
  AZB_KEY_FILE_UNSAFE: { category: 'SecurityError', exit: ExitCode.Failed },
  AZB_REGISTRATION_MISMATCH: { category: 'SecurityError', exit: ExitCode.Failed },
  AZB_CACHE_FULL: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_CACHE_UNUSABLE: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_HOME_UNUSABLE: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  // Backup and restore
  AZB_SOURCE_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  // Sources AzBackup refuses (core/source/eligibility.ts, README "What can be backed up")
  AZB_SOURCE_NETWORK: { category: 'InvalidOperation', exit: ExitCode.Failed },
  AZB_SOURCE_REMOVABLE: { category: 'InvalidOperation', exit: ExitCode.Failed },
  AZB_SOURCE_READ_ONLY: { category: 'InvalidOperation', exit: ExitCode.Failed },
  AZB_SOURCE_OFFLINE: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_SOURCE_FILE_SYSTEM: { category: 'InvalidOperation', exit: ExitCode.Failed },
  AZB_SOURCE_ACCESS_DENIED: { category: 'PermissionDenied', exit: ExitCode.Failed },
  // Snapshots (core/snapshot/, README "Snapshot-consistent reads"): errors under -Snapshot Required;
  // under Auto, AZB_SNAPSHOT_FAILED is a warning and the source is read live.
  AZB_SNAPSHOT_UNAVAILABLE: { category: 'InvalidOperation', exit: ExitCode.Failed },
  AZB_SNAPSHOT_FAILED: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_POINT_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_VAULT_UNREACHABLE: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_CERT_IN_USE: { category: 'InvalidOperation', exit: ExitCode.Failed },
  AZB_POINT_DELETED: { category: 'InvalidOperation', exit: ExitCode.Failed },
  AZB_POINT_TAMPERED: { category: 'SecurityError', exit: ExitCode.Failed },
  AZB_POINT_MISSING: { category: 'SecurityError', exit: ExitCode.Failed },
  AZB_ITEM_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_RESTORE_TARGET_NOT_WRITABLE: { category: 'PermissionDenied', exit: ExitCode.Failed },
  AZB_RESTORE_TARGET_LINK: { category: 'SecurityError', exit: ExitCode.Failed },
  AZB_RESTORE_TARGET_REQUIRED: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_JOB_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_RESTORE_VERIFY_FAILED: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_RESTORE_NO_SPACE: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_CANCELLED: { category: 'OperationStopped', exit: ExitCode.Cancelled },
  // Policies and schedules
  AZB_POLICY_INVALID: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_SCHEDULE_INVALID: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_RETENTION_INVALID: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_FILESPEC_INVALID: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_FILESPEC_OVERLAP: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_POLICY_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_POLICY_EXISTS: { category: 'ResourceExists', exit: ExitCode.Failed },
  AZB_POLICY_RUNNING: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_JOB_RUNNING: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_SCHEDULER_FAILED: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_PASSPHRASE_STORE_FAILED: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_STORED_PASSPHRASE_WRONG: { category: 'AuthenticationError', exit: ExitCode.Failed },
  AZB_SOURCE_COMMAND_FAILED: { category: 'InvalidResult', exit: ExitCode.Failed },
  AZB_SOURCE_COMMAND_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  // Pre and post commands (core/backup/hooks.ts); a failed post command is only the warning AZB_POST_COMMAND_FAILED
  AZB_PRE_COMMAND_FAILED: { category: 'InvalidResult', exit: ExitCode.Failed },
  // Members over SSH (core/member/, README "Members over SSH")
  AZB_MEMBER_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_MEMBER_EXISTS: { category: 'ResourceExists', exit: ExitCode.Failed },
  AZB_MEMBER_HOST_KEY_UNKNOWN: { category: 'SecurityError', exit: ExitCode.Failed },
  AZB_MEMBER_HOST_KEY_CHANGED: { category: 'SecurityError', exit: ExitCode.Failed },
  AZB_MEMBER_UNREACHABLE: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
  AZB_MEMBER_AUTH_FAILED: { category: 'AuthenticationError', exit: ExitCode.Failed },
  AZB_MEMBER_COMMAND_FAILED: { category: 'InvalidResult', exit: ExitCode.Failed },
  // Protection groups and online protection (README "Protection groups")
  AZB_GROUP_INVALID: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_GROUP_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_GROUP_EXISTS: { category: 'ResourceExists', exit: ExitCode.Failed },
  AZB_GROUP_VAULT_NOT_DISK: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_DATASOURCE_NOT_FOUND: { category: 'ObjectNotFound', exit: ExitCode.Failed },
  AZB_DATASOURCE_IN_OTHER_GROUP: { category: 'ResourceExists', exit: ExitCode.Failed },
  AZB_ONLINE_RETENTION_INVALID: { category: 'InvalidArgument', exit: ExitCode.BadRequest },
  AZB_ONLINE_NOT_ENABLED: { category: 'InvalidOperation', exit: ExitCode.Failed },
  AZB_ONLINE_CERT_NOT_UPLOADED: { category: 'InvalidOperation', exit: ExitCode.Failed },
  AZB_ONLINE_SIZE_LIMIT: { category: 'InvalidOperation', exit: ExitCode.Failed },
  // Engine
  AZB_INTERNAL: { category: 'NotSpecified', exit: ExitCode.Failed },
  AZB_INTERNAL_INVARIANT: { category: 'InvalidData', exit: ExitCode.Failed },
  AZB_WORKER_FAILED: { category: 'ResourceUnavailable', exit: ExitCode.Failed },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Details an error may carry; none of them may contain a secret. */
export interface ErrorDetails {
  /** What the user should do about it, in one sentence. */
  hint?: string;
  /** The thing the error is about (a path, a command, a parameter name). */
  target?: string;
}

/** The engine's error: a stable code, a message saying what was wrong, and a hint saying what to do. */
export class AzbError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly target: string | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'AzbError';
    this.code = code;
    this.hint = details.hint;
    this.target = details.target;
  }

  get category(): ErrorCategory { return ERROR_CODES[this.code].category; }
  get exitCode(): number { return ERROR_CODES[this.code].exit; }
}

/** Wraps anything thrown into an AzbError; unknown errors become AZB_INTERNAL (message only, no stack). */
export function toAzbError(err: unknown): AzbError {
  if (err instanceof AzbError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AzbError('AZB_INTERNAL', `Internal error: ${message}`, {
    hint: 'Run again with --debug for details and report it if it persists.',
  });
}

/** Maps a Node file-system error (ENOENT, EACCES, EISDIR, EEXIST) on `path` to a coded error. */
export function fileError(err: unknown, path: string, what = 'File'): AzbError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new AzbError('AZB_FILE_NOT_FOUND', `${what} not found: ${path}`, { target: path, hint: 'Check the path and try again.' });
    case 'EISDIR':
      return new AzbError('AZB_PATH_IS_DIRECTORY', `${path} is a directory, not a file.`, { target: path, hint: 'Give the path of a file.' });
    case 'EACCES':
    case 'EPERM':
      return new AzbError('AZB_FILE_ACCESS_DENIED', `Access denied: ${path}`, { target: path, hint: 'Run with an account that may read or write this path.' });
    case 'EEXIST':
      return new AzbError('AZB_FILE_EXISTS', `${what} already exists: ${path}`, { target: path, hint: 'Choose another name, or use -Force / --force to replace it.' });
    default:
      return new AzbError('AZB_IO', `I/O error on ${path}: ${code ?? (err as Error)?.message ?? 'unknown'}`, { target: path });
  }
}
