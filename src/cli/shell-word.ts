/** `s` as one word of a shell command line, quoted when it needs to be (a printed command must work pasted). */
export function shellWord(s: string): string {
  return /^[\w./+@:=-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** Words as one shell command line, each quoted as it needs (shellWord). */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellWord).join(' ');
}
