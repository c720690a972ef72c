// The skipped-files report of one backup: every path the backup left out, with a stable code and the
// reason. Each entry is written to the job's skipped.txt (core/jobs/job-files.ts) as the backup goes, so
// a million skipped files cost disk, not memory; the job record keeps the counts and the file's path.
import { appendJobFile, jobFilePath } from '../jobs/job-files.js';
import type { EventSink } from '../protocol/events.js';
import { WARNINGS_KEPT } from '../protocol/events.js';
import type { Skipped } from './scanner.js';

/**
 * The codes of a skipped entry (beside them: AZB_SOURCE_* for a mount the walk would not enter, from the
 * eligibility check, and AZB_INTERNAL_INVARIANT for a file whose chunks could not be proved).
 */
export const SKIP_CODES = {
  /** A socket, FIFO or device: only file data is backed up (as the MARS agent). Not a warning. */
  special: 'AZB_SKIP_SPECIAL',
  /** Listed, then gone before it was read (a file or a folder removed while the backup ran). */
  vanished: 'AZB_SKIP_VANISHED',
  /** The account running the backup may not read it (EACCES, EPERM). */
  denied: 'AZB_SKIP_ACCESS_DENIED',
  /** Its path is longer than PATH_MAX (4,096 bytes with the end byte): the system calls refuse it. */
  tooLong: 'AZB_SKIP_PATH_TOO_LONG',
  /** Any other error while listing or reading it (the errno is in the reason). */
  readError: 'AZB_SKIP_READ_ERROR',
} as const;

/** Linux's PATH_MAX: a path handed to a system call holds at most this many bytes, the end byte included. */
export const PATH_MAX = 4096;

const BACKSLASH = 0x5c;
const ESCAPES: Record<number, string> = { 0x5c: '\\\\', 0x0a: '\\n', 0x09: '\\t', 0x0d: '\\r' };
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Length of the UTF-8 sequence a lead byte starts (0: not a lead byte). */
function sequenceLength(b: number): number {
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/**
 * A raw name or path as one line of unambiguous text: valid UTF-8 stays as it is, except that a
 * backslash becomes `\\`, newline `\n`, tab `\t`, carriage return `\r`, any other control byte and every
 * byte that is not part of valid UTF-8 `\xHH` (two lower-case hex digits). Reversible: unescapeSkipped.
 */
export function escapeSkipped(raw: Buffer | string): string {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
  let out = '';
  let plainFrom = 0;
  const hex = (b: number) => `\\x${b.toString(16).padStart(2, '0')}`;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b >= 0x20 && b < 0x7f && b !== BACKSLASH) { i++; continue; }
    let escaped: string | undefined;
    let width = 1;
    if (b < 0x80) {
      escaped = ESCAPES[b] ?? hex(b);
    } else {
      const n = sequenceLength(b);
      let valid = false;
      if (n > 0 && i + n <= bytes.length) {
        try { utf8.decode(bytes.subarray(i, i + n)); valid = true; } catch { /* overlong, surrogate or bad continuation */ }
      }
      if (valid) width = n; else escaped = hex(b);
    }
    if (escaped !== undefined) {
      out += bytes.subarray(plainFrom, i).toString('utf8') + escaped;
      plainFrom = i + 1;
    }
    i += width;
  }
  return out + bytes.subarray(plainFrom).toString('utf8');
}

/** The raw bytes an escapeSkipped text stands for. */
export function unescapeSkipped(text: string): Buffer {
  const parts: Buffer[] = [];
  let plain = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') { plain += c; continue; }
    const next = text[i + 1];
    if (next === 'x') {
      parts.push(Buffer.from(plain, 'utf8'), Buffer.from([parseInt(text.slice(i + 2, i + 4), 16)]));
      plain = '';
      i += 3;
      continue;
    }
    plain += next === 'n' ? '\n' : next === 't' ? '\t' : next === 'r' ? '\r' : '\\';
    i++;
  }
  parts.push(Buffer.from(plain, 'utf8'));
  return Buffer.concat(parts);
}

/**
 * The skipped entry for a path (raw bytes as latin1, as the scan keeps them) that could not be listed,
 * looked at or read: `err` is the error, or its errno code. `what` names it in the reason ("folder", "file").
 */
