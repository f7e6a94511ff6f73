import { UsageError } from '../core/errors.js';
import { METRIC_LABEL_NAMES, POD_LABEL_PREFIX } from '../core/metrics.js';
import { quoted } from '../core/quoted.js';

/** What a backend takes as the name of a label added to every series (`--label name=value`). */
export interface ExtraLabelRules {
  /** The flag, for messages. */
  readonly flag: string;
  /** Why `name` is not a label name this backend takes, or null. */
  nameProblem(name: string): string | null;
  /** Labels the transport itself adds to every series, which --label may replace (remote-write: job, instance). */
  readonly replaces: readonly string[];
}

/**
 * A repeatable `--label name=value` (remote-write, Warp 10) into a record, refusing what would be silently
 * lost or wrong on the wire: a name the backend does not take, an empty value (Prometheus drops a label
 * whose value is empty), a name given twice (one value would replace the other), and a name scaph's
 * metrics carry themselves (pid, socket_id, a pod label…), which a series' own label wins over: the value
 * would be dropped on those series and stuck onto the others.
 */
export function extraLabel(rules: ExtraLabelRules): (value: string, previous: Record<string, string> | undefined) => Record<string, string> {
  const { flag } = rules;
  return (value, previous) => {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} takes key=value, got ${quoted(value)}`);
    const name = value.slice(0, eq);
    const labelValue = value.slice(eq + 1);
    const problem = rules.nameProblem(name);
    if (problem !== null) throw new UsageError(`${flag} name ${quoted(name)} ${problem}`);
    if (labelValue === '') throw new UsageError(`${flag} ${name}= has an empty value, which backends treat as no label at all: give a value or leave it out`);
    if (isMetricLabel(name) && !rules.replaces.includes(name)) {
      throw new UsageError(
        `${flag} name ${quoted(name)} is a label of scaph's own series: it would be dropped where a series has its own and added where it has not; choose another name`,
      );
    }
    const earlier = previous?.[name];
    if (earlier !== undefined) {
      throw new UsageError(`${flag} ${name}=${earlier} and ${flag} ${name}=${labelValue} name the same label: one value would silently replace the other; keep one`);
    }
    return { ...(previous ?? {}), [name]: labelValue };
  };
}

function isMetricLabel(name: string): boolean {
  return METRIC_LABEL_NAMES.has(name) || name.startsWith(POD_LABEL_PREFIX);
}
