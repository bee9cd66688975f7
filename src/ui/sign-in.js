import { useState } from 'preact/hooks';
import { html } from './html.js';

/**
 * Asks for the project and, under tokens auth, a token. The token stays in this tab
 * (sessionStorage) and is sent only as the X-Auth-Token header.
 */
export function SignIn({ project, needsToken, message, onSubmit }) {
  const [projectValue, setProject] = useState(project ?? '');
  const [token, setToken] = useState('');
  const submit = (event) => {
    event.preventDefault();
    onSubmit(projectValue.trim(), token.trim());
  };
  return html`
    <main id="main" class="sign-in">
      <h1>Sign in to Oasis</h1>
      ${message && html`<p class="error" role="alert">${message}</p>`}
      <form onSubmit=${submit}>
        <label for="project">Project</label>
        <input id="project" name="project" required autocomplete="off" value=${projectValue} onInput=${(e) => setProject(e.currentTarget.value)} />
        <label for="token">Token${needsToken ? '' : ' (if this Oasis requires one)'}</label>
        <input id="token" name="token" type="password" required=${needsToken} autocomplete="off" value=${token} onInput=${(e) => setToken(e.currentTarget.value)} />
        <p class="hint">The token is kept in this browser tab only and sent as the X-Auth-Token header.</p>
        <button type="submit">Sign in</button>
      </form>
    </main>`;
}
