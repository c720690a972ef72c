import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealJson, storageId, unsealJson } from '../../core/crypto/seal.js';

describe('sealed objects', () => {
  const key = randomBytes(32);
  const value = { hello: 'world', n: [1, 2, 3] };

  it('round-trips JSON and hides the plaintext', () => {
    const sealed = sealJson(key, 'index', value);
    expect(sealed.toString('latin1')).not.toContain('world');
    expect(unsealJson(key, 'index', sealed)).toEqual({ value });
  });

  it('binds the kind: an index cannot be read as a recovery point', () => {
    expect(unsealJson(key, 'point', sealJson(key, 'index', value))).toEqual({ failure: 'authentication' });
  });

  it('detects every flipped byte and an unknown version', () => {
    const sealed = sealJson(key, 'config', value);
    for (let i = 1; i < sealed.length; i += Math.max(1, Math.floor(sealed.length / 17))) {
      const bad = Buffer.from(sealed);
      bad[i] = bad[i]! ^ 0x80;
      expect(unsealJson(key, 'config', bad)).toEqual({ failure: 'authentication' });
    }
    const v2 = Buffer.from(sealed);
    v2[0] = 2;
    expect(unsealJson(key, 'config', v2)).toEqual({ failure: 'unknown-version' });
    expect(unsealJson(randomBytes(32), 'config', sealed)).toEqual({ failure: 'authentication' });
  });

  it('names objects by the SHA-256 of their bytes', () => {
    expect(storageId(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
