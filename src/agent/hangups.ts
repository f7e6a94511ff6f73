/**
 * SIGHUP for `scaph run`, from the moment the run starts: left to its default, a SIGHUP kills node, and
 * one that came while the agent was still starting (a `systemctl reload` right after `start`: Type=exec
 * makes the unit active at once) would stop it for good (systemd does not restart a unit a SIGHUP ended).
 * A SIGHUP before the handler is set is kept, and handed to it when it is.
 */
export class Hangups {
  private handler: (() => void) | null = null;
  private pending = false;
  private readonly onSignal = (): void => {
    if (this.handler) this.handler();
    else this.pending = true;
  };

  constructor() {
    process.on('SIGHUP', this.onSignal);
  }

  /** From now on each SIGHUP calls `handler` (once at once if one came before). */
  handle(handler: () => void): void {
    this.handler = handler;
    if (this.pending) {
      this.pending = false;
      handler();
    }
  }

  /** SIGHUP gets its default action back (the run is over). */
  dispose(): void {
    process.removeListener('SIGHUP', this.onSignal);
  }
}
