// The protocol's JSON Schemas: the engine compiles them without checking them against the meta-schema
// (that check cost more at every start than the rest of ajv), so it is done here, once, for every file.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { ALL_SCHEMAS, hasSchema, validator } from '../../core/protocol/schemas.js';
import { COMMAND_NAMES, loadCommand } from '../../core/commands/index.js';

const dir = join(import.meta.dirname, '..', '..', 'core', 'schemas');
const files = readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort();

describe('protocol schemas', () => {
  it('every schema file is valid against the JSON Schema meta-schema', () => {
    const ajv = new Ajv({ strict: true });
    for (const f of files) {
      const schema = JSON.parse(readFileSync(join(dir, f), 'utf8')) as object;
      const ok = ajv.validateSchema(schema);
      expect(ok, `${f}: ${ajv.errorsText(ajv.errors)}`).toBe(true);
    }
  });

  it('the engine knows every schema file, under a unique $id, and compiles each in strict mode', () => {
    const ids = files.map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { $id: string }).$id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ALL_SCHEMAS.map((s) => s.$id).sort()).toEqual([...ids].sort());
    for (const id of ids) {
      expect(hasSchema(id)).toBe(true);
      expect(typeof validator(id)).toBe('function');
    }
    expect(hasSchema('azbackup:no-such-schema')).toBe(false);
  });

  it('a schema that breaks the meta-schema is caught by the check above', () => {
    const ajv = new Ajv({ strict: true });
    expect(ajv.validateSchema({ type: 'objekt' })).toBe(false);
    expect(ajv.validateSchema({ type: 'object', required: 'name' })).toBe(false);
  });
});

describe('command registry', () => {
  it('every request name loads the command of that name, with an args schema the engine knows', async () => {
    expect(COMMAND_NAMES.length).toBeGreaterThanOrEqual(45);
    expect(new Set(COMMAND_NAMES).size).toBe(COMMAND_NAMES.length);
    for (const name of COMMAND_NAMES) {
      const command = await loadCommand(name);
      expect(command?.name).toBe(name);
      expect(hasSchema(command!.argsSchema), `${name}: ${command!.argsSchema}`).toBe(true);
    }
    expect(await loadCommand('no.such.command')).toBeUndefined();
  });
});
