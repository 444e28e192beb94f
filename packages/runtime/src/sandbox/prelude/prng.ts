/**
 * The guest's `Math.random`: xoshiro128** seeded per invocation by the host (from the command's random
 * seed, or from real randomness in queries). Fast and deterministic; not for secrets — contracts use
 * `ctx.random` or `crypto.getRandomValues` for those.
 */
export class Xoshiro128 {
  private s0 = 0
  private s1 = 0
  private s2 = 0
  private s3 = 0

  constructor(seed: readonly [number, number, number, number]) {
    this.reseed(seed)
  }

  reseed(seed: readonly [number, number, number, number]): void {
    this.s0 = seed[0] >>> 0
    this.s1 = seed[1] >>> 0
    this.s2 = seed[2] >>> 0
    this.s3 = seed[3] >>> 0
    // The all-zero state is a fixed point of the generator.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 0x9e3779b9
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** A double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const high = this.nextUint32() >>> 5
    const low = this.nextUint32() >>> 6
    return (high * 67_108_864 + low) / 9_007_199_254_740_992
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
