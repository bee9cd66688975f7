import { setTimeout as sleep } from 'node:timers/promises';

const REQUEST_TIMEOUT_MS = 5_000;
/** The application master hands the job's history over a moment after YARN reports its end. */
const ATTEMPTS = 6;
const RETRY_MS = 1_000;

interface HistoryTask {
  id: string;
  state: string;
}

interface HistoryAttempt {
  id: string;
  state: string;
  diagnostics?: string;
}

/** The history server's JSON writer renders a one-element list as a bare object. */
function listOf<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

/**
 * The errors of a failed MapReduce job's failed task attempts, from the JobHistoryServer's REST
 * API: YARN's own diagnostics only say "Task failed"; the attempts say what was thrown.
 * Resolves undefined when the history server has nothing (yet) for the job.
 */
export async function failedTaskDiagnostics(jobHistoryUrl: string, applicationId: string): Promise<string | undefined> {
  const jobId = applicationId.replace(/^application_/, 'job_');
  const base = `${jobHistoryUrl}/ws/v1/history/mapreduce/jobs/${jobId}`;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
    try {
      const tasks = listOf(
        ((await getJson(`${base}/tasks`)) as { tasks?: { task?: HistoryTask | HistoryTask[] } | null }).tasks?.task,
      );
      const messages: string[] = [];
      for (const task of tasks.filter((candidate) => candidate.state === 'FAILED')) {
        const body = (await getJson(`${base}/tasks/${task.id}/attempts`)) as {
          taskAttempts?: { taskAttempt?: HistoryAttempt | HistoryAttempt[] } | null;
        };
        for (const failed of listOf(body.taskAttempts?.taskAttempt)) {
          const firstLines = (failed.diagnostics ?? '').split('\n').slice(0, 3).join('\n').trim();
          if (failed.state === 'FAILED' && firstLines) messages.push(`${failed.id}: ${firstLines}`);
        }
      }
      if (messages.length > 0) return messages.join('\n');
      if (tasks.length > 0) return undefined;
    } catch {
      // Not in the history server yet, or it does not answer: try again, then give up quietly.
    }
    if (attempt < ATTEMPTS) await sleep(RETRY_MS);
  }
  return undefined;
}
