/** How the process ended, for Docker's restart policy and for people reading `docker ps -a`. */
export const EXIT = {
  ok: 0,
  /** Unhandled rejection or exception: a bug. */
  crash: 1,
  /** Unknown verb or option. */
  usage: 64,
  /** `review`: the log file cannot be read. */
  noInput: 66,
  /** `review`: the --html file cannot be written. */
  cantCreate: 73,
  /** The root supervisor's restart intensity was exceeded: restarting inside the process no longer helps. */
  intensity: 70,
  /** Graceful shutdown ran out of its budget; the rest was stopped forcibly. */
  shutdownTimeout: 75,
  /** Bad configuration. */
  config: 78,
} as const;
