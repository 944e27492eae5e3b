/**
 * Regular expressions as Prometheus matches them: Go's RE2 syntax, fully anchored,
 * matched in linear time (re2js, a pure JavaScript port of RE2), so no pattern and
 * no label value can make a match take more than time proportional to their sizes.
 */
import { RE2JS } from 're2js';

/** A pattern compiled as `^(?:pattern)$`. */
export interface AnchoredRegex {
  /** Whether the whole of `value` matches. */
  test(value: string): boolean;
  /** The capture groups of a match of the whole of `value` (index 0 is the whole), or undefined. */
  groups(value: string): Array<string | undefined> | undefined;
  /** Capture group numbers by name. */
  readonly named: Readonly<Record<string, number>>;
}

/** Compiles a pattern; throws SyntaxError with RE2's message (`error parsing regexp: ...`) when RE2 refuses it. */
export function compileAnchored(pattern: string): AnchoredRegex {
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(`^(?:${pattern})$`);
  } catch (error) {
    throw new SyntaxError((error as Error).message, { cause: error });
  }
  const count = regex.groupCount();
  return {
    test: (value) => regex.testExact(value),
    groups: (value) => {
      const matcher = regex.matcher(value);
      if (!matcher.matches()) return undefined;
      return Array.from({ length: count + 1 }, (_, i) => matcher.group(i) ?? undefined);
    },
    named: regex.namedGroups(),
  };
}

/**
 * Go's Regexp.Expand of `template` with a match's groups: `$1`, `${1}`, `$name`,
 * `${name}` (a name is the longest run of letters, digits and _), `$$` for `$`;
 * a group that does not exist or did not match is empty.
 */
export function expandTemplate(
  template: string,
  groups: ReadonlyArray<string | undefined>,
  named: Readonly<Record<string, number>>,
): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$' || i + 1 >= template.length) {
      out += c;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let end = i + 1;
    if (template[i + 1] === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (close >= 0 && /^[A-Za-z0-9_]+$/.test(inner)) {
        name = inner;
        end = close + 1;
      }
    } else {
      const run = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (run !== null) {
        name = run[0];
        end = i + 1 + name.length;
      }
    }
    if (name === undefined) {
      out += c; // a malformed reference stays as written
      continue;
    }
    const index = /^\d+$/.test(name) ? Number(name) : named[name];
    if (index !== undefined) out += groups[index] ?? '';
    i = end - 1;
  }
  return out;
}
