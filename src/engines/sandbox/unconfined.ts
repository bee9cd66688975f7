import { JobStartError } from '../engine.js';
import type { Sandbox, SandboxedJob } from './sandbox.js';

/**
 * No confinement, for an operator who says so (OASIS_SANDBOX=off): the job runs as Oasis's own
 * user, sees everything Oasis sees and may outlive its end through `setsid`. Oasis warns at start.
 */
export class UnconfinedSandbox implements Sandbox {
  readonly kind = 'off' as const;
  readonly description = 'off (OASIS_SANDBOX=off): jobs run unconfined as the Oasis user, with no limits';
  readonly limits = undefined;
  readonly jobOwner = undefined;

  jobDir(hostWorkDir: string): string {
    return hostWorkDir;
  }

  wrap(job: SandboxedJob): string[] {
    return [...job.command];
  }
}

/**
 * No sandbox works on this host and none was turned off: every job fails to start, with the
 * reason, rather than run unconfined without the operator having said so.
 */
export class UnavailableSandbox implements Sandbox {
  readonly kind = 'unavailable' as const;
  readonly limits = undefined;
  readonly jobOwner = undefined;

  constructor(private readonly reason: string) {}

  get description(): string {
    return `unavailable: ${this.reason}; jobs cannot start until bubblewrap works or OASIS_SANDBOX=off is set`;
  }

  jobDir(hostWorkDir: string): string {
    return hostWorkDir;
  }

  wrap(): string[] {
    throw new JobStartError(
      `no job sandbox is available on this Oasis host (${this.reason}); an operator must install bubblewrap or set OASIS_SANDBOX=off`,
    );
  }
}
