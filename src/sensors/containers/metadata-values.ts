/**
 * What a name or label value from a metadata API may look like before it becomes a label on every series of
 * a process, container or pod. The APIs validate what they store, so a value breaking their own rules did
 * not come from them as documented (a lying or broken daemon, a proxy in between): it is left out rather
 * than carried onto the wire, where a 1 MB or control-character value would cost every exporter (and a
 * backend may refuse the whole batch holding it).
 *
 * Kubernetes' rules (kubernetes.io/docs/concepts/overview/working-with-objects/names and .../labels):
 * - DNS-1123 subdomain (pod and node names): at most 253 characters, lower-case letters, digits, `-` and `.`,
 *   starting and ending with a letter or digit;
 * - DNS-1123 label (namespaces, container names): at most 63 characters, lower-case letters, digits and `-`,
 *   starting and ending with a letter or digit;
 * - label value: empty, or at most 63 characters of letters, digits, `-`, `_` and `.`, starting and ending
 *   with a letter or digit.
 * Docker's (moby's daemon/names): a container name is a letter or digit followed by letters, digits, `_`, `.`
 * and `-`; an image is a reference (name, tag, digest) or an image id: printable ASCII, a few hundred
 * characters at most.
 */

const DNS_LABEL_RE = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE_RE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const DOCKER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const PRINTABLE_RE = /^[\x21-\x7e]+$/;

/** Longest Docker container name and image reference kept (moby sets no name limit; references stay far below). */
const DOCKER_NAME_MAX = 255;
const DOCKER_IMAGE_MAX = 512;

export function isDnsSubdomain(value: string): boolean {
  // Dot-separated DNS-1123 labels (each without the 63-character limit, as Kubernetes checks them).
  return value.length <= 253 && value.split('.').every((part) => DNS_LABEL_RE.test(part));
}

export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL_RE.test(value);
}

export function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE_RE.test(value);
}

export function isDockerName(value: string): boolean {
  return value.length <= DOCKER_NAME_MAX && DOCKER_NAME_RE.test(value);
}

export function isDockerImage(value: string): boolean {
  return value.length <= DOCKER_IMAGE_MAX && PRINTABLE_RE.test(value);
}

/** A value as a log line may show it: quoted, control characters escaped, cut to 60 characters. */
export function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/** Told about each value left out: which field, and the value. */
export type RefusedValue = (field: string, value: string) => void;
