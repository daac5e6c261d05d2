import { ModelBug } from '../runtime/model-bug.js';
import { InputError } from '../scenario/input-error.js';

/** An exception as plain data, so that it can cross from a worker thread to the main one. */
export interface ErrorData {
  name: string;
  message: string;
}

/** `e` as plain data (its name and message). */
export function errorData(e: unknown): ErrorData {
  return { name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) };
}

/** The exception again, on the receiving thread: a model bug and bad input keep their class, which the CLI tells apart (exit codes). */
export function errorFromData(d: ErrorData): Error {
  if (d.name === 'ModelBug') return new ModelBug(d.message);
  if (d.name === 'InputError') return new InputError(d.message);
  return new Error(d.message);
}
