// The DSC v3 command resource: core/dsc/azbackup.dsc.resource.json is valid by Microsoft's published
// manifest schema (vendored in test/fixtures/dsc), and its commands, run exactly as it declares them
// (executable found on PATH, its args, the instance on stdin), do what DSC expects of get, test, set and
// export. The `dsc` CLI itself is not available here.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json' with { type: 'json' };
import { beforeAll, describe, expect, it } from 'vitest';
import { requireEngine, resultOf, rpc } from '../helpers/engine.js';
import { tempDir } from '../helpers/tmp.js';
import instanceSchema from '../../core/schemas/dsc.MachineSetting.schema.json' with { type: 'json' };

const root = join(import.meta.dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'core', 'dsc', 'azbackup.dsc.resource.json'), 'utf8')) as Manifest;
const published = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'dsc', 'manifest.v3.1.0.bundled.schema.json'), 'utf8')) as { $id: string };

interface Method { executable: string; args: string[]; input?: 'stdin' | 'env'; return?: 'state' | 'stateAndDiff'; implementsPretest?: boolean; handlesExist?: boolean }
interface Manifest { $schema: string; type: string; version: string; get: Method; set: Method; test: Method; export: Method; schema: { embedded: Record<string, unknown> & { properties: Record<string, unknown> } } }

type AddFormats = (ajv: Ajv2020, formats: string[]) => Ajv2020;
const addFormats: AddFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats));

function newAjv(): Ajv2020 {
  // The published schema refers to the draft-07 meta-schema (embedded instance schemas may use it) and
  // uses the uri/uri-reference formats; DSC's own VS Code keywords (markdownDescription…) are not JSON Schema.
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  ajv.addMetaSchema(draft07);
  addFormats(ajv, ['uri', 'uri-reference']);
  return ajv;
}

describe('the DSC v3 resource manifest', () => {
  const ajv = newAjv();
  ajv.addSchema(published);
  const validateManifest = ajv.getSchema(published.$id)!;

  it('is valid by the published DSC v3.1.0 resource manifest schema, and a manifest that breaks its rules is not', () => {
    expect(validateManifest(manifest), JSON.stringify(validateManifest.errors, null, 1)).toBe(true);
    // The check can fail: a return kind DSC does not know, a type without owner, input that is neither stdin nor env.
    for (const broken of [
      { ...manifest, set: { ...manifest.set, return: 'diff' } },
      { ...manifest, type: 'MachineSetting' },
      { ...manifest, get: { ...manifest.get, input: 'file' } },
      { ...manifest, schema: { embedded: { ...manifest.schema.embedded, type: 'array' } } },
    ]) expect(validateManifest(broken)).toBe(false);
  });

  it('declares stdin input, set.return and test.return, pre-test and _exist handling, and an embedded schema with _exist and _inDesiredState as the canonical references', () => {
    expect(manifest.type).toBe('AzBackup/MachineSetting');
    expect(manifest.version).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
    for (const m of [manifest.get, manifest.set, manifest.test, manifest.export]) expect(m.input).toBe('stdin');
    expect(manifest.set.return).toBe('stateAndDiff');
    expect(manifest.test.return).toBe('stateAndDiff');
    expect(manifest.set.implementsPretest).toBe(true);
    expect(manifest.set.handlesExist).toBe(true);
    const props = manifest.schema.embedded.properties;
    expect(props['_exist']).toEqual({ $ref: 'https://raw.githubusercontent.com/PowerShell/DSC/main/schemas/v3.1.0/resource/properties/exist.json' });
    expect(props['_inDesiredState']).toEqual({ $ref: 'https://raw.githubusercontent.com/PowerShell/DSC/main/schemas/v3.1.0/resource/properties/inDesiredState.json' });
    // Every other property is the engine's own instance schema (core/schemas/dsc.MachineSetting.schema.json), so the two cannot drift apart.
    const own = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('_')));
    expect(own(props)).toEqual(own(instanceSchema.properties));
    expect(Object.keys(props).sort()).toEqual(Object.keys(instanceSchema.properties).sort());
  });
});

