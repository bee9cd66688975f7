import type { Logger } from 'pino';

/** One pass of a poller; returns the delay before the next pass (undefined: the default). */
export type Tick = () => Promise<number | void>;

export interface PollerOptions {
  name: string;
  intervalMs: number;
  logger: Logger;
  /** Longest back-off after repeated failures. */
  maxBackoffMs?: number;
}

/**
 * A loop of the shape every Oasis poller shares: `while (!stopping) { await tick(); await sleep() }`.
 * A failed tick is logged and backed off, never ends the loop; `wake()` cuts the current sleep
 * short; `stop()` aborts the sleep and resolves once the running tick has finished.
 */
export class Poller {
  private stopping = false;
  private wakeSleep: (() => void) | undefined;
  private wakeRequested = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly tick: Tick,
    private readonly options: PollerOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Runs the next tick as soon as the current one (if any) ends. */
  wake(): void {
    this.wakeRequested = true;
    this.wakeSleep?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeSleep?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      this.wakeRequested = false;
      let delay = this.options.intervalMs;
      try {
        const requested = await this.tick();
        if (typeof requested === 'number') delay = requested;
        failures = 0;
      } catch (error) {
        failures += 1;
        delay = Math.min(this.options.intervalMs * 2 ** failures, this.options.maxBackoffMs ?? 60_000);
        this.options.logger.error(
          { err: error, poller: this.options.name, failures },
          'poller tick failed; backing off',
        );
      }
      if (this.stopping) break;
      if (this.wakeRequested) continue;
      await this.sleep(withJitter(delay));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = () => {
        this.wakeSleep = undefined;
        done();
      };
    });
  }
}

/** ±10 % so that nodes started together do not poll the engines in lockstep. */
function withJitter(ms: number): number {
  return Math.max(0, Math.round(ms * (0.9 + Math.random() * 0.2)));
}
