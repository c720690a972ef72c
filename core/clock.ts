// The time a recovery point and a policy run take as "now". Tests of retention need points made on
// days other than today: in test builds and from sources, AZBACKUP_TEST_NOW (an ISO time) sets it.
// A release build ignores the variable, as it ignores AZBACKUP_TEST_KDF.
declare const AZBACKUP_TEST_BUILD: boolean | undefined;

const TEST_CLOCK_ALLOWED: boolean = typeof AZBACKUP_TEST_BUILD === 'boolean' ? AZBACKUP_TEST_BUILD : true;

export function now(): Date {
  const fixed = TEST_CLOCK_ALLOWED ? process.env['AZBACKUP_TEST_NOW'] : undefined;
  if (fixed) {
    const t = Date.parse(fixed);
    if (Number.isFinite(t)) return new Date(t);
  }
  return new Date();
}
