import type { Command } from 'commander';
import { InputError } from '../scenario/input-error.js';

/**
 * Makes every option of `program`'s commands that takes one value refuse to be
 * given twice: commander keeps the last silently, so `--json a.json --json
 * b.json` wrote only b.json and `--seed 1 --seed 2` ran seed 2 with nothing
 * said. Options that collect their values (--set, --vary: a parser of their
 * own) and flags are left as they are. Call once all commands are registered;
 * a program parses one command line (main builds one per call).
 */
export function refuseRepeatedOptions(program: Command): void {
  for (const command of [program, ...program.commands]) {
    for (const option of command.options) {
      if (option.parseArg !== undefined || option.isBoolean() || option.variadic) continue;
      const name = option.long ?? option.short ?? option.flags;
      let given: string | undefined;
      option.argParser((value: string) => {
        if (given !== undefined) throw new InputError(`${name} given twice (${given}, ${value}); expected it once`);
        given = value;
        return value;
      });
    }
  }
}
