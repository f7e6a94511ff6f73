/**
 * Scaphandre's container labels (its documentation, "Metrics exposed": container_scheduler, container_runtime,
 * container_id, container_names, container_docker_version, container_label_*, kubernetes_node_name,
 * kubernetes_pod_name, kubernetes_pod_namespace): each has a row in docs/coming-from-scaphandre.md saying
 * what replaces it, and every scaph label a row names is one the metrics view really writes.
 */
import { describe, expect, it } from 'vitest';
import { METRIC_LABEL_NAMES, POD_LABEL_PREFIX } from '../../../src/core/metrics.js';
import { docSection } from '../../support/harness/markdown-docs.js';

const SCAPHANDRE_CONTAINER_LABELS = [
  'container_scheduler',
  'container_runtime',
  'container_id',
  'container_names',
  'container_docker_version',
  'container_label_<key>',
  'kubernetes_node_name',
  'kubernetes_pod_name',
  'kubernetes_pod_namespace',
];

/** The table's rows: Scaphandre's label (first code span of the first cell) -> the scaph cell. */
function rows(): Map<string, string> {
  const section = docSection('docs/coming-from-scaphandre.md', '## Container labels');
  const out = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = /^\| `([^`]+)`[^|]*\| (.*) \|$/.exec(line);
    if (cells?.[1] && cells[2]) out.set(cells[1], cells[2]);
  }
  return out;
}

describe("Scaphandre's container labels in Coming from Scaphandre", () => {
  it('every one of them has a row, and no row names a label Scaphandre does not have', () => {
    expect([...rows().keys()].sort()).toEqual([...SCAPHANDRE_CONTAINER_LABELS].sort());
  });

  it('each row is either "not emitted" with what to query instead, or a label scaph writes', () => {
    for (const [scaphandre, scaph] of rows()) {
      const notEmitted = scaph.startsWith('not emitted');
      // Label names in the cell's code spans (`name`, `name="v"`, `name!=""`); values (`docker`), paths and
      // flags have no underscore-joined words. The Scaphandre query a "not emitted" row quotes is not a scaph label.
      const named = [...scaph.matchAll(/`([^`]+)`/g)]
        .map((m) => (m[1] as string).split(/!?=/)[0] as string)
        .filter((span) => /^[a-z]+(_[a-z<>]+)+$/.test(span) && (!notEmitted || span !== scaphandre));
      // A label that is gone says why and what to use instead; one that is kept names it.
      if (notEmitted) expect(/^not emitted: .{40,}/.test(scaph), scaphandre).toBe(true);
      else expect(named.length, scaphandre).toBeGreaterThan(0);
      for (const label of named) {
        const known = METRIC_LABEL_NAMES.has(label) || label.startsWith(POD_LABEL_PREFIX);
        expect(known, `${scaphandre}: ${label}`).toBe(true);
      }
      if (!notEmitted) expect(METRIC_LABEL_NAMES.has(named[0] as string), scaphandre).toBe(true);
    }
  });

  it('the labels that keep their name are the ones scaph writes under that name', () => {
    const same = [...rows()].filter(([, scaph]) => /^`[a-z_]+`, the same/.test(scaph)).map(([name]) => name);
    expect(same.sort()).toEqual(['container_id', 'container_runtime', 'kubernetes_node_name', 'kubernetes_pod_name', 'kubernetes_pod_namespace']);
    for (const name of same) expect(METRIC_LABEL_NAMES.has(name), name).toBe(true);
  });
});
