// Engine and protocol versions. The engine version is injected by the build (esbuild define);
// the protocol version changes only when a request or event shape changes incompatibly.
declare const AZBACKUP_ENGINE_VERSION: string | undefined;

/** Version of this engine build (package.json "version" at build time; "dev" when run from source). */
export const ENGINE_VERSION: string =
  typeof AZBACKUP_ENGINE_VERSION === 'string' ? AZBACKUP_ENGINE_VERSION : 'dev';

/** The stdio protocol version this engine speaks. The module refuses engines it does not know. */
export const PROTOCOL_VERSION = 1;

/** Protocol versions this engine accepts in a request. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];
