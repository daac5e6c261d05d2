import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

/**
 * The CLI in a process of its own (test/cli/cli-child.ts), which runs
 * the commands it is sent one after the other: its start (tsx's) is paid once,
 * not per case. A command that runs past the watchdog is a hang: the process
 * is killed and the next command gets a fresh one; one that ends the process
 * (a crash) is reported with the process's exit and what it wrote.
 */
export class CliProcess {
  /** `watchdogMs`: how long a command may run before it is called a hang. */
  constructor(private readonly watchdogMs: number) {}

  private child: ChildProcess | null = null;
  private stderr = '';

  private start(): ChildProcess {
    const child = fork(join('test', 'cli', 'cli-child.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    child.stderr!.on('data', (d) => (this.stderr += d));
    this.stderr = '';
    return child;
  }

  /** Runs `args` with a watchdog; a hang is reported as code 'hang'. */
  run(args: string[]): Promise<{ code: number | string; stderr: string }> {
    if (this.child === null) this.child = this.start();
    const child = this.child;
    const from = this.stderr.length;
    const written = () => this.stderr.slice(from);
    return new Promise((resolve) => {
      const done = (r: { code: number | string; stderr: string }) => {
        clearTimeout(dog);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(r);
      };
      const onMessage = (r: { code: number | string; stderr: string }) => done({ code: r.code, stderr: written() + r.stderr });
      const onExit = (code: number | null, sig: string | null) => {
        this.child = null;
        done({ code: `process exit ${code ?? `signal ${sig}`}`, stderr: written() });
      };
      const dog = setTimeout(() => {
        child.off('exit', onExit);
        child.kill('SIGKILL');
        this.child = null;
        done({ code: 'hang', stderr: written() });
      }, this.watchdogMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send(args);
    });
  }

  close(): void {
    this.child?.kill();
    this.child = null;
  }

  /**
   * Lets the process go (no more commands) and says whether it then exited on its own within the
   * watchdog, as `mmulab` must once its command is done: a timer, worker or handle a command left
   * running keeps it alive (a process per command showed that as a hang). Killed if it did not.
   */
  end(): Promise<'exited' | 'still running'> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return Promise.resolve('exited');
    return new Promise((resolve) => {
      const dog = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('still running');
      }, this.watchdogMs);
      child.once('exit', () => {
        clearTimeout(dog);
        resolve('exited');
      });
      child.disconnect();
    });
  }
}
