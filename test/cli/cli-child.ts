import { main } from '../../src/cli/main.js';

/**
 * A process of its own that runs the CLI's commands it is sent over IPC, one
 * after the other, answering each with its exit code and what it wrote on
 * stderr: the commands keep a process boundary (a hang is killed from
 * outside, a crash ends this process) without paying tsx's start-up per
 * command. A command that throws answers with the stack, as the real binary
 * would print it (an unhandled rejection).
 */
process.on('message', async (args: string[]) => {
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    stderr += typeof s === 'string' ? s : Buffer.from(s).toString('utf8');
    return true;
  }) as typeof process.stderr.write;
  let code: number | string;
  try {
    process.exitCode = undefined;
    code = await main(args);
  } catch (e) {
    code = 'threw';
    stderr += `${(e as Error)?.stack ?? String(e)}\n`;
  } finally {
    process.stderr.write = write;
    process.exitCode = undefined;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(signal);
  }
  process.send!({ code, stderr });
});
