import { grouped } from './grouped.js';
/** A snapshot of an exploration in progress. */
export interface Progress {
  /** Strategy name. */
  strategy: string;
  /** Executions run so far. */
  executions: number;
  /** Executions per second so far. */
  executionsPerSec: number;
  /** Most steps in one execution so far. */
  depth: number;
  /** Wall time so far, ms. */
  elapsedMs: number;
}

/** Where progress goes: told every few hundred ms, and once at the end. */
export interface ProgressSink {
  /** A new snapshot. */
  update(p: Progress): void;
  /** The exploration is over. */
  end(): void;
}

/** The part of a writable stream a progress line needs (process.stderr fits). */
export interface ProgressStream {
  /** True when the stream is a terminal. */
  isTTY?: boolean;
  /** Writes text to it. */
  write(chunk: string): unknown;
}

/**
 * A one-line progress display rewritten in place with '\r', or null when the
 * stream is not a terminal (progress never goes into redirected output).
 */
export function ttyProgress(stream: ProgressStream): ProgressSink | null {
  if (stream.isTTY !== true) return null;
  let shown = false;
  return {
    update(p) {
      const line =
        `${p.strategy}: ${grouped(p.executions)} executions, ` + `${grouped(p.executionsPerSec)}/s, depth ${p.depth}, ${(p.elapsedMs / 1000).toFixed(1)} s`;
      stream.write(`\r\x1b[K${line}`);
      shown = true;
    },
    end() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
