import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { ErrorMessage } from './components.js';

/** The clusters the project sees and their health, as Oasis last checked it. */
export function Clusters({ api }) {
  const [clusters, setClusters] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api.clusters().then((rows) => { setClusters(rows); setError(null); }, setError);
  useEffect(() => {
    load();
    const timer = setInterval(load, 15000);
    return () => clearInterval(timer);
  }, [api]);
  return html`
    <section aria-labelledby="clusters-title">
      <h1 id="clusters-title">Clusters</h1>
      <${ErrorMessage} error=${error} />
      ${clusters === null && !error && html`<p aria-live="polite">Loading…</p>`}
      ${clusters && html`
        <table>
          <caption>Registered clusters and their health</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Engine</th><th scope="col">Version</th><th scope="col">Health</th><th scope="col">Details</th><th scope="col">Visibility</th></tr></thead>
          <tbody>
            ${clusters.map((cluster) => html`
              <tr key=${cluster.id}>
                <th scope="row">${cluster.name}</th>
                <td>${cluster.plugin_name}</td>
                <td>${cluster.hadoop_version}</td>
                <td><span class=${`health health-${cluster.status === 'Active' ? 'ok' : 'bad'}`}>${cluster.status}</span></td>
                <td>${cluster.status_description || '–'}</td>
                <td>${cluster.is_public ? 'public' : 'project'}</td>
              </tr>`)}
          </tbody>
        </table>`}
    </section>`;
}
