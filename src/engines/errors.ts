/**
 * The failures engines report, as types. Engines know nothing of HTTP or of Sahara's error
 * names: the lifecycle tells a transient failure from a job that cannot start by its type, and
 * the API's one error handler (src/api/error-handler.ts) maps the client's mistakes to Sahara's
 * names.
 */
export abstract class EngineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The cluster (or the engine's own tooling) could not be reached. Never a reason to mark a job
 * failed: retry later.
 */
export class TransientEngineError extends EngineError {}

/** The job could not be started; the execution ends FAILED with this message in `info`. */
export class JobStartError extends EngineError {}

/** A job this engine cannot run as given (a missing main class, an unsupported binary...): a 400. */
export class InvalidJob extends EngineError {}

/** A cluster registration's connection settings are wrong; the message names every bad one: a 400. */
export class ClusterSettingsInvalid extends EngineError {}
