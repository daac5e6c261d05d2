/** `s` as one word of a shell command line, quoted when it needs to be (a printed command must work pasted). */
export function shellWord(s: string): string {
  return /^[\w./+@:=-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}
