import { html } from './html.js';
import { statusOf } from './api.js';

/** A status as text and colour both, so that it never relies on colour alone. */
export function StatusBadge({ execution }) {
  const status = statusOf(execution);
  return html`<span class=${`status status-${status.toLowerCase()}`}>${status}</span>`;
}

/** Times as Oasis sends them (UTC, no zone), shown as UTC. */
export function Time({ value }) {
  if (!value) return html`<span aria-label="none">–</span>`;
  return html`<time datetime=${`${value}Z`}>${value.replace('T', ' ')}</time>`;
}

export function ErrorMessage({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message ?? String(error)}</p>`;
}

export function shortId(id) {
  return id.slice(0, 8);
}
