/**
 * The global flags of the Kubernetes metadata source, checked at start: `--kubernetes-node` (this node's
 * name, which the pod list is asked for) and `--kubernetes-pod-label` (pod label keys copied as
 * `kubernetes_pod_label_<key sanitized>`). Names as Kubernetes validates them (its API conventions: a node
 * name is a DNS subdomain, RFC 1123; a label key an optional DNS-subdomain prefix and `/`, then a name of at
 * most 63 characters, alphanumeric at both ends, `-`, `_` and `.` inside).
 */
import { UsageError } from '../../core/errors.js';
import { quoted } from '../../core/quoted.js';
import { podLabelMetricName } from './kubernetes.js';
import { isDnsSubdomain, isLabelValue } from './metadata-values.js';

const MAX_SUBDOMAIN = 253;
const MAX_LABEL_NAME = 63;

/** Why `key` is not a Kubernetes label key, or null. */
export function podLabelKeyProblem(key: string): string | null {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? null : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== null && !isDnsSubdomain(prefix)) return `its prefix ${quoted(prefix)} is not a DNS subdomain (lowercase letters, digits, - and ., at most ${MAX_SUBDOMAIN})`;
  // A label key's name part follows the rule of a label value, and is not empty.
  if (name === '' || !isLabelValue(name)) {
    return `its name ${quoted(name)} is not a label name (at most ${MAX_LABEL_NAME} letters, digits, -, _ and ., a letter or digit at both ends)`;
  }
  return null;
}

/**
 * `--kubernetes-pod-label <key>`, repeatable: each a Kubernetes label key (one that is not could never
 * match a pod's label), and no two the same label once sanitized: `app.name` and `app_name` both become
 * `kubernetes_pod_label_app_name`, and one value would silently win. Both are named.
 */
export function podLabelKeys(flag: string): (value: string, previous: string[] | undefined) => string[] {
  return (value, previous) => {
    const problem = podLabelKeyProblem(value);
    if (problem !== null) throw new UsageError(`${flag} ${quoted(value)} is not a Kubernetes label key: ${problem}`);
    const label = podLabelMetricName(value);
    const clash = (previous ?? []).find((key) => podLabelMetricName(key) === label);
    if (clash !== undefined) {
      throw new UsageError(
        clash === value
          ? `${flag} ${quoted(value)} is given twice: give each pod label once`
          : `${flag} ${quoted(clash)} and ${flag} ${quoted(value)} both become the label ${label}: one value would silently replace the other; keep one`,
      );
    }
    return [...(previous ?? []), value];
  };
}

/** `--kubernetes-node <name>`: a node name (a DNS subdomain); the pod list is asked for this node only. */
export function nodeName(flag: string): (value: string) => string {
  return (value) => {
    if (!isDnsSubdomain(value)) {
      throw new UsageError(`${flag} ${quoted(value)} is not a Kubernetes node name (a DNS subdomain: lowercase letters, digits, - and ., at most ${MAX_SUBDOMAIN} characters)`);
    }
    return value;
  };
}
