import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveKeys } from '../../core/crypto/keys.js';
import { tempDir } from '../helpers/tmp.js';
import { PACK_HEADER_SIZE, PackWriter, encodeBlobBody, openBlob, packKeyFromHeader, readPackFooter } from '../../core/repo/pack.js';

const keys = deriveKeys(randomBytes(32));
const idOf = (b: Buffer) => createHmac('sha256', keys.blobId).update(b).digest();

describe('packs', () => {
  const text = Buffer.from('the same line again and again\n'.repeat(5000));
  const noise = randomBytes(300_000);
  const tiny = Buffer.from('x');

  it('stores blobs that read back exactly, compressed only when it helps', () => {
    const w = new PackWriter(keys);
    const blobs = [text, noise, tiny, Buffer.alloc(0)];
    for (const b of blobs) w.add('data', idOf(b), encodeBlobBody(b), b.length);
    const pack = w.finish();
    const footer = readPackFooter(keys, pack.data);
    expect(footer).toEqual(pack.blobs);
    const key = packKeyFromHeader(keys, pack.data.subarray(0, PACK_HEADER_SIZE));
    footer.forEach((f, i) => {
      const chunk = openBlob(key, Buffer.from(f.id, 'hex'), pack.data.subarray(f.offset, f.offset + f.length), f.rawLength);
      expect(chunk.equals(blobs[i]!)).toBe(true);
    });
    expect(footer[0]!.length).toBeLessThan(text.length / 10); // text compressed
    expect(footer[1]!.length).toBe(noise.length + 1 + 28); // noise stored raw: flag + nonce + tag
    expect(encodeBlobBody(noise).flag).toBe(0);
    expect(encodeBlobBody(text).flag).toBe(1);
  });

  it('hides content and uses a different key per pack', () => {
    const a = new PackWriter(keys); a.add('data', idOf(text), encodeBlobBody(text), text.length);
    const b = new PackWriter(keys); b.add('data', idOf(text), encodeBlobBody(text), text.length);
    const pa = a.finish(); const pb = b.finish();
    expect(pa.data.includes(Buffer.from('the same line'))).toBe(false);
    expect(pa.id).not.toBe(pb.id);
  });

  it('rejects a blob read with the wrong ID, a flipped byte and a damaged footer', () => {
    const w = new PackWriter(keys);
    w.add('data', idOf(text), encodeBlobBody(text), text.length);
    const pack = w.finish();
    const f = pack.blobs[0]!;
    const key = packKeyFromHeader(keys, pack.data);
    const stored = Buffer.from(pack.data.subarray(f.offset, f.offset + f.length));
    expect(() => openBlob(key, idOf(noise), stored, f.rawLength)).toThrow(/authentication/);
    stored[40] = stored[40]! ^ 1;
    expect(() => openBlob(key, Buffer.from(f.id, 'hex'), stored, f.rawLength)).toThrow(/authentication/);
    const bad = Buffer.from(pack.data);
    bad[bad.length - 10] = bad[bad.length - 10]! ^ 1;
    expect(() => readPackFooter(keys, bad)).toThrow(/footer/);
    expect(() => readPackFooter(keys, pack.data.subarray(0, 30))).toThrow(/short|range/);
    const magic = Buffer.from(pack.data); magic[0] = 0x42;
    expect(() => readPackFooter(keys, magic)).toThrow(/not an AzBackup pack/);
  });

  it('closes at the target size', () => {
    const w = new PackWriter(keys);
    const big = randomBytes(8 * 1024 * 1024);
    w.add('data', idOf(big), encodeBlobBody(big), big.length);
    expect(w.fits(7 * 1024 * 1024)).toBe(true);
    w.add('data', idOf(Buffer.from(big.subarray(1))), encodeBlobBody(big.subarray(1)), big.length - 1);
    expect(w.fits(1024 * 1024)).toBe(false);
  });

  it('stages a pack in a file: the same format, its ID the SHA-256 of the file, nothing kept in memory', async () => {
    const dir = tempDir('azb-stage-');
    const path = join(dir, 'pack-1');
    const w = new PackWriter(keys, path);
    const blobs = [text, noise, tiny];
    for (const b of blobs) w.add('data', idOf(b), encodeBlobBody(b), b.length);
    await w.drain();
    expect(w.unwritten).toBe(0);
    expect(() => w.finish()).toThrow(/finishStaged/);
    const pack = await w.finishStaged();
    expect(pack.data).toBeUndefined();
    expect(pack.path).toBe(path);
    const file = readFileSync(path);
    expect(pack.size).toBe(file.length);
    expect(pack.id).toBe(createHash('sha256').update(file).digest('hex'));
    const footer = readPackFooter(keys, file);
    expect(footer).toEqual(pack.blobs);
    const key = packKeyFromHeader(keys, file);
    footer.forEach((f, i) => expect(openBlob(key, Buffer.from(f.id, 'hex'), file.subarray(f.offset, f.offset + f.length), f.rawLength).equals(blobs[i]!)).toBe(true));
  });

  it('reports a staging file it cannot create, and removes a discarded one', async () => {
    const dir = tempDir('azb-stage-');
    writeFileSync(join(dir, 'taken'), 'x');
    const taken = new PackWriter(keys, join(dir, 'taken'));
    taken.add('data', idOf(text), encodeBlobBody(text), text.length);
    await expect(taken.finishStaged()).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(join(dir, 'taken'), 'utf8')).toBe('x');
    const dropped = new PackWriter(keys, join(dir, 'dropped'));
    dropped.add('data', idOf(noise), encodeBlobBody(noise), noise.length);
    await dropped.drain();
    expect(existsSync(join(dir, 'dropped'))).toBe(true);
    await dropped.discard();
    expect(existsSync(join(dir, 'dropped'))).toBe(false);
  });
});
