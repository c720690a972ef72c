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
