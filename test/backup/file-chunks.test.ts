// chunkFile (core/backup/file-chunks.ts): how a file's chunks are batched for the main thread.
import { createSecretKey, randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chunkFile, type ChunkJobEvent } from '../../core/backup/file-chunks.js';
import { DEFAULT_CHUNKER_PARAMS, gearTable } from '../../core/chunker/fastcdc.js';
import { tempDir } from '../helpers/tmp.js';

describe('chunkFile', () => {
  it('sends the chunks of data that compresses to nothing (a sparse file\'s holes) in batches as it reads, not at the end', () => {
    const path = join(tempDir(), 'sparse.img');
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 256 * 1024 * 1024);
    closeSync(fd);
    const keys = { params: { ...DEFAULT_CHUNKER_PARAMS }, gear: gearTable(randomBytes(32)), blobIdKey: createSecretKey(randomBytes(32)) };
    const events: ChunkJobEvent[] = [];
    chunkFile({ path: Buffer.from(path), size: 256 * 1024 * 1024, mtimeNs: statSync(path, { bigint: true }).mtimeNs.toString() }, keys, (e) => events.push(e));
    const batches = events.filter((e) => e.kind === 'chunks');
    const rawPerBatch = batches.map((b) => b.rawLengths.reduce((n, l) => n + l, 0));
    expect(rawPerBatch.reduce((n, l) => n + l, 0)).toBe(256 * 1024 * 1024);
    // Each batch stays near 32 MiB of file bytes, though its bodies are a few hundred bytes.
    expect(batches.length).toBeGreaterThanOrEqual(7);
    for (const raw of rawPerBatch) expect(raw).toBeLessThanOrEqual(32 * 1024 * 1024 + DEFAULT_CHUNKER_PARAMS.maxSize);
    expect(batches.every((b) => b.bytes < 64 * 1024)).toBe(true);
    expect(events.at(-1)).toMatchObject({ kind: 'done', bytesRead: 256 * 1024 * 1024, changed: false });
  });
});
