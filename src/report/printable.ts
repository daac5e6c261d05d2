/**
 * Characters that act on a terminal or a line-based file instead of showing:
 * C0 and C1 controls and DEL (a newline ends a header line, ESC starts a
 * terminal command) and the bidirectional overrides, which reorder what
 * follows them on screen.
 */
const UNPRINTABLE = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** Escapes as JavaScript writes them, readable in a line: \n, \t, \x1b, \u202e. */
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `s` with each such character written as its escape, for the terminal and for
 * one-line headers (the ftrace log's): a scenario's name or description, a
 * file name, comes out as text. JSON and HTML escape on their own and keep the
 * text as given.
 */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, (c) => {
    const named = NAMED[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
