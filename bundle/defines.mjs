// The kind of engine build, decided at build time and compiled in (esbuild define):
//   release (npm run build, the default): the executable a server runs; AZBACKUP_TEST_KDF is ignored, so
//     it can never write a key file with the weak test KDF, whatever its environment says, and its clock
//     is the system's (AZBACKUP_TEST_NOW is ignored, core/clock.ts);
//   test (build.mjs --test: npm run build:test, and npm test builds this): honours AZBACKUP_TEST_KDF=fast
//     so the suite's many registrations stay fast, and AZBACKUP_TEST_NOW so retention can be tested on
//     points of other days. Never install one on a server: npm test builds a
//     release again once its tests are done (each build prints which kind it made).

/** The kind of build the arguments ask for: "test" with --test, else "release". */
export function buildKind(argv = process.argv.slice(2)) {
  return argv.includes('--test') ? 'test' : 'release';
}

/** The esbuild defines that differ between the kinds of build (core/crypto/keys.ts). */
export function buildDefines(kind) {
  return { AZBACKUP_TEST_BUILD: kind === 'test' ? 'true' : 'false' };
}

/**
 * The engine bundle's first line: import.meta.url for its bundled ESM dependencies (yargs), made at start
 * (see build.mjs). A fixed absolute path nothing creates: under / elsewhere, under the Windows folder on
 * Windows (like /, only administrators may add folders there; C:\ lets any user make one).
 */
export const IMPORT_META_URL_BANNER = String.raw`var __azbImportMetaUrl = (() => {
  if (process.platform !== 'win32') return 'file:///azbackup-engine/bundle/dist/azbackup.cjs';
  const windowsFolder = /^[A-Za-z]:\\[^\\]/.test(process.env.SystemRoot || '') ? process.env.SystemRoot : 'C:\\Windows';
  return require('node:url').pathToFileURL(require('node:path').win32.join(windowsFolder, 'azbackup-engine', 'bundle', 'dist', 'azbackup.cjs'), { windows: true }).href;
})();`;
