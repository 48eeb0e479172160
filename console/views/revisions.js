// Revisions, newest first, with author, time, message and diff; any of them
// rolled back to in one click, after a confirmation that shows the diff the
// rollback will apply to the live config.
import { useEffect, useState } from 'preact/hooks';
import { call, get } from '../api.js';
import { ConfirmDialog } from '../confirm.js';
import { html, usePoll, ErrorNote, Loading, time, diffLines } from '../util.js';

export function Diff({ lines }) {
  if (!lines?.length) return html`<p class="muted">No changes.</p>`;
  return html`<pre class="diff" aria-label="Diff">${lines.map((l) => html`<span class=${l[0] === '+' ? 'add' : l[0] === '-' ? 'del' : 'chg'}>${l}</span>`)}</pre>`;
}

/**
 * What rolling back to revision `n` changes in the live config: the admin
 * API's dry run of revision n's config (PUT /admin/config?dryRun=true), which
 * diffs it against the latest revision, exactly as the rollback will.
 */
export async function rollbackDiff(n) {
  const rev = await get(`/admin/revisions/${n}`);
  const dry = await call('PUT', '/admin/config?dryRun=true', { json: rev.source });
  return { diff: dry.diff, against: dry.revision };
}

function RollbackDiff({ n }) {
  const [state, setState] = useState({});
  useEffect(() => {
    let alive = true;
    rollbackDiff(n).then(
      (r) => alive && setState({ result: r }),
      (error) => alive && setState({ error }),
    );
    return () => {
      alive = false;
    };
  }, [n]);
  if (state.error) return html`<p class="error" role="alert">Cannot compute the diff: ${state.error.message}</p>`;
  if (!state.result) return html`<${Loading} what="the diff this rollback applies" />`;
  const { diff, against } = state.result;
  return html`<div data-testid="rollback-diff">
    <p>${diff.length === 0 ? `Revision ${n}'s config is the same as revision ${against}'s: nothing would change.` : `It changes revision ${against}'s config like this:`}</p>
    <${Diff} lines=${diff} /></div>`;
}

export function RevisionsView({ selected }) {
  const list = usePoll(() => get('/admin/revisions?limit=100'), 5000, []);
  const [action, setAction] = useState(null);
  if (!list.data)
    return list.error ? html`<${ErrorNote} error=${list.error} />` : html`<${Loading} what="revisions" />`;
  const { live, revisions } = list.data;
  const open = Number(selected) || live;
  const rollback = (n) =>
    setAction({
      title: `Roll back to revision ${n}?`,
      body: html`<p>Revision ${n}'s config is stored again as a new revision and served at once. Revision ${live} is live now.</p>
        <${RollbackDiff} n=${n} />`,
      confirmLabel: `Roll back to ${n}`,
      run: () =>
        call('POST', `/admin/revisions/${n}/rollback?author=console`, {
          json: { message: `rollback to revision ${n} (console)` },
        }),
    });
  return html`
    <h1>Revisions <span class="muted">revision ${live} is live</span></h1>
    <table class="revisions">
      <caption class="sr-only">Revisions, newest first</caption>
      <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Author</th><th scope="col">Message</th>
        <th scope="col" class="num">changes</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${revisions.map(
        (r) => html`
        <tr class=${r.number === open ? 'selected' : ''} data-revision=${r.number}>
          <th scope="row"><a href=${`#/revisions/${r.number}`} aria-current=${r.number === open ? 'true' : undefined}>${r.number}</a>
            ${r.number === live && html` <span class="chip live">live</span>`}</th>
          <td>${time(r.createdAt)}</td><td>${r.author}</td><td>${r.message}</td><td class="num">${diffLines(r.diff).length}</td>
          <td>${r.number !== live && html`<button class="small" onClick=${() => rollback(r.number)} aria-label=${`Roll back to revision ${r.number}`}>Roll back</button>`}</td>
        </tr>
        ${r.number === open && html`<tr class="detail"><td colspan="6"><${Diff} lines=${diffLines(r.diff)} /></td></tr>`}`,
      )}
      </tbody>
    </table>
    <${ConfirmDialog} action=${action} onClose=${() => {
      setAction(null);
      list.reload();
    }} />`;
}
