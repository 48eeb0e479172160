// A confirmation dialog for every change (a rollout action, a rollback, an
// apply): the native <dialog>, so focus, Escape and screen readers behave.
// After confirming, it shows the result: the revision that is now live.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './util.js';

/**
 * `action` is { title, body, confirmLabel, run: () => Promise<{revision, unchanged, diff}> } or null.
 */
export function ConfirmDialog({ action, onClose }) {
  const ref = useRef(null);
  const [state, setState] = useState({ busy: false, result: undefined, error: undefined });
  useEffect(() => {
    setState({ busy: false, result: undefined, error: undefined });
    if (action && !ref.current.open) ref.current.showModal();
    if (!action && ref.current.open) ref.current.close();
  }, [action]);
  const go = async () => {
    setState({ busy: true });
    try {
      setState({ busy: false, result: await action.run() });
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  const r = state.result;
  return html`
    <dialog ref=${ref} aria-labelledby="confirm-title" onClose=${() => onClose(r)}>
      ${
        action &&
        html`
        <h2 id="confirm-title">${action.title}</h2>
        <div>${action.body}</div>
        ${state.error && html`<p class="error" role="alert">${state.error.message}</p>`}
        ${
          r &&
          html`<p class="result" role="status">
          ${r.unchanged ? `Nothing changed: revision ${r.revision} stays live.` : `Revision ${r.revision} is live.`}</p>
          ${r.diff?.length > 0 && html`<pre class="diff">${r.diff.join('\n')}</pre>`}`
        }
        <div class="actions">
          ${
            r
              ? html`<button onClick=${() => ref.current.close()} autofocus>Close</button>`
              : html`<button class="primary" onClick=${go} disabled=${state.busy}>${action.confirmLabel}</button>
                   <button onClick=${() => ref.current.close()}>Cancel</button>`
          }
        </div>`
      }
    </dialog>`;
}
