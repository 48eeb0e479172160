// Objective globs of a client (`["*"]`, `["search-*", "image-labels"]`):
// `*` matches any run of characters, everything else is literal.

export type NameMatcher = (name: string) => boolean;

export function globMatcher(globs: readonly string[]): NameMatcher {
  if (globs.includes('*')) return () => true;
  const exact = new Set(globs.filter((g) => !g.includes('*')));
  const patterns = globs.filter((g) => g.includes('*')).map(globToRegExp);
  return (name) => exact.has(name) || patterns.some((re) => re.test(name));
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}
