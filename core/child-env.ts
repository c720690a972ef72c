// The environment of every program AzBackup starts for the admin (pre and post commands, snapshot
// providers, a policy's stream command): the engine's own, without AzBackup's variables and the secrets
// the engine may have been given. One list, so that no kind of child gets a secret another does not.
const SECRET = /^AZBACKUP_|^AZURE_CLIENT_SECRET$|^AZURE_CLIENT_CERTIFICATE_PASSWORD$|^AZURE_PASSWORD$|^AZURE_STORAGE_(KEY|CONNECTION_STRING|SAS_TOKEN)$|^CREDENTIALS_DIRECTORY$/i;

/** Whether a variable of that name is kept from children. Names compare without case (Windows). */
export function isSecretVariable(name: string): boolean {
  return SECRET.test(name);
}

/** This process's environment without AzBackup's variables and secrets, plus `extra`. */
export function childEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !isSecretVariable(k)) env[k] = v;
  return { ...env, ...extra };
}