describe('the manifest\'s commands, run as declared', () => {
  let env: Record<string, string>;
  let home: string;
  const ajv = newAjv();
  ajv.addSchema(published); // the canonical _exist and _inDesiredState schemas are bundled in it, with their $id
  const validateInstance = ajv.compile(manifest.schema.embedded);

  /** Runs one method of the manifest: its executable through PATH, its args, the instance on stdin when it takes input. */
  function invoke(method: Method, instance?: unknown): { code: number; lines: unknown[]; stdout: string; stderr: string } {
    const r = spawnSync(method.executable, method.args, { env, encoding: 'utf8', input: method.input === 'stdin' ? JSON.stringify(instance ?? {}) : '' });
    const lines = r.status === 0 ? r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown) : [];
    return { code: r.status ?? -1, lines, stdout: r.stdout, stderr: r.stderr };
  }

  function expectInstance(x: unknown): Record<string, unknown> {
    expect(validateInstance(x), `${JSON.stringify(x)}: ${JSON.stringify(validateInstance.errors)}`).toBe(true);
    return x as Record<string, unknown>;
  }

  const desired = { uploadConcurrency: 8, throttled: true, workDays: ['Friday', 'Monday'], startWorkHour: 8, endWorkHour: 17, workHourBandwidth: 1048576, nonWorkHourBandwidth: 20971520, metricsFile: '/var/lib/node-exporter/azbackup.prom' };

  beforeAll(() => {
    home = tempDir('azb-dsc-v3-');
    // Only the engine's folder and the system's: DSC finds `azbackup` on PATH the same way.
    env = { PATH: `${dirname(requireEngine())}:/usr/bin:/bin`, AZBACKUP_HOME: home, HOME: home };
  });

  it('get, test (drift), set (state and diff), test again (in the desired state), set again (changes nothing), export', () => {
    const got = invoke(manifest.get, {});
    expect(got.code, got.stderr).toBe(0);
    expect(got.lines).toHaveLength(1);
    expect(expectInstance(got.lines[0])).toMatchObject({ _exist: false, uploadConcurrency: 4, throttled: false, metricsFile: '' });

    const drift = invoke(manifest.test, desired);
    expect(drift.code, drift.stderr).toBe(0);
    expect(drift.lines).toHaveLength(2); // stateAndDiff: the actual state, then the properties that differ
    expect(expectInstance(drift.lines[0])).toMatchObject({ _inDesiredState: false, uploadConcurrency: 4 });
    expect(drift.lines[1]).toEqual(['uploadConcurrency', 'throttled', 'workDays', 'startWorkHour', 'endWorkHour', 'workHourBandwidth', 'nonWorkHourBandwidth', 'metricsFile']);

    const set = invoke(manifest.set, desired);
    expect(set.code, set.stderr).toBe(0);
    expect(set.lines).toHaveLength(2);
    expect(expectInstance(set.lines[0])).toEqual({ _exist: true, ...desired, workDays: ['Monday', 'Friday'], proxyServer: '', proxyPort: 0, proxyUsername: '' });
    expect(set.lines[1]).toEqual(drift.lines[1]);
    const settingsFile = join(home, 'settings.json');
    expect(JSON.parse(readFileSync(settingsFile, 'utf8'))).toMatchObject({ uploadConcurrency: 8, metricsFile: desired.metricsFile, throttle: { workDays: [1, 5], startWorkHour: 8, endWorkHour: 17 } });

    const again = invoke(manifest.test, desired);
    expect(again.code, again.stderr).toBe(0);
    expect(expectInstance(again.lines[0])).toMatchObject({ _inDesiredState: true });
    expect(again.lines[1]).toEqual([]);

    // implementsPretest: the same set again writes nothing.
    const written = statSync(settingsFile).mtimeMs;
    const idle = invoke(manifest.set, desired);
    expect(idle.code, idle.stderr).toBe(0);
    expect(idle.lines[1]).toEqual([]);
    expect(statSync(settingsFile).mtimeMs).toBe(written);

    const exported = invoke(manifest.export);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.lines).toHaveLength(1);
    expect(expectInstance(exported.lines[0])).toEqual(set.lines[0]);

    // A partial instance changes only what it names: the throttle stays, only the rate changes.
    const partial = invoke(manifest.set, { workHourBandwidth: 2097152 });
    expect(partial.lines[1]).toEqual(['workHourBandwidth']);
    expect(partial.lines[0]).toMatchObject({ throttled: true, workDays: ['Monday', 'Friday'], startWorkHour: 8, workHourBandwidth: 2097152, uploadConcurrency: 8 });
  });

  it('_exist false: set resets every managed setting to its default (handlesExist), and test says so', () => {
    const reset = invoke(manifest.set, { _exist: false });
    expect(reset.code, reset.stderr).toBe(0);
    expect(expectInstance(reset.lines[0])).toMatchObject({ _exist: false, uploadConcurrency: 4, throttled: false, metricsFile: '', proxyServer: '' });
    expect(reset.lines[1]).toEqual(['_exist']);
    const test = invoke(manifest.test, { _exist: false });
    expect(test.lines[0]).toMatchObject({ _inDesiredState: true });
  });

  it('through rpc (as the module would call it): one DscState result, checked against its schema', async () => {
    const r = await rpc({ protocolVersion: 1, command: 'dsc.test', args: { resource: 'MachineSetting', instance: { uploadConcurrency: 4, metricsFile: '' } } }, { env });
    expect(r.code, r.stdout).toBe(0);
    const state = resultOf(r, 'DscState');
    expect(state['resource']).toBe('AzBackup/MachineSetting');
    expect(state['instance']).toMatchObject({ _inDesiredState: true, _exist: false });
    expect(state['diff']).toEqual([]);
  });

  it('bad input: not JSON, an unknown property, a value out of range, a contradiction — exit 2, nothing on stdout, one coded error on stderr, nothing changed', () => {
    const before = invoke(manifest.get, {}).lines[0];
    const cases: [string, string][] = [
      ['{"uploadConcurrency": 8', 'AZB_REQUEST_INVALID_JSON'],
      ['{"uploadConcurrency": 8, "passphrase": "x"}', 'AZB_ARGS_INVALID'],
      ['{"uploadConcurrency": 99}', 'AZB_ARGS_INVALID'],
      ['{"throttled": false, "workHourBandwidth": 1048576}', 'AZB_ARGS_INVALID'],
      ['{"throttled": true, "workHourBandwidth": 10}', 'AZB_ARGS_INVALID'],
      ['[1, 2]', 'AZB_ARGS_INVALID'],
    ];
    for (const [input, code] of cases) {
      const r = spawnSync(manifest.set.executable, manifest.set.args, { env, encoding: 'utf8', input });
      expect(r.status, `${input}: ${r.stderr}`).toBe(2);
      expect(r.stdout).toBe('');
      const errors = r.stderr.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { type: string; code: string; message: string });
      expect(errors.filter((e) => e.type === 'error').map((e) => e.code), input).toEqual([code]);
    }
    expect(invoke(manifest.get, {}).lines[0]).toEqual(before);
  });
});
