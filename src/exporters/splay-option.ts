import { switchOption } from '../config/declared-options.js';

/**
 * `--no-splay` on every push subcommand (`splay = false` in an [[exporter]] of a run config): the host's
 * offset within the step (src/agent/splay.ts) is on by default.
 */
export const SPLAY_OPTION = {
  splay: switchOption(
    '--no-splay',
    "send from the start of the run instead of at this host's own offset within the step (by default each host sends at an offset hashed from /etc/machine-id and its host name, so a fleet restarted together spreads its pushes over the step)",
  ),
};

/** The paragraph of a push command's --help on splay. */
export const SPLAY_HELP =
  "Splay: each host sends at its own offset within the step, hashed from /etc/machine-id (or $SCAPH_MACHINE_ID_FILE)\n" +
  'and the host name: stable across restarts, uniform across a fleet, so hosts restarted together do not hit\n' +
  'the backend in the same second. The first push comes at that offset, at most 1.5 steps + 1 s after start, and\n' +
  'carries the start-up reading too. A reload of scaph run keeps the offsets. --no-splay: first push within a\n' +
  'second of start.\n';
