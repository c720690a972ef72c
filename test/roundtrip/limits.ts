// The sizes and counts at which the backup read path changes behaviour, taken from the engine's own
// constants, so the round-trip generator follows the code when they change.
import { DEFAULT_CHUNKER_PARAMS, MIN_WORK_SIZE } from '../../core/chunker/fastcdc.js';
import { BATCH_BYTES, BATCH_RAW_BYTES, OUTBOX_FLUSH_BYTES, OUTBOX_FLUSH_EVENTS, READ_SIZE } from '../../core/backup/file-chunks.js';
import { ROOM_PER_WORKER } from '../../core/backup/reader-pool.js';
import { PACK_TARGET_SIZE } from '../../core/repo/pack.js';
import { FILES_AHEAD } from '../../core/backup/archiver.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Byte sizes where the read path (chunker, reader, batches, workers, packs) changes behaviour. */
export const BYTE_THRESHOLDS: Readonly<Record<string, number>> = Object.freeze({
  'chunker min': DEFAULT_CHUNKER_PARAMS.minSize,
  'chunker avg': DEFAULT_CHUNKER_PARAMS.avgSize,
  'chunker max': DEFAULT_CHUNKER_PARAMS.maxSize,
  'splitter work buffer (2 × max)': 2 * DEFAULT_CHUNKER_PARAMS.maxSize,
  'splitter work buffer min': MIN_WORK_SIZE,
  'read size': READ_SIZE,
  'batch encoded': BATCH_BYTES,
  'batch raw': BATCH_RAW_BYTES,
  'room per worker': ROOM_PER_WORKER,
  'pack size': PACK_TARGET_SIZE,
  'worker outbox bytes': OUTBOX_FLUSH_BYTES,
});

/** Entry counts where the backup changes behaviour: files started ahead, events a worker sends at once. */
export const COUNT_THRESHOLDS: Readonly<Record<string, number>> = Object.freeze({
  'files started ahead': FILES_AHEAD,
  'worker outbox events': OUTBOX_FLUSH_EVENTS,
});

/** A file this large or larger is "huge": the suite always has one (mostly holes or text, to stay fast). */
export const HUGE_FILE_BYTES = 300 * MiB;

/**
 * Sizes around each byte threshold T: T−1, T, T+1, and the multiples 2T and 3T + 1, at most `max`.
 * Sorted, without repeats.
 */
export function thresholdSizes(max = Infinity): number[] {
  const out = new Set<number>();
  for (const t of Object.values(BYTE_THRESHOLDS)) for (const s of [t - 1, t, t + 1, 2 * t, 3 * t + 1]) if (s >= 0 && s <= max) out.add(s);
  return [...out].sort((a, b) => a - b);
}

/** Powers of two from 1 B up to `max`, each also ±1. */
export function powerOfTwoSizes(max: number): number[] {
  const out = new Set<number>();
  for (let p = 1; p <= max; p *= 2) for (const d of [-1, 0, 1]) if (p + d >= 0 && p + d <= max) out.add(p + d);
  return [...out].sort((a, b) => a - b);
}

/** The byte thresholds T for which a set of file sizes lacks one of T − 1, T, T + 1 or 2T. */
export function missingThresholds(sizes: number[]): string[] {
  const have = new Set(sizes);
  return Object.entries(BYTE_THRESHOLDS).filter(([, t]) => ![t - 1, t, t + 1, 2 * t].every((s) => have.has(s))).map(([n, t]) => `${n} (${t})`);
}
