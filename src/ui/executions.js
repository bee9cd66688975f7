import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { STATUSES, statusOf } from './api.js';
import { ErrorMessage, StatusBadge, Time, shortId } from './components.js';

const PAGE_SIZE = 25;

const COLUMNS = [
  { key: 'id', title: 'Execution', value: (e) => e.id },
  { key: 'job', title: 'Job', value: (e, names) => names.templates.get(e.job_id) ?? e.job_id },
  { key: 'cluster', title: 'Cluster', value: (e, names) => names.clusters.get(e.cluster_id) ?? e.cluster_id },
  { key: 'status', title: 'Status', value: statusOf },
  { key: 'return_code', title: 'Return code', value: (e) => e.return_code ?? '' },
  { key: 'created_at', title: 'Created', value: (e) => e.created_at ?? '' },
  { key: 'start_time', title: 'Started', value: (e) => e.start_time ?? '' },
  { key: 'end_time', title: 'Ended', value: (e) => e.end_time ?? '' },
];

/**
 * The project's executions: filtered by Oasis (status, cluster, template name), sorted and paged
 * here, and kept current by the event stream without reloading.
 */
export function Executions({ api, clusters, events }) {
  const [filters, setFilters] = useState({ status: '', cluster_id: '', 'job.name': '' });
  const [sort, setSort] = useState({ key: 'created_at', descending: true });
  const [page, setPage] = useState(0);
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);
  const [templates, setTemplates] = useState(new Map());
  const [reloads, setReloads] = useState(0);
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  useEffect(() => {
    let stale = false;
    api.executions(filters).then((list) => !stale && (setRows(list), setError(null)), (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [api, filters, reloads]);

  // An event names an execution whose status changed: fetch it and put it in place.
  // Without an event stream (null), the whole list is read again.
  useEffect(() => events.subscribe(async (executionId) => {
    if (executionId === null) return setReloads((n) => n + 1);
    const execution = await api.execution(executionId).catch(() => null);
    setRows((current) => {
      if (!current) return current;
      const others = current.filter((row) => row.id !== executionId);
      if (!execution || !matches(execution, filtersRef.current, templates)) return others.length === current.length ? current : others;
      return [execution, ...others];
    });
  }), [api, events, templates]);

  const names = useMemo(() => ({ templates, clusters: new Map((clusters ?? []).map((c) => [c.id, c.name])) }), [templates, clusters]);
  const sorted = useMemo(() => sortRows(rows ?? [], sort, names), [rows, sort, names]);
  const pages = Math.max(1, Math.ceil(sorted.length / PAGE_SIZE));
  const current = Math.min(page, pages - 1);
  const shown = sorted.slice(current * PAGE_SIZE, (current + 1) * PAGE_SIZE);

  // Template names for the rows on screen, fetched once each.
  useEffect(() => {
    const missing = [...new Set(shown.map((e) => e.job_id))].filter((id) => !templates.has(id));
    if (missing.length === 0) return;
    Promise.all(missing.map((id) => api.template(id).then((t) => [id, t.name], () => [id, id]))).then((found) =>
      setTemplates((known) => new Map([...known, ...found])),
    );
  }, [shown, api]);

  const setFilter = (key) => (event) => {
    setFilters({ ...filters, [key]: event.currentTarget.value });
    setPage(0);
  };
  const sortBy = (key) => {
    setSort(sort.key === key ? { key, descending: !sort.descending } : { key, descending: false });
    setPage(0);
  };

  return html`
    <section aria-labelledby="executions-title">
      <h1 id="executions-title">Job executions</h1>
      <form class="filters" role="search" aria-label="Filter executions" onSubmit=${(e) => e.preventDefault()}>
        <div>
          <label for="filter-status">Status</label>
          <select id="filter-status" value=${filters.status} onChange=${setFilter('status')}>
            <option value="">Any</option>
            ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
          </select>
        </div>
        <div>
          <label for="filter-cluster">Cluster</label>
          <select id="filter-cluster" value=${filters.cluster_id} onChange=${setFilter('cluster_id')}>
            <option value="">Any</option>
            ${(clusters ?? []).map((c) => html`<option value=${c.id}>${c.name}</option>`)}
          </select>
        </div>
        <div>
          <label for="filter-job">Job name contains</label>
          <input id="filter-job" type="search" value=${filters['job.name']} onChange=${setFilter('job.name')} />
        </div>
      </form>
      <${ErrorMessage} error=${error} />
      ${rows === null && !error && html`<p aria-live="polite">Loading…</p>`}
      ${rows && html`
        <table class="executions">
          <caption>${sorted.length} execution${sorted.length === 1 ? '' : 's'}, sorted by ${COLUMNS.find((c) => c.key === sort.key).title.toLowerCase()}${sort.descending ? ', descending' : ''}</caption>
          <thead>
            <tr>
              ${COLUMNS.map((column) => html`
                <th scope="col" aria-sort=${sort.key === column.key ? (sort.descending ? 'descending' : 'ascending') : 'none'}>
                  <button type="button" class="sort" onClick=${() => sortBy(column.key)}>
                    ${column.title}<span aria-hidden="true">${sort.key === column.key ? (sort.descending ? ' ▼' : ' ▲') : ''}</span>
                  </button>
                </th>`)}
            </tr>
          </thead>
          <tbody>
            ${shown.map((execution) => html`
              <tr key=${execution.id} data-id=${execution.id}>
                <th scope="row"><a href=${`#/executions/${execution.id}`} title=${execution.id} aria-label=${`Execution ${execution.id}`}><code>${shortId(execution.id)}</code></a></th>
                <td>${names.templates.get(execution.job_id) ?? '…'}</td>
                <td>${names.clusters.get(execution.cluster_id) ?? shortId(execution.cluster_id)}</td>
                <td><${StatusBadge} execution=${execution} /></td>
                <td>${execution.return_code ?? '–'}</td>
                <td><${Time} value=${execution.created_at} /></td>
                <td><${Time} value=${execution.start_time} /></td>
                <td><${Time} value=${execution.end_time} /></td>
              </tr>`)}
          </tbody>
        </table>
        <nav class="paging" aria-label="Pages">
          <button type="button" disabled=${current === 0} onClick=${() => setPage(current - 1)}>Previous page</button>
          <span aria-live="polite">Page ${current + 1} of ${pages}</span>
          <button type="button" disabled=${current >= pages - 1} onClick=${() => setPage(current + 1)}>Next page</button>
        </nav>`}
    </section>`;
}

/** Whether an execution belongs in the list under the current filters (as Oasis would filter it). */
function matches(execution, filters, templates) {
  if (filters.status && statusOf(execution).toUpperCase() !== filters.status) return false;
  if (filters.cluster_id && execution.cluster_id !== filters.cluster_id) return false;
  const name = templates.get(execution.job_id);
  if (filters['job.name'] && name !== undefined && !name.includes(filters['job.name'])) return false;
  return true;
}

function sortRows(rows, sort, names) {
  const column = COLUMNS.find((c) => c.key === sort.key);
  const direction = sort.descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = column.value(a, names);
    const y = column.value(b, names);
    const order = sort.key === 'return_code' && x !== '' && y !== '' ? Number(x) - Number(y) : String(x).localeCompare(String(y));
    return direction * order || a.id.localeCompare(b.id);
  });
}
