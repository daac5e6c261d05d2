import { plural } from './plural.js';

/** How many times a run's mutant made the model depart from the kernel (RunResult.mutantActed), as run's header and report say it: "acted 35 times". */
export function actedWords(acted: number): string {
  return `acted ${plural(acted, 'time')}`;
}
