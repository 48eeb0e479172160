import { describe, expect, it } from 'vitest';
import { StopMatcher } from './stop-matcher.js';

function feed(stops: string[], chars: string): { emitted: string[]; stopped: boolean; rest: string } {
  const m = new StopMatcher(stops);
  const emitted: string[] = [];
  for (const ch of chars) {
    const { emit, stopped } = m.push(ch);
    if (emit !== '') emitted.push(emit);
    if (stopped) return { emitted, stopped, rest: '' };
  }
  return { emitted, stopped: false, rest: m.flush() };
}

describe('StopMatcher', () => {
  it('emits each character at once when no stop sequence could start with it', () => {
    expect(feed(['\n'], 'abc')).toEqual({ emitted: ['a', 'b', 'c'], stopped: false, rest: '' });
  });

  it('never emits any part of a stop sequence', () => {
    expect(feed(['END'], 'abENx')).toEqual({ emitted: ['a', 'b', 'ENx'], stopped: false, rest: '' });
    expect(feed(['END'], 'abEND more')).toEqual({ emitted: ['a', 'b'], stopped: true, rest: '' });
  });

  it('stops at the earliest of several stop sequences', () => {
    expect(feed(['ab', 'b'], 'xab')).toEqual({ emitted: ['x'], stopped: true, rest: '' });
  });

  it('hands back text held for a stop sequence that never completed', () => {
    expect(feed(['END'], 'aEN')).toEqual({ emitted: ['a'], stopped: false, rest: 'EN' });
  });
});
