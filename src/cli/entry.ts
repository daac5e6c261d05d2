import { EXIT, main } from './main.js';

/**
 * A reader that goes away early (`mmulab check … | head -3`) closes the pipe:
 * the rest of what goes to the terminal is dropped, and the command still
 * finishes, so its files (--json, --out, traces) are all written. Any other
 * failure to write is reported in one line.
 */
function onOutputError(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE') return;
  try {
    process.stderr.write(`mmulab: cannot write to the terminal or pipe: ${e.message}\n`);
  } finally {
    process.exit(EXIT.modelBug);
  }
}
process.stdout.on('error', onOutputError);
process.stderr.on('error', onOutputError);

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
