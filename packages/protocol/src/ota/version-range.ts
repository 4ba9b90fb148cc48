import { SEMVER_PATTERN } from '../bundle/manifest.js';

/**
 * Version constraints in job documents: an exact version (`1.0.0`) or a range in a strict subset of
 * node-semver's grammar, so the agent evaluates it with `semver.satisfies` and gets the meaning npm gives it:
 * comparators `<`, `<=`, `>`, `>=`, `=`, `^`, `~` written against a full version, no space between operator and
 * version, comparators joined by spaces (all must hold), alternatives joined by `||`. No x-ranges, hyphen ranges
 * or `*`: an absent constraint already means "any".
 * Protocol only checks the syntax; it has no semver library and compares nothing.
 */
export const VERSION_RANGE_MAX_LENGTH = 256;

const COMPARATOR = new RegExp(`^(?:<=|>=|<|>|=|\\^|~)?${SEMVER_PATTERN.slice(1)}`);

export function isValidVersionRange(range: string): boolean {
  if (range.length === 0 || range.length > VERSION_RANGE_MAX_LENGTH) return false;
  return range.split('||').every((alternative) => {
    const comparators = alternative.trim().split(/\s+/);
    return comparators.every((c) => c !== '' && COMPARATOR.test(c));
  });
}
