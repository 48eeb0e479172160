// Config documents for control-plane tests: one objective over two http targets.
export function twoTargets(a: string, b: string, def = 'm@1', extra: Record<string, unknown> = {}) {
  return {
    models: {
      m: {
        class: 'scorer',
        versions: {
          '1': { backend: { type: 'http', endpoints: [a] } },
          '2': { backend: { type: 'http', endpoints: [b] } },
        },
      },
    },
    objectives: { cw: { default: def, ...extra } },
  };
}
