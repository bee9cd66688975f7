import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { isTerminal, statusOf } from './api.js';
import { ErrorMessage, StatusBadge, Time } from './components.js';

/** Output beyond this many characters is dropped from the top, so that a chatty job keeps the page fast. */
const MAX_OUTPUT = 1_000_000;

/** One execution: its status, configuration, output (followed while it runs) and a cancel button. */
export function Detail({ api, id, clusters, events }) {
  const [execution, setExecution] = useState(null);
  const [template, setTemplate] = useState(null);
  const [error, setError] = useState(null);
  const [cancelling, setCancelling] = useState(false);
  const reload = () => api.execution(id).then((e) => { setExecution(e); setError(null); }, setError);

  useEffect(() => {
    setExecution(null);
    reload();
  }, [api, id]);
  useEffect(() => events.subscribe((executionId) => (executionId === id || executionId === null) && reload()), [api, events, id]);
  useEffect(() => {
    if (execution) api.template(execution.job_id).then(setTemplate, () => setTemplate(null));
  }, [api, execution?.job_id]);

  if (error && !execution) return html`<section><h1>Execution</h1><${ErrorMessage} error=${error} /><p><a href="#/">Back to executions</a></p></section>`;
  if (!execution) return html`<p aria-live="polite">Loading…</p>`;

  const status = statusOf(execution);
  const cluster = (clusters ?? []).find((c) => c.id === execution.cluster_id);
  const cancel = async () => {
    setCancelling(true);
    try {
      await api.cancel(id);
      await reload();
    } catch (e) {
      setError(e);
    } finally {
      setCancelling(false);
    }
  };
  const configs = execution.job_configs ?? {};
  return html`
    <section aria-labelledby="execution-title">
      <p><a href="#/">← Executions</a></p>
      <h1 id="execution-title">Execution <code>${execution.id}</code></h1>
      <${ErrorMessage} error=${error} />
      <div class="actions">
        <button type="button" class="danger" onClick=${cancel} disabled=${isTerminal(status) || status === 'TOBEKILLED' || cancelling}>
          ${cancelling ? 'Cancelling…' : 'Cancel execution'}
        </button>
      </div>
      <dl class="facts">
        <dt>Status</dt><dd aria-live="polite"><${StatusBadge} execution=${execution} /></dd>
        <dt>Return code</dt><dd>${execution.return_code ?? '–'}</dd>
        ${execution.info?.reason && html`<dt>Reason</dt><dd>${execution.info.reason}</dd>`}
        <dt>Job template</dt><dd>${template ? `${template.name} (${template.type})` : execution.job_id}</dd>
        <dt>Cluster</dt><dd>${cluster ? cluster.name : execution.cluster_id}</dd>
        <dt>Engine job</dt><dd>${execution.engine_job_id ?? '–'}</dd>
        <dt>Created</dt><dd><${Time} value=${execution.created_at} /></dd>
        <dt>Started</dt><dd><${Time} value=${execution.start_time} /></dd>
        <dt>Ended</dt><dd><${Time} value=${execution.end_time} /></dd>
      </dl>
      <${Output} api=${api} id=${id} running=${!isTerminal(status)} onEnd=${reload} />
      <h2>Configuration</h2>
      <${ConfigTable} caption="Arguments" entries=${(configs.args ?? []).map((value, i) => [String(i + 1), value])} />
      <${ConfigTable} caption="Parameters" entries=${Object.entries(configs.params ?? {})} />
      <${ConfigTable} caption="Configs" entries=${Object.entries(configs.configs ?? {})} />
    </section>`;
}

function ConfigTable({ caption, entries }) {
  if (entries.length === 0) return html`<p>${caption}: none</p>`;
  return html`
    <table class="config">
      <caption>${caption}</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr></thead>
      <tbody>${entries.map(([key, value]) => html`<tr key=${key}><th scope="row">${key}</th><td><code>${String(value)}</code></td></tr>`)}</tbody>
    </table>`;
}

/** The job's stdout or stderr, followed until the execution ends. */
function Output({ api, id, running, onEnd }) {
  const [stream, setStream] = useState('stdout');
  const [text, setText] = useState('');
  const [state, setState] = useState('loading');
  useEffect(() => {
    const controller = new AbortController();
    setText('');
    setState('loading');
    let received = '';
    api
      .followLogs(id, stream, (piece) => {
        received = (received + piece).slice(-MAX_OUTPUT);
        setText(received);
        setState('following');
      }, controller.signal)
      .then(() => {
        setState('done');
        onEnd();
      }, (error) => !controller.signal.aborted && setState(`error: ${error.message}`));
    return () => controller.abort();
  }, [api, id, stream]);
  const label = state === 'done' ? 'complete' : state === 'loading' || state === 'following' ? (running ? 'following' : 'loading') : state;
  return html`
    <section aria-labelledby="output-title" class="output">
      <h2 id="output-title">Output</h2>
      <div role="group" aria-label="Output stream" class="tabs">
        ${['stdout', 'stderr'].map((name) => html`
          <button type="button" aria-pressed=${stream === name} onClick=${() => setStream(name)}>${name === 'stdout' ? 'Standard output' : 'Standard error'}</button>`)}
      </div>
      <p class="hint" aria-live="polite">${stream}: ${label}</p>
      <pre class="log" tabindex="0" aria-label=${`${stream} of the job`}>${text}</pre>
    </section>`;
}
