// Retries with a stall watchdog, for backends that talk to a remote service (the Azure Blob store).
// The Azure SDK's own retry policy cannot catch a stalled connection: its `tryTimeoutInMs` only sets the
// service-side `timeout=` query parameter, and a client-side abort is never retried. So the backend runs
// each operation here instead: every attempt gets an AbortSignal that fires when the attempt has made no
// progress for `tryTimeoutMs` (a timer the attempt restarts whenever bytes move), and transient failures
// are retried with exponential back-off and jitter.

/** How often and how patiently an operation is tried. */
export interface RetryPolicy {
  /** Attempts in all, at least 1. */
  maxTries: number;
  /** Back-off before the second attempt; doubles for each further one. */
  retryDelayMs: number;
  /** Upper bound of one back-off. */
  maxRetryDelayMs: number;
  /** An attempt with no progress for this long is aborted (and retried when tries remain). */
  tryTimeoutMs: number;
}

/** Why an attempt was aborted: nothing moved for `ms` milliseconds. */
export class StallTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no progress for ${ms} ms`);
    this.name = 'StallTimeout';
  }
}

/** One attempt of an operation. */
export interface Attempt {
  /** 1 for the first attempt. */
  readonly number: number;
  /** Aborts when the attempt stalls; pass it to every request the attempt makes. */
  readonly signal: AbortSignal;
  /** Restarts the stall timer; call it whenever bytes are sent or received. */
  progress(): void;
}

/**
 * Runs `run` until it succeeds, fails with an error `isTransient` rejects, or `policy.maxTries` attempts
 * have failed. An attempt aborted by its stall timer fails with a StallTimeout (whatever the aborted
 * request threw), which counts as transient. The last error is thrown as is.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  run: (attempt: Attempt) => Promise<T>,
  isTransient: (err: unknown) => boolean,
): Promise<T> {
  for (let number = 1; ; number++) {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const progress = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new StallTimeout(policy.tryTimeoutMs)), policy.tryTimeoutMs);
    };
    let failure: unknown;
    try {
      progress();
      return await run({ number, signal: controller.signal, progress });
    } catch (err) {
      failure = controller.signal.aborted ? controller.signal.reason : err;
    } finally {
      clearTimeout(timer);
    }
    if (number >= policy.maxTries || !(failure instanceof StallTimeout || isTransient(failure))) throw failure;
    await sleep(backoff(policy, number));
  }
}

/** Back-off after failed attempt `n`: retryDelayMs·2^(n-1), capped, with jitter in [50 %, 100 %]. */
export function backoff(policy: RetryPolicy, n: number): number {
  const base = Math.min(policy.retryDelayMs * 2 ** (n - 1), policy.maxRetryDelayMs);
  return Math.round(base * (0.5 + Math.random() / 2));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
