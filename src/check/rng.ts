/**
 * The scheduler's own random source: small, fast and reseedable without
 * allocating, so that random and PCT can start an execution every few
 * microseconds. (The model's draws come from the runtime's Prng instead.)
 * sfc32, seeded through splitmix32.
 */
export class SchedRng {
  /** sfc32 state words (d is the counter). */
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 1;

  constructor(seed = 0, stream = 0) {
    this.reseed(seed, stream);
  }

  /** Restarts the sequence for (`seed`, `stream`): one stream per execution. */
  reseed(seed: number, stream: number): void {
    let s = mix32(seed | 0, stream | 0);
    s = (s + 0x9e3779b9) | 0;
    this.a = splitmix32(s);
    s = (s + 0x9e3779b9) | 0;
    this.b = splitmix32(s);
    s = (s + 0x9e3779b9) | 0;
    this.c = splitmix32(s);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform 32-bit integer (signed representation). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t;
  }

  /** An integer in [0, n), n ≤ 2^32 (bias below n / 2^32). */
  below(n: number): number {
    if (n <= 1) return 0;
    return Math.floor(((this.next() >>> 0) / 4294967296) * n);
  }

  /** A float in [0, 1). */
  float(): number {
    return (this.next() >>> 0) / 4294967296;
  }
}

/** splitmix32 finaliser. */
export function splitmix32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

/** Mixes a run seed and a stream index (the execution number) into one 32-bit seed. */
export function mix32(seed: number, stream: number): number {
  return splitmix32((splitmix32(seed) ^ Math.imul(stream + 1, 0x9e3779b1)) | 0);
}