export function skippedFor(rawPath: string, err: unknown, what: string): Skipped {
  const code = typeof err === 'string' ? err : (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  const path = escapeSkipped(rawPath);
  if (code === 'ENOENT' || code === 'ENOTDIR') return { path, code: SKIP_CODES.vanished, reason: `${what} removed while the backup ran (${code})` };
  if (code === 'EACCES' || code === 'EPERM') return { path, code: SKIP_CODES.denied, reason: `permission denied (${code}): this account may not read the ${what}` };
  if (code === 'ENAMETOOLONG') {
    return { path, code: SKIP_CODES.tooLong, reason: `the path is ${Buffer.byteLength(rawPath, 'latin1')} bytes, longer than the ${PATH_MAX - 1} a Linux system call accepts (PATH_MAX); the ${what} and what is below it are not backed up` };
  }
  return { path, code: SKIP_CODES.readError, reason: `the ${what} cannot be read (${code})` };
}

/** The entry of a socket, FIFO or device (lstat `st`), which is never backed up. */
export function skippedSpecial(rawPath: string, st: { isSocket(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): Skipped {
  const kind = st.isSocket() ? 'socket' : st.isFIFO() ? 'FIFO' : st.isCharacterDevice() ? 'character device' : st.isBlockDevice() ? 'block device' : 'special file';
  return { path: escapeSkipped(rawPath), code: SKIP_CODES.special, reason: `${kind}: only file data is backed up` };
}

/** What a backup skipped, for its job record and result. */
export interface SkipSummary {
  /** Entries in the report, specials included. */
  count: number;
  /** Entries that were warnings (all but sockets, FIFOs and devices, which are left out by rule). */
  warned: number;
  /** Entries per code. */
  byCode: Record<string, number>;
  /** The job's skipped.txt, or null when nothing was skipped or the backup is not a job. */
  file: string | null;
}

/** Bytes of report lines kept in memory before they are appended to the file. */
const FLUSH_BYTES = 256 * 1024;

/**
 * Collects one backup's skipped entries. Each goes to the job's skipped.txt; the first WARNINGS_KEPT
 * that are warnings are also sent as warnings (the job history keeps those), the rest are counted and
 * named by one closing warning, so a million skipped files do not mean a million warning events.
 */
export class SkipReport {
  private readonly byCode = new Map<string, number>();
  private lines: string[] = [];
  private pending = 0;
  private writing: Promise<void> = Promise.resolve();
  private writeFailed: string | undefined;
  private count = 0;
  private warned = 0;
  private headerWritten = false;

  /** `jobId` undefined: no file (a backup run outside a job, in tests). */
  constructor(private readonly jobId: string | undefined, private readonly sink: EventSink) {}

  /** Adds one entry (warns for the first ones). */
  add(s: Skipped): void {
    this.count++;
    this.byCode.set(s.code, (this.byCode.get(s.code) ?? 0) + 1);
    if (s.code !== SKIP_CODES.special) {
      if (++this.warned <= WARNINGS_KEPT) {
        if (s.code.startsWith('AZB_SOURCE_')) this.sink.warning('AZB_MOUNT_SKIPPED', `Not entered: ${s.reason}`, s.path);
        else this.sink.warning('AZB_FILE_SKIPPED', `Skipped ${s.path}: ${s.reason}`, s.path);
      }
    }
    if (this.jobId === undefined) return;
    const line = `${s.code}\t${s.path}\t${escapeSkipped(Buffer.from(s.reason, 'utf8'))}\n`;
    this.lines.push(line);
    this.pending += line.length;
    if (this.pending >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.jobId === undefined || this.lines.length === 0) return;
    const jobId = this.jobId;
    const header = this.headerWritten ? '' : `# AzBackup skipped files of job ${jobId}. One line per path: CODE<TAB>PATH<TAB>REASON; in PATH and REASON a backslash is \\\\, a newline \\n, a tab \\t, a carriage return \\r, and other control bytes and bytes that are not UTF-8 are \\xHH.\n`;
    this.headerWritten = true;
    const text = header + this.lines.join('');
    this.lines = [];
    this.pending = 0;
    this.writing = this.writing.then(async () => {
      if (this.writeFailed !== undefined) return;
      try { await appendJobFile(jobId, 'skipped.txt', text); } catch (err) { this.writeFailed = (err as NodeJS.ErrnoException).code ?? (err as Error).message; }
    });
  }

  /** Writes what is left, sends the closing warnings, and sums up. */
  async close(): Promise<SkipSummary> {
    this.flush();
    await this.writing;
    const file = this.jobId !== undefined && this.count > 0 && this.writeFailed === undefined ? jobFilePath(this.jobId, 'skipped.txt') : null;
    if (this.warned > WARNINGS_KEPT) {
      this.sink.warning('AZB_FILES_SKIPPED_MORE', `${this.warned - WARNINGS_KEPT} more path(s) were skipped than the ${WARNINGS_KEPT} named in warnings${file ? `; every one is listed in ${file}` : ''}.`, file ?? undefined);
    }
    if (this.writeFailed !== undefined && this.jobId !== undefined) {
      this.sink.warning('AZB_SKIPPED_REPORT_UNWRITABLE', `The list of skipped files could not be written to ${jobFilePath(this.jobId, 'skipped.txt')} (${this.writeFailed}); the warnings name the first ${WARNINGS_KEPT}.`, jobFilePath(this.jobId, 'skipped.txt'));
    }
    return { count: this.count, warned: this.warned, byCode: Object.fromEntries(this.byCode), file };
  }
}
