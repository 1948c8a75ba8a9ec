/**
 * `--exclude GLOB`: a pattern without a slash matches a file or directory name anywhere
 * (`*.log`, `.git`); a pattern with a slash matches the path relative to its root
 * (`etc/**`, `var/cache`); a pattern starting with `/` matches the absolute path. An
 * excluded directory is not entered.
 */
import picomatch from 'picomatch';

/** `matchesNothing` lets a walk skip building the strings when there are no patterns. */
export type ExcludeMatcher = ((absolute: string, relative: string, name: string) => boolean) & { matchesNothing?: boolean };

export function excludeMatcher(patterns: readonly string[]): ExcludeMatcher {
  if (patterns.length === 0) return Object.assign(() => false, { matchesNothing: true });
  const opts = { dot: true };
  const byName = patterns.filter((p) => !p.includes('/')).map((p) => picomatch(p, opts));
  const byRelative = patterns.filter((p) => p.includes('/') && !p.startsWith('/')).map((p) => picomatch(p.replace(/\/+$/, ''), opts));
  const byAbsolute = patterns.filter((p) => p.startsWith('/')).map((p) => picomatch(p.replace(/(.)\/+$/, '$1'), opts));
  return (absolute, relative, name) =>
    byName.some((m) => m(name)) || byRelative.some((m) => m(relative)) || byAbsolute.some((m) => m(absolute));
}
