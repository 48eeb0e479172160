// Shared bits of the console's views: the htm binding, polling, formatting.
import { h } from 'preact';
import { useEffect, useState, useCallback, useRef } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

/**
 * Loads `fn()` now and every `everyMs` while the tab is visible (0: once).
 * Returns { data, error, reload, at }.
 */
export function usePoll(fn, everyMs, deps) {
  const [state, setState] = useState({ data: undefined, error: undefined, at: undefined });
  const alive = useRef(true);
  const load = useCallback(async () => {
    try {
      const data = await fn();
      if (alive.current) setState({ data, error: undefined, at: new Date() });
    } catch (error) {
      if (alive.current) setState((s) => ({ ...s, error }));
    }
  }, deps);
  useEffect(() => {
    alive.current = true;
    load();
    if (!everyMs)
      return () => {
        alive.current = false;
      };
    const timer = setInterval(() => {
      if (!document.hidden) load();
    }, everyMs);
    return () => {
      alive.current = false;
      clearInterval(timer);
    };
  }, [load, everyMs]);
  return { ...state, reload: load };
}

export const pct = (x, digits = 1) => `${(x * 100).toFixed(digits)}%`;
export const ms = (x) => (x == null ? '–' : `≤${x} ms`);
export const time = (iso) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) + 'Z' : '–');

export function ErrorNote({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message}</p>`;
}

export function Loading({ what }) {
  return html`<p class="muted" aria-busy="true">Loading ${what}…</p>`;
}

/** A stored revision's diff (one text, `(no changes)` when empty) or an apply's (a list), as lines. */
export const diffLines = (d) => (Array.isArray(d) ? d : !d || d === '(no changes)' ? [] : d.split('\n'));

/** A cell's `use` or a rollout's `candidate` as text: `model@version`, or `model@version balance=prefix` for a balancer arm. */
export const arm = (use) => (typeof use === 'string' ? use : `${use.target} balance=${use.balance}`);

/** Milliseconds as a short age: 850 ms, 4.2 s, 3 min. */
export const age = (msAgo) =>
  msAgo == null
    ? '–'
    : msAgo < 1000
      ? `${Math.round(msAgo)} ms`
      : msAgo < 120_000
        ? `${(msAgo / 1000).toFixed(1)} s`
        : `${Math.round(msAgo / 60_000)} min`;
