// `version`: engine version, protocol version and runtime, so the module can refuse an engine it does not know.
import { ENGINE_VERSION, PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../version.js';
import type { Command } from './command.js';

/** Data of the Version result. */
export function versionInfo(): Record<string, unknown> {
  return {
    engineVersion: ENGINE_VERSION,
    protocolVersion: PROTOCOL_VERSION,
    supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
    nodeVersion: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** One-line form printed by `azbackup --version`. */
export function versionLine(): string {
  return `azbackup ${ENGINE_VERSION} (protocol ${PROTOCOL_VERSION}; node ${process.version}; ${process.platform}-${process.arch})`;
}

export const versionCommand: Command = {
  name: 'version',
  argsSchema: 'azbackup:args.version',
  secrets: [],
  human: { result: () => versionLine() },
  async run(ctx) {
    ctx.sink.result('Version', versionInfo());
    return 0;
  },
};
