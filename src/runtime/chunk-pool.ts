/**
 * Recycled 512-entry Int32Array chunks, the unit of the model's page tables
 * (KVM's and the host's). A typed array this size lives outside the JS heap and
 * costs microseconds to allocate and to collect: more than a whole small
 * execution's steps. The checker builds a fresh model for every execution, so an
 * instance hands its chunks back here when a driver is done with it, and the next
 * one takes them. One pool per thread (module state is per worker), capped so a
 * big simulation does not keep its memory after it ends.
 */
export const CHUNK_ENTRIES = 512;

/** Most chunks kept for reuse (8 MiB). */
const KEEP = 4096;

const free: Int32Array[] = [];

/** A zero-filled chunk, recycled when one is free. */
export function takeChunk(): Int32Array {
  const c = free.pop();
  if (c === undefined) return new Int32Array(CHUNK_ENTRIES);
  c.fill(0);
  return c;
}

/** Gives chunks back; the caller must not use them afterwards. */
export function giveChunks(chunks: Iterable<Int32Array>): void {
  for (const c of chunks) {
    if (free.length >= KEEP) return;
    free.push(c);
  }
}
