/**
 * Where in the catalogue the names a matcher set can match lie, read off its
 * `__name__` matchers, so a selection reads only there (query/catalogue-service.ts):
 * the names themselves for `__name__="x"` or a pattern that is literals joined by
 * `|` (`up|node_load1`), or a literal prefix for a pattern that begins with one
 * (`node_.*`, `http_(requests|errors)_total`), read as the name range
 * [prefix, before). Conservative: every name the set matches lies within its
 * bounds, and a pattern it cannot read this way bounds nothing (the whole
 * catalogue is read). The matchers are still tested on every row read. Pure.
 */
import { NAME_LABEL, type LabelMatcher } from './series.js';

export type NameBounds =
  | { readonly names: readonly string[] }
  /** Every name that starts with `prefix`: the names from `prefix` up to, not including, `before`. */
  | { readonly prefix: string; readonly before: string };

/** Characters RE2 gives a meaning of their own outside a character class. */
const META = new Set('\\.+*?()|[]{}^$');
/** What may follow the last literal of a prefix and leave it required; anything else (`*`, `?`, `+`, `{`, a group, an escape: `a+(?i)*` makes the `a` optional) may not. */
const KEEPS_LAST = new Set('.[^$');

/** The bounds of the names a set can match: from its first `__name__` matcher that has any. */
export function nameBounds(matchers: readonly LabelMatcher[]): NameBounds | undefined {
  const named = matchers.filter((m) => m.name === NAME_LABEL);
  const exact = named.find((m) => m.op === '=');
  if (exact !== undefined) return { names: [exact.value] };
  for (const { op, value } of named) {
    if (op !== '=~') continue;
    const names = literalAlternatives(value);
    if (names !== undefined) return { names };
    const prefix = literalPrefix(value);
    if (prefix !== '')
      return { prefix, before: prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1) };
  }
  return undefined;
}

/** The literal a pattern's piece at `at` stands for (a plain character, or an escaped punctuation mark) and where the next begins. */
function literalAt(pattern: string, at: number): [literal: string, next: number] | undefined {
  const c = pattern[at];
  if (c === undefined) return undefined;
  if (c !== '\\') return META.has(c) ? undefined : [c, at + 1];
  const escaped = pattern[at + 1];
  // `\d`, `\w`, `\pL`, `\Q` and the like are classes or operators; an escaped punctuation mark is itself.
  return escaped !== undefined && /^[!-/:-@[-`{-~]$/.test(escaped) ? [escaped, at + 2] : undefined;
}

/** The names of a pattern that is nothing but literals joined by `|` (as RE2 reads it), or undefined. */
function literalAlternatives(pattern: string): string[] | undefined {
  const names = [''];
  for (let at = 0; at < pattern.length;) {
    if (pattern[at] === '|') {
      names.push('');
      at++;
      continue;
    }
    const literal = literalAt(pattern, at);
    if (literal === undefined) return undefined;
    names[names.length - 1] += literal[0];
    at = literal[1];
  }
  return names;
}

/**
 * The printable ASCII literal every match of a pattern begins with ('' when none):
 * its leading literals, less the last unless what follows surely leaves it
 * required (`a(?i)?` makes the `a` optional), and nothing when `|` splits the
 * pattern at its top level.
 */
function literalPrefix(pattern: string): string {
  if (topLevelAlternation(pattern)) return '';
  let [prefix, at] = ['', 0];
  for (;;) {
    const literal = literalAt(pattern, at);
    if (literal === undefined || literal[0] < ' ' || literal[0] > '~') break;
    prefix += literal[0];
    at = literal[1];
  }
  const next = pattern[at];
  const keeps = next === undefined || KEEPS_LAST.has(next) || next < ' ' || next > '~'; // or a literal outside the prefix's
  return keeps ? prefix : prefix.slice(0, -1);
}

/** Whether a `|` outside every group and character class splits the pattern, or may. */
function topLevelAlternation(pattern: string): boolean {
  if (pattern.includes('\\Q')) return true; // `a\Q(\E|b`: quoted text may hide the parentheses that seem to enclose a `|`
  let depth = 0;
  for (let at = 0; at < pattern.length; at++) {
    const c = pattern[at];
    if (c === '\\') at++;
    else if (c === '[') at = classEnd(pattern, at);
    else if (c === '(') depth++;
    else if (c === ')' && --depth < 0)
      return true; // `a)|(b`: it closes the group the pattern is matched in
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/** Where the character class opened at `open` closes (a `]` first in it, after any `^`, is a member). */
function classEnd(pattern: string, open: number): number {
  let at = open + 1;
  if (pattern[at] === '^') at++;
  if (pattern[at] === ']') at++;
  for (; at < pattern.length; at++) {
    if (pattern[at] === '\\') at++;
    else if (pattern[at] === '[' && pattern[at + 1] === ':') at = pattern.indexOf(':]', at + 2) + 1 || pattern.length;
    else if (pattern[at] === ']') return at;
  }
  return pattern.length;
}
