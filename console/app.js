// The Junction console (SPEC §11): Preact + htm, bundled by esbuild into
// dist/console and served by Junction at /ui/ on the admin port.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { ApiError, get, token } from './api.js';
import { html } from './util.js';
import { ObjectivesView } from './views/objectives.js';
import { ObjectiveView } from './views/objective.js';
import { RolloutsView } from './views/rollouts.js';
import { RevisionsView } from './views/revisions.js';
import { ConfigView } from './views/config.js';
import { ExplainView } from './views/explain.js';
import { ModelsView } from './views/models.js';

const NAV = [
  ['objectives', 'Objectives'],
  ['rollouts', 'Rollouts'],
  ['revisions', 'Revisions'],
  ['config', 'Config'],
  ['explain', 'Explain'],
  ['models', 'Models'],
];

function useHash() {
  const read = () => decodeURIComponent(location.hash.replace(/^#\/?/, '')) || 'objectives';
  const [hash, setHash] = useState(read);
  useEffect(() => {
    const on = () => setHash(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Login({ onToken, failed }) {
  const [value, setValue] = useState('');
  return html`
    <main class="login">
      <h1>Junction console</h1>
      <form onSubmit=${(e) => {
        e.preventDefault();
        onToken(value.trim());
      }}>
        <label for="token">Admin token</label>
        <input id="token" type="password" autocomplete="current-password" required autofocus
          value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
        <p class="muted">The value of JUNCTION_ADMIN_TOKEN. Kept for this browser tab's session only.</p>
        ${failed && html`<p class="error" role="alert">${failed}</p>`}
        <button class="primary" type="submit">Sign in</button>
      </form>
    </main>`;
}

function View({ path }) {
  const [head, ...rest] = path.split('/');
  switch (head) {
    case 'objectives':
      return rest.length ? html`<${ObjectiveView} name=${rest.join('/')} />` : html`<${ObjectivesView} />`;
    case 'rollouts':
      return html`<${RolloutsView} />`;
    case 'revisions':
      return html`<${RevisionsView} selected=${rest[0]} />`;
    case 'config':
      return html`<${ConfigView} />`;
    case 'explain':
      return html`<${ExplainView} objective=${rest[0]} />`;
    case 'models':
      return html`<${ModelsView} />`;
    default:
      return html`<p>No such page. <a href="#/objectives">Objectives</a></p>`;
  }
}

function App() {
  // 'checking' → 'in' (token accepted, or none needed) | 'out' (asks for the token)
  const [auth, setAuth] = useState({ state: 'checking', secure: false, failed: undefined });
  const path = useHash();
  const check = async () => {
    try {
      await get('/admin/revisions?limit=1');
      setAuth({ state: 'in', secure: Boolean(token.get()) });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        const had = token.get();
        token.clear();
        setAuth({ state: 'out', failed: had ? err.message : undefined });
      } else {
        setAuth({ state: 'in', secure: Boolean(token.get()) }); // the views show what is wrong
      }
    }
  };
  useEffect(() => {
    check();
  }, []);
  if (auth.state === 'checking') return html`<p class="boot">Connecting…</p>`;
  if (auth.state === 'out')
    return html`<${Login} failed=${auth.failed} onToken=${(t) => {
      token.set(t);
      check();
    }} />`;
  const section = path.split('/')[0];
  return html`
    <header>
      <a class="brand" href="#/objectives">Junction</a>
      <nav aria-label="Sections">
        ${NAV.map(([id, label]) => html`<a href=${`#/${id}`} aria-current=${section === id ? 'page' : undefined}>${label}</a>`)}
      </nav>
      ${
        auth.secure
          ? html`<button class="link" onClick=${() => {
              token.clear();
              setAuth({ state: 'out' });
            }}>Sign out</button>`
          : html`<span class="warn-badge" title="serve --insecure-admin: no token is asked">insecure admin</span>`
      }
    </header>
    <main id="main"><${View} path=${path} key=${path} /></main>`;
}

render(html`<${App} />`, document.getElementById('app'));
