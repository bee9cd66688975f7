import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { html } from './html.js';
import { Api, storedToken, storeToken } from './api.js';
import { Clusters } from './clusters.js';
import { Detail } from './detail.js';
import { Executions } from './executions.js';
import { SignIn } from './sign-in.js';

/** Without an event stream, views read their data again this often. */
const POLL_MS = 5000;

const projectInUrl = () => new URLSearchParams(location.search).get('project') ?? '';

function routeOf(hash) {
  const detail = /^#\/executions\/([^/]+)$/.exec(hash);
  if (detail) return { view: 'detail', id: decodeURIComponent(detail[1]) };
  if (hash === '#/clusters') return { view: 'clusters' };
  return { view: 'executions' };
}

/** Subscribers hear the id of each execution whose status changed, or null for "read everything again". */
function createEvents() {
  const listeners = new Set();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(executionId) {
      for (const listener of listeners) listener(executionId);
    },
  };
}

function App() {
  const [project, setProject] = useState(projectInUrl());
  const [token, setToken] = useState(storedToken());
  const [signIn, setSignIn] = useState(projectInUrl() ? null : { needsToken: false, message: '' });
  const [route, setRoute] = useState(routeOf(location.hash));
  const [clusters, setClusters] = useState(null);
  const [live, setLive] = useState('connecting');
  const api = useMemo(
    () => (project ? new Api(project, token, () => setSignIn({ needsToken: true, message: token ? 'That token was refused.' : 'This Oasis needs a token.' })) : null),
    [project, token],
  );
  const events = useMemo(createEvents, [api]);

  useEffect(() => {
    const onHash = () => setRoute(routeOf(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  // The clusters list doubles as the sign-in check: a 401 asks for a token.
  useEffect(() => {
    if (!api) return;
    api.clusters().then(setClusters, (error) => error.status !== 401 && setClusters([]));
  }, [api]);

  useEffect(() => {
    if (!api || signIn) return;
    let timer;
    let dropped = false;
    const stop = api.watchEvents(
      (event) => {
        // Events were lost (pruned, or another log): read everything again.
        if (event.type === 'reset') return events.emit(null);
        if (event.type !== 'execution') return;
        try {
          const data = JSON.parse(event.data);
          const id = data.execution_id ?? data.id;
          if (typeof id === 'string') events.emit(id);
        } catch {
          // not an execution event
        }
      },
      (state) => {
        setLive(state);
        if (state === 'off' && timer === undefined) timer = setInterval(() => events.emit(null), POLL_MS);
        if (state === 'reconnecting') dropped = true;
        // Catch up on what happened while the stream was down.
        if (state === 'live' && dropped) events.emit(null);
      },
    );
    return () => {
      stop();
      clearInterval(timer);
    };
  }, [api, signIn]);

  if (signIn || !api) {
    return html`<${SignIn}
      project=${project}
      needsToken=${signIn?.needsToken ?? false}
      message=${signIn?.message ?? ''}
      onSubmit=${(newProject, newToken) => {
        storeToken(newToken);
        const url = new URL(location.href);
        url.searchParams.set('project', newProject);
        history.replaceState(null, '', url);
        setSignIn(null);
        setProject(newProject);
        setToken(newToken);
      }}
    />`;
  }
  const signOut = () => {
    storeToken('');
    setToken('');
    setSignIn({ needsToken: Boolean(token), message: '' });
  };
  const liveText = { live: 'Live', reconnecting: 'Reconnecting…', off: `Refreshing every ${POLL_MS / 1000} s`, connecting: 'Connecting…' }[live];
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header>
      <span class="brand">Oasis</span>
      <nav aria-label="Sections">
        <a href="#/" aria-current=${route.view !== 'clusters' ? 'page' : undefined}>Executions</a>
        <a href="#/clusters" aria-current=${route.view === 'clusters' ? 'page' : undefined}>Clusters</a>
      </nav>
      <span class="project">Project <code>${project}</code></span>
      <span class=${`live live-${live}`} role="status">${liveText}</span>
      <button type="button" onClick=${signOut}>Sign out</button>
    </header>
    <main id="main" tabindex="-1">
      ${route.view === 'executions' && html`<${Executions} api=${api} clusters=${clusters} events=${events} />`}
      ${route.view === 'detail' && html`<${Detail} api=${api} id=${route.id} clusters=${clusters} events=${events} />`}
      ${route.view === 'clusters' && html`<${Clusters} api=${api} />`}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
