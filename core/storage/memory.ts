// An ObjectStore held in a Map, for tests: the same semantics as the real backends, no I/O.
// Buffers are copied in and out so a caller can never change a stored object after the fact.
import {
  StorageError, checkObjectName, checkObjectPrefix,
  type ByteRange, type ObjectInfo, type ObjectStore,
} from './storage.js';
import { checkObjectSize } from './limits.js';

/** In-memory ObjectStore; each instance is an empty, independent store. */
export class MemoryStore implements ObjectStore {
  readonly location = 'memory:';
  private readonly objects = new Map<string, Buffer>();
  private readonly written = new Map<string, number>();

  async put(name: string, data: Uint8Array): Promise<void> {
    checkObjectName(name);
    // Check and insert happen in one synchronous step, so concurrent puts cannot both win.
    if (this.objects.has(name)) throw new StorageError('exists', name, `Object already exists: ${name}`);
    this.objects.set(name, Buffer.from(data));
    this.written.set(name, Date.now());
  }

  async get(name: string, range?: ByteRange): Promise<Buffer> {
    checkObjectName(name);
    const data = this.objects.get(name);
    if (data === undefined) throw new StorageError('not-found', name, `Object not found: ${name}`);
    if (range === undefined) {
      checkObjectSize(name, data.length);
      return Buffer.from(data);
    }
    const { offset, length } = range;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > data.length) {
      throw new StorageError('bad-range', name, `Range ${offset}+${length} lies outside object ${name} (${data.length} bytes)`);
    }
    checkObjectSize(name, length, 'range');
    return Buffer.from(data.subarray(offset, offset + length));
  }

  async stat(name: string): Promise<ObjectInfo | undefined> {
    checkObjectName(name);
    const data = this.objects.get(name);
    return data === undefined ? undefined : { name, size: data.length, modified: this.written.get(name)! };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkObjectPrefix(prefix);
    // A snapshot, so deletes during the iteration behave as with a real listing.
    for (const [name, data] of [...this.objects]) {
      if (name.startsWith(prefix)) yield { name, size: data.length, modified: this.written.get(name)! };
    }
  }

  async delete(name: string): Promise<void> {
    checkObjectName(name);
    this.objects.delete(name);
    this.written.delete(name);
  }

  async close(): Promise<void> {
    // Nothing to release; the contents stay readable for test assertions.
  }
}
