// The events an engine run emits, and the sinks that write them: NDJSON for the module and for
// `--json`, readable text for a person at a terminal. Every line on stdout in JSON mode is one event.
import { AzbError } from './errors.js';

export interface ProgressEvent { type: 'progress'; activity: string; status: string; percent?: number; currentItem?: string; secondsRemaining?: number }
export interface LogEvent { type: 'log'; level: 'verbose' | 'debug'; message: string }
export interface WarningEvent { type: 'warning'; code: string; message: string; target?: string }
export interface ItemEvent { type: 'item'; kind: string; data: Record<string, unknown> }
export interface ResultEvent { type: 'result'; kind: string; data: Record<string, unknown> }
export interface ErrorEvent {
  type: 'error'; code: string; category: string; message: string; hint?: string; target?: string; exitCode: number; stack?: string;
}
export type EngineEvent = ProgressEvent | LogEvent | WarningEvent | ItemEvent | ResultEvent | ErrorEvent;

/** Renders one item or result for a person; commands supply these, the default lists properties. */
export interface HumanFormat {
  item?(kind: string, data: Record<string, unknown>): string;
  result?(kind: string, data: Record<string, unknown>): string;
}

/** Where a command reports. Commands only talk to this; they never write to stdout themselves. */
export interface EventSink {
  /** `secondsRemaining`: an estimate, when the activity can make one (Write-Progress shows it). */
  progress(activity: string, status: string, percent?: number, currentItem?: string, secondsRemaining?: number): void;
  log(message: string, level?: 'verbose' | 'debug'): void;
  warning(code: string, message: string, target?: string): void;
  item(kind: string, data: Record<string, unknown>): void;
  result(kind: string, data: Record<string, unknown>): void;
  error(err: AzbError, stack?: string): void;
  /** Number of warnings emitted so far (decides exit code 3). */
  readonly warnings: number;
  /** The first WARNINGS_KEPT warnings, in order (the job history keeps them). */
  readonly warningLog: readonly KeptWarning[];
}

/** A warning as the job history keeps it. */
export interface KeptWarning { code: string; message: string; target?: string }

/** Warnings a sink keeps for the job history; beyond them only the count grows. */
export const WARNINGS_KEPT = 100;

function keep(log: KeptWarning[], code: string, message: string, target: string | undefined): void {
  if (log.length < WARNINGS_KEPT) log.push(target === undefined ? { code, message } : { code, message, target });
}

/** Turns an AzbError into its wire form. Only --debug adds a stack. */
export function errorEvent(err: AzbError, stack?: string): ErrorEvent {
  const ev: ErrorEvent = { type: 'error', code: err.code, category: err.category, message: err.message, exitCode: err.exitCode };
  if (err.hint !== undefined) ev.hint = err.hint;
  if (err.target !== undefined) ev.target = err.target;
  if (stack !== undefined) ev.stack = stack;
  return ev;
}

type Write = (line: string) => void;

/** NDJSON on stdout: one event per line, nothing else. */
export class JsonSink implements EventSink {
  warnings = 0;
  readonly warningLog: KeptWarning[] = [];
  constructor(private readonly write: Write = (s) => process.stdout.write(s)) {}
  private emit(ev: EngineEvent): void { this.write(JSON.stringify(ev) + '\n'); }
  progress(activity: string, status: string, percent?: number, currentItem?: string, secondsRemaining?: number): void {
    const ev: ProgressEvent = { type: 'progress', activity, status };
    if (percent !== undefined) ev.percent = Math.max(0, Math.min(100, Math.round(percent)));
    if (currentItem !== undefined) ev.currentItem = currentItem;
    if (secondsRemaining !== undefined && Number.isFinite(secondsRemaining)) ev.secondsRemaining = Math.max(0, Math.ceil(secondsRemaining));
    this.emit(ev);
  }
  log(message: string, level: 'verbose' | 'debug' = 'verbose'): void { this.emit({ type: 'log', level, message }); }
  warning(code: string, message: string, target?: string): void {
    this.warnings++;
    keep(this.warningLog, code, message, target);
    this.emit(target === undefined ? { type: 'warning', code, message } : { type: 'warning', code, message, target });
  }
  item(kind: string, data: Record<string, unknown>): void { this.emit({ type: 'item', kind, data }); }
  result(kind: string, data: Record<string, unknown>): void { this.emit({ type: 'result', kind, data }); }
  error(err: AzbError, stack?: string): void { this.emit(errorEvent(err, stack)); }
}

/** Default rendering: "Name : value" lines, dates as ISO strings. */
export function formatProperties(data: Record<string, unknown>): string {
  const keys = Object.keys(data);
  const width = Math.max(0, ...keys.map((k) => k.length));
  return keys.map((k) => `${k.padEnd(width)} : ${formatValue(data[k])}`).join('\n');
}

function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(formatValue).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Readable text: results and items on stdout, logs (with --verbose), warnings and errors on stderr. */
export class HumanSink implements EventSink {
  warnings = 0;
  readonly warningLog: KeptWarning[] = [];
  private itemsShown = 0;
  constructor(
    private readonly format: HumanFormat = {},
    private readonly verbose = false,
    private readonly out: Write = (s) => process.stdout.write(s),
    private readonly err: Write = (s) => process.stderr.write(s),
    private readonly tty = Boolean(process.stderr.isTTY),
  ) {}
  progress(activity: string, status: string, percent?: number): void {
    if (!this.tty) return; // a progress line in a log file is noise
    const pct = percent === undefined ? '' : ` ${Math.round(percent)}%`;
    this.err(`\r\x1b[2K${activity}: ${status}${pct}`);
  }
  private clearProgress(): void { if (this.tty) this.err('\r\x1b[2K'); }
  log(message: string, level: 'verbose' | 'debug' = 'verbose'): void {
    if (this.verbose) { this.clearProgress(); this.err(`${level.toUpperCase()}: ${message}\n`); }
  }
  warning(code: string, message: string, target?: string): void {
    this.warnings++;
    keep(this.warningLog, code, message, target);
    this.clearProgress();
    this.err(`WARNING: ${message}\n`);
  }
  item(kind: string, data: Record<string, unknown>): void {
    this.clearProgress();
    const text = this.format.item?.(kind, data) ?? formatProperties(data) + '\n';
    this.out(this.itemsShown++ === 0 || this.format.item ? text + '\n' : '\n' + text + '\n');
  }
  result(kind: string, data: Record<string, unknown>): void {
    this.clearProgress();
    const text = this.format.result ? this.format.result(kind, data) : formatProperties(data);
    if (text) this.out(text + '\n');
  }
  error(e: AzbError, stack?: string): void {
    this.clearProgress();
    this.err(`azbackup: error ${e.code}: ${e.message}\n`);
    if (e.hint) this.err(`  hint: ${e.hint}\n`);
    if (stack) this.err(stack + '\n');
  }
}
