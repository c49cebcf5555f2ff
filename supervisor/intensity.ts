/**
 * Erlang/OTP restart intensity: more than `intensity` restarts within `periodMs` means restarting does not help,
 * and the supervisor gives up and escalates.
 */
export interface IntensityLimit {
  intensity: number;
  periodMs: number;
}

export class IntensityWindow {
  private times: number[] = [];

  constructor(readonly limit: IntensityLimit) {}

  /** Records a restart at `now`; true when the limit is now exceeded. */
  record(now: number): boolean {
    this.times.push(now);
    this.prune(now);
    return this.times.length > this.limit.intensity;
  }

  count(now: number): number {
    this.prune(now);
    return this.times.length;
  }

  private prune(now: number): void {
    const from = now - this.limit.periodMs;
    this.times = this.times.filter((t) => t > from);
  }
}
