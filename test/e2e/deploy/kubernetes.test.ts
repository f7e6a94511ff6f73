/**
 * deploy/kubernetes: the base and every overlay rendered with `kubectl kustomize` (as `kubectl apply -k`
 * renders them), each object checked against the Kubernetes API schemas, the DaemonSet's privileges and
 * probes asserted, every config in a ConfigMap run through `scaph run --check`, and the container run
 * locally as the DaemonSet runs it (UID 0, every capability dropped, no new privileges).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import { sizeBytes } from '../../../src/config/values.js';
import { PUSH_DEFAULTS } from '../../../src/delivery/push-exporter.js';
import { HEALTH_PATH } from '../../../src/exporters/prometheus/exporter.js';
import { POD_READ_RULE, SERVICE_ACCOUNT_DIR } from '../../../src/sensors/containers/kubernetes.js';
import { CgroupfsTree } from '../../support/fixtures/cgroupfs-tree.js';
import { createPowercapTree } from '../../support/fixtures/powercap-tree.js';
import { SCAPH_BIN } from '../../support/fixtures/run-scaph.js';
import { freePort, waitFor } from '../../support/servers/free-port.js';
import { makeTestPki } from '../../support/servers/test-ca.js';
import { schemaProblems, type KubeObject } from '../../support/harness/kube-schema.js';
import { docSection } from '../../support/harness/markdown-docs.js';
import { packageRoot } from '../../../src/core/package-file.js';

const REPO = packageRoot();
const KUBE = join(REPO, 'deploy', 'kubernetes');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
/** `scaph run`'s steady figures from docs/benchmarks.md (2026-11-23): peak RSS and CPU, 500 processes, 2 s step. */
const BENCH_PEAK_RSS_BYTES = 78.5e6;
const BENCH_CPU_CORES = 0.0107;
/** A spool may exceed spool_max_bytes by one segment (src/delivery/spool.ts: at most 8 MiB). */
const SPOOL_SEGMENT_BYTES = 8 * 1024 * 1024;

const TARGETS = ['.', ...readdirSync(join(KUBE, 'overlays')).sort().map((o) => `overlays/${o}`)];
const PUSH_OVERLAYS = ['overlays/mimir', 'overlays/otlp', 'overlays/remote-write', 'overlays/riemann-mtls', 'overlays/warp10'];

let work: string;
const rendered = new Map<string, KubeObject[]>();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'scaph-kube-'));
  const tree = kustomizeTree();
  for (const target of TARGETS) rendered.set(target, kustomize(join(tree, target)));
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `kubectl kustomize DIR` as objects. */
function kustomize(dir: string): KubeObject[] {
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('kubectl not found: run scripts/install-test-deps.sh (it installs kubernetes-client)');
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr ?? e.message}`);
  }
  return parseAllDocuments(out).map((d) => d.toJS() as KubeObject);
}

/**
 * The tree to render: deploy/kubernetes itself, or, under kubectl <= 1.20 (kustomize v2, what Debian's
 * kubernetes-client ships, the fallback of install-test-deps.sh), a copy where the directories listed
 * under `resources` are listed under `bases`, the only place kustomize v2 takes a directory. Same objects.
 */
function kustomizeTree(): string {
  const version = JSON.parse(execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', timeout: 30_000 })) as {
    clientVersion: { minor: string };
  };
  if (Number.parseInt(version.clientVersion.minor, 10) > 20) return KUBE;
  const copy = join(work, 'kustomize-v2');
  cpSync(KUBE, copy, { recursive: true });
  for (const target of TARGETS) {
    const file = join(copy, target, 'kustomization.yaml');
    const k = parseYaml(readFileSync(file, 'utf8')) as { resources?: string[]; bases?: string[] };
    const isDir = (r: string): boolean => statSync(join(copy, target, r)).isDirectory();
    k.bases = (k.resources ?? []).filter(isDir);
    k.resources = (k.resources ?? []).filter((r) => !isDir(r));
    writeFileSync(file, stringifyYaml(k));
  }
  return copy;
}

function objectsOf(target: string): KubeObject[] {
  const objects = rendered.get(target);
  if (!objects) throw new Error(`${target} was not rendered`);
  return objects;
}

function one<T>(target: string, kind: string): T {
  const found = objectsOf(target).filter((o) => o.kind === kind);
  expect(found, `${target}: one ${kind}`).toHaveLength(1);
  return found[0] as T;
}

function container(ds: IDaemonSet): IContainer {
  const containers = ds.spec?.template.spec?.containers ?? [];
  expect(containers).toHaveLength(1);
  return containers[0] as IContainer;
}

function volumes(ds: IDaemonSet): IVolume[] {
  return ds.spec?.template.spec?.volumes ?? [];
}

function mountOf(ds: IDaemonSet, volume: IVolume | undefined): { mountPath: string; readOnly?: boolean } {
  const mount = container(ds).volumeMounts?.find((m) => m.name === volume?.name);
  if (!mount) throw new Error(`volume ${volume?.name} is not mounted`);
  return mount;
}

function configText(target: string): string {
  const cm = one<{ data: Record<string, string> }>(target, 'ConfigMap');
  const text = cm.data['scaph.toml'];
  if (text === undefined) throw new Error(`${target}: no scaph.toml in the ConfigMap`);
  return text;
}

type ExporterTable = Record<string, unknown> & { type: string };
function exportersOf(target: string): ExporterTable[] {
  return (parseToml(configText(target)) as { exporter: ExporterTable[] }).exporter;
}

/** A Kubernetes quantity (`20m`, `128Mi`, `512Mi`, `1.5`) as a number of cores or bytes. */
function quantity(q: string | number | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(String(q));
  if (!m) throw new Error(`not a quantity: ${String(q)}`);
  const unit = { m: 1e-3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

/** `${CREDENTIALS_DIRECTORY}/<key>` references of a config: the Secret keys it needs. */
function credentialKeys(toml: string): string[] {
  const keys = new Set<string>();
  for (const line of toml.split('\n')) {
    if (line.trimStart().startsWith('#')) continue;
    for (const m of line.matchAll(/\$\{CREDENTIALS_DIRECTORY\}\/([\w.-]+)/g)) keys.add(m[1] ?? '');
  }
  return [...keys].sort();
}

describe('deploy/kubernetes', () => {
  it('renders the base and every overlay; every object passes the Kubernetes API schemas, with no unknown field', () => {
    expect(TARGETS).toEqual(['.', 'overlays/mimir', 'overlays/otlp', 'overlays/pull', 'overlays/remote-write', 'overlays/riemann-mtls', 'overlays/warp10']);
    for (const target of TARGETS) {
      expect(objectsOf(target).length, target).toBeGreaterThanOrEqual(6);
      expect(objectsOf(target).flatMap(schemaProblems), target).toEqual([]);
    }
  });

  it('the base: namespace, service account, the one RBAC rule the metadata source needs bound to it, the config, the DaemonSet; overlays add only a Service (pull)', () => {
    const kinds = (target: string): string[] => objectsOf(target).map((o) => o.kind).sort();
    const base = ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'Namespace', 'ServiceAccount'];
    expect(kinds('.')).toEqual(base);
    for (const target of PUSH_OVERLAYS) expect(kinds(target), target).toEqual(base);
    expect(kinds('overlays/pull')).toEqual([...base, 'Service'].sort());

    for (const target of TARGETS) {
      for (const o of objectsOf(target)) {
        if (o.kind !== 'Namespace' && !o.kind.startsWith('Cluster')) expect(o.metadata.namespace, `${target}: ${o.kind}`).toBe('scaph');
      }
      const ns = one<KubeObject>(target, 'Namespace');
      // hostPID and hostPath are outside the "baseline" Pod Security level.
      expect((ns.metadata['labels'] as Record<string, string>)['pod-security.kubernetes.io/enforce']).toBe('privileged');
      const role = one<IClusterRole>(target, 'ClusterRole');
      expect(role.rules).toEqual([{ apiGroups: [...POD_READ_RULE.apiGroups], resources: [...POD_READ_RULE.resources], verbs: [...POD_READ_RULE.verbs] }]);
      const binding = one<IClusterRoleBinding>(target, 'ClusterRoleBinding');
      const ds = one<IDaemonSet>(target, 'DaemonSet');
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata?.name });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: ds.spec?.template.spec?.serviceAccountName, namespace: 'scaph' }]);
      expect(one<KubeObject>(target, 'ServiceAccount').metadata.name).toBe(ds.spec?.template.spec?.serviceAccountName);
    }
  });

  it('the DaemonSet: hostPID, read-only /proc and /sys, root with every capability dropped, not privileged, read-only root filesystem, on every node', () => {
    for (const target of TARGETS) {
      const ds = one<IDaemonSet>(target, 'DaemonSet');
      const pod = ds.spec?.template.spec;
      const c = container(ds);
      expect(pod?.hostPID, target).toBe(true);
      expect(pod?.hostNetwork).toBeUndefined();
      expect(pod?.hostIPC).toBeUndefined();
      expect(pod?.securityContext).toEqual({ runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } });
      expect(c.securityContext).toEqual({ privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(pod?.tolerations).toEqual([{ operator: 'Exists' }]);
      expect(pod?.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
      expect(ds.spec?.selector.matchLabels).toEqual(ds.spec?.template.metadata?.labels);

      // Host paths: exactly /proc and /sys, both read-only.
      const hostPaths = volumes(ds).filter((v) => v.hostPath);
      expect(hostPaths.map((v) => v.hostPath?.path).sort()).toEqual(['/proc', '/sys']);
      const proc = mountOf(ds, hostPaths.find((v) => v.hostPath?.path === '/proc'));
      const sys = mountOf(ds, hostPaths.find((v) => v.hostPath?.path === '/sys'));
      expect(proc).toMatchObject({ mountPath: '/host/proc', readOnly: true });
      // The whole /sys: powercap's entries are relative links into /sys/devices, which the runtime masks
      // in the container's own /sys; the cgroup2 mount is under it too.
      expect(sys).toMatchObject({ mountPath: '/host/sys', readOnly: true });
      // The only writable mount is the spool (emptyDir).
      const writable = (c.volumeMounts ?? []).filter((m) => m.readOnly !== true).map((m) => volumes(ds).find((v) => v.name === m.name));
      expect(writable.map((v) => Object.keys(v ?? {}).filter((k) => k !== 'name'))).toEqual([['emptyDir']]);

      // The service-account token and CA stay where the kubelet mounts them and the metadata source reads them.
      expect(pod?.automountServiceAccountToken).toBe(true);
      expect((c.volumeMounts ?? []).filter((m) => SERVICE_ACCOUNT_DIR.startsWith(m.mountPath) || m.mountPath.startsWith(SERVICE_ACCOUNT_DIR))).toEqual([]);
    }
  });

  it('the container: args point at the mounts, NODE_NAME and SCAPH_HOSTNAME are the node, CREDENTIALS_DIRECTORY is the Secret', () => {
    for (const target of TARGETS) {
      const ds = one<IDaemonSet>(target, 'DaemonSet');
      const c = container(ds);
      // No command: the image's ENTRYPOINT (node with the flags of bin.js's shebang) runs.
      expect(c.command).toBeUndefined();
      const args = c.args ?? [];
      expect(args).toEqual(['--no-docker', '--procfs-path', '/host/proc', '--powercap-path', '/host/sys/class/powercap', '--cgroupfs-path', '/host/sys/fs/cgroup', 'run', '-c', '/etc/scaph/scaph.toml']);
      const sysMount = mountOf(ds, volumes(ds).find((v) => v.hostPath?.path === '/sys')).mountPath;
      expect(args[args.indexOf('--powercap-path') + 1]).toBe(`${sysMount}/class/powercap`);
      expect(args[args.indexOf('--cgroupfs-path') + 1]).toBe(`${sysMount}/fs/cgroup`);
      const config = mountOf(ds, volumes(ds).find((v) => v.configMap));
      expect(args[args.indexOf('-c') + 1]).toBe(`${config.mountPath}/scaph.toml`);
      expect(volumes(ds).find((v) => v.configMap)?.configMap?.name).toBe(one<KubeObject>(target, 'ConfigMap').metadata.name);

      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
      const secretVolume = volumes(ds).find((v) => v.secret);
      expect(secretVolume?.secret).toEqual({ secretName: 'scaph-credentials', optional: true, defaultMode: 0o400 });
      expect(env).toEqual({
        NODE_NAME: { fieldRef: { fieldPath: 'spec.nodeName' } },
        SCAPH_HOSTNAME: { fieldRef: { fieldPath: 'spec.nodeName' } },
        CREDENTIALS_DIRECTORY: mountOf(ds, secretVolume).mountPath,
      });
      expect(mountOf(ds, secretVolume).readOnly).toBe(true);
    }
  });

  it('the probes ask /healthz on the port every config serves it on; requests and limits leave room above the bench figures', () => {
    for (const target of TARGETS) {
      const ds = one<IDaemonSet>(target, 'DaemonSet');
      const c = container(ds);
      expect(c.ports).toEqual([{ name: 'metrics', containerPort: 8080, protocol: 'TCP' }]);
      for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
        expect(probe?.httpGet).toEqual({ path: HEALTH_PATH, port: 'metrics' });
      }
      // Liveness gives a stalled agent its health_max_age plus three failed probes before a restart.
      const prometheus = exportersOf(target).filter((e) => e.type === 'prometheus');
      expect(prometheus, target).toHaveLength(1);
      expect(prometheus[0]).toMatchObject({ address: '0.0.0.0', port: 8080, containers: true, health_max_age: 30 });

      const { requests, limits } = c.resources ?? {};
      expect(quantity(requests?.['cpu'])).toBeGreaterThanOrEqual(BENCH_CPU_CORES);
      expect(quantity(limits?.['cpu'])).toBeGreaterThanOrEqual(10 * quantity(requests?.['cpu']));
      expect(quantity(requests?.['memory'])).toBeGreaterThan(BENCH_PEAK_RSS_BYTES);
      // A backend down long enough fills one push exporter's in-memory queue.
      expect(quantity(limits?.['memory'])).toBeGreaterThan(BENCH_PEAK_RSS_BYTES + PUSH_DEFAULTS.maxQueueBytes);
    }
  });

  it('requests and limits are those docs/sizing.md works out from the cost model, in the base and every overlay', () => {
    const table = docSection('docs/sizing.md', '## Kubernetes requests and limits');
    const row = (resource: string): { request: string; limit: string } => {
      const m = new RegExp(`^\\| ${resource} \\| \`([^\`]+)\` \\| \`([^\`]+)\` \\|`, 'm').exec(table);
      if (!m) throw new Error(`docs/sizing.md: no ${resource} row in "Kubernetes requests and limits"`);
      return { request: m[1] as string, limit: m[2] as string };
    };
    const cpu = row('cpu');
    const memory = row('memory');
    for (const target of TARGETS) {
      const { requests, limits } = container(one<IDaemonSet>(target, 'DaemonSet')).resources ?? {};
      expect({ requests, limits }, target).toEqual({ requests: { cpu: cpu.request, memory: memory.request }, limits: { cpu: cpu.limit, memory: memory.limit } });
    }
  });

  it('the image is named once, with the package version: what the Dockerfile builds', () => {
    const base = parseYaml(readFileSync(join(KUBE, 'base', 'kustomization.yaml'), 'utf8')) as { images: unknown };
    expect(base.images).toEqual([{ name: 'scaph', newName: 'scaph', newTag: VERSION }]);
    for (const target of TARGETS) expect(container(one<IDaemonSet>(target, 'DaemonSet')).image, target).toBe(`scaph:${VERSION}`);
    const imageLines: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.ya?ml$/.test(entry.name)) imageLines.push(...readFileSync(path, 'utf8').split('\n').filter((l) => /^\s*image:/.test(l)));
      }
    };
    walk(KUBE);
    expect(imageLines.map((l) => l.trim())).toEqual(['image: scaph']);
    const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/ENTRYPOINT \[.*"\/opt\/scaph\/dist\/src\/bin\.js"\]/);
  });

  it('every config in a ConfigMap passes `scaph run --check`, with the Secret keys it names laid out as the DaemonSet mounts them', async () => {
    const pkiDir = join(work, 'pki');
    mkdirSync(pkiDir);
    const pki = makeTestPki(pkiDir);
    const summaries: string[] = [];
    for (const target of TARGETS) {
      const toml = configText(target);
      const dir = join(work, 'check', target.replace('/', '-'));
      const credentials = join(dir, 'credentials');
      mkdirSync(credentials, { recursive: true });
      const keys = credentialKeys(toml);
      for (const key of keys) {
        const pem = key.endsWith('ca.pem') ? pki.ca : key.endsWith('.pem') ? pki.cert : key.endsWith('.key') ? pki.key : 'secret-value\n';
        writeFileSync(join(credentials, key), pem);
      }
      // The kubectl command in the config's header creates exactly the keys the config reads.
      const documented = [...toml.matchAll(/--from-file=([\w.-]+)=/g)].map((m) => m[1]).sort();
      expect(documented, target).toEqual(keys);
      const file = join(dir, 'scaph.toml');
      writeFileSync(file, toml);
      const { code, stdout, stderr } = await runNode([SCAPH_BIN, 'run', '-c', file, '--check'], { CREDENTIALS_DIRECTORY: credentials, NODE_NAME: 'node-a' });
      expect(code, `${target}: ${stderr}`).toBe(0);
      // The summary line; the path lines after it show the mounted credentials and the spool as resolved.
      const [summary, ...paths] = stdout.trim().split('\n');
      summaries.push((summary ?? '').replace(`${file}: `, `${target}: `));
      for (const line of paths) expect(line, target).toMatch(new RegExp(`^  exporter\\[\\d\\]\\.\\w+ = (${credentials}/|/var/lib/scaph/spool/)`));

      // Spools live on the DaemonSet's emptyDir, and fit in its size limit (or the kubelet evicts the pod).
      const ds = one<IDaemonSet>(target, 'DaemonSet');
      const spool = volumes(ds).find((v) => v.emptyDir);
      const spoolMount = mountOf(ds, spool).mountPath;
      let spoolBytes = 0;
      for (const e of exportersOf(target).filter((x) => x['spool_dir'] !== undefined)) {
        expect(String(e['spool_dir']).startsWith(`${spoolMount}/`), `${target}: ${String(e['spool_dir'])}`).toBe(true);
        spoolBytes += sizeBytes(e['spool_max_bytes']) + SPOOL_SEGMENT_BYTES;
      }
      expect(spoolBytes).toBeLessThan(quantity(spool?.emptyDir?.sizeLimit));
    }
    expect(summaries).toEqual([
      '.: OK: sensor auto every 5 s ([sensor] step); 1 exporter: prometheus every 5 s (default)',
      'overlays/mimir: OK: sensor auto every 5 s ([sensor] step); 2 exporters: prometheus every 5 s (default), remote-write every 5 s (default; spool /var/lib/scaph/spool/remote-write)',
      'overlays/otlp: OK: sensor auto every 5 s ([sensor] step); 2 exporters: prometheus every 5 s (default), otlp every 5 s (default; spool /var/lib/scaph/spool/otlp)',
      'overlays/pull: OK: sensor auto every 5 s ([sensor] step); 1 exporter: prometheus every 5 s (default)',
      'overlays/remote-write: OK: sensor auto every 5 s ([sensor] step); 2 exporters: prometheus every 5 s (default), remote-write every 5 s (default; spool /var/lib/scaph/spool/remote-write)',
      'overlays/riemann-mtls: OK: sensor auto every 5 s ([sensor] step); 2 exporters: prometheus every 5 s (default), riemann every 10 s (step)',
      'overlays/warp10: OK: sensor auto every 5 s ([sensor] step); 2 exporters: prometheus every 5 s (default), warp10 every 30 s (step; spool /var/lib/scaph/spool/warp10)',
    ]);
  });

  it('the pull overlay: a headless Service on the pods\' metrics port, and a scrape job that keeps it (promtool)', async () => {
    const svc = one<IService>('overlays/pull', 'Service');
    const ds = one<IDaemonSet>('overlays/pull', 'DaemonSet');
    expect(svc.spec?.clusterIP).toBe('None');
    expect(svc.spec?.selector).toEqual(ds.spec?.template.metadata?.labels);
    expect(svc.spec?.ports).toEqual([{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }]);

    const file = join(KUBE, 'overlays', 'pull', 'prometheus-scrape.yaml');
    type Job = { job_name: string; kubernetes_sd_configs?: Array<{ role: string; namespaces: { names: string[] } }>; static_configs?: unknown; relabel_configs: Array<{ action?: string; regex?: string; source_labels: string[] }> };
    const scrape = parseYaml(readFileSync(file, 'utf8')) as { scrape_configs: Job[] };
    const job = scrape.scrape_configs[0] as Job;
    expect(job.kubernetes_sd_configs).toEqual([{ role: 'endpoints', namespaces: { names: [svc.metadata?.namespace] } }]);
    const keep = job.relabel_configs.find((r) => r.action === 'keep');
    expect(keep).toEqual({ source_labels: ['__meta_kubernetes_service_name', '__meta_kubernetes_endpoint_port_name'], regex: `${svc.metadata?.name};${svc.spec?.ports?.[0]?.name}`, action: 'keep' });
    // Debian's Prometheus is built without Kubernetes discovery: promtool checks the rest with a static target.
    const { kubernetes_sd_configs: _sd, ...rest } = job;
    const checkable = join(work, 'prometheus-scrape.yaml');
    writeFileSync(checkable, stringifyYaml({ scrape_configs: [{ ...rest, static_configs: [{ targets: ['scaph.scaph.svc:8080'] }] }] }));
    const check = await runCommand('promtool', ['check', 'config', checkable], {});
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('SUCCESS');
  });

  it('the container run here as the DaemonSet runs it: UID 0 with no capability reads root-only energy_uj, and /healthz answers the probe', async () => {
    const ds = one<IDaemonSet>('.', 'DaemonSet');
    const c = container(ds);
    // Where each mount of the pod comes from on this machine.
    // A tree playing the node's /sys: class/powercap with the kernel's relative links, and fs/cgroup.
    const tree = createPowercapTree('server2s', { clock: 'real', layout: 'sysfs' });
    const cgroupfs = new CgroupfsTree(join(tree.root, 'fs', 'cgroup'));
    const energyFiles = tree.zones.map((z) => join(tree.powercapPath, z, 'energy_uj'));
    // As the kernel has them since CVE-2020-8694: owner only.
    for (const f of energyFiles) chmodSync(f, 0o400);
    const local = join(work, 'pod');
    const config = join(local, 'config');
    const spoolDir = join(local, 'spool');
    const credentials = join(local, 'credentials');
    for (const d of [config, spoolDir, credentials]) mkdirSync(d, { recursive: true });
    const port = await freePort();
    const toml = parseToml(configText('.')) as { exporter: ExporterTable[] };
    const prometheus = toml.exporter.find((e) => e.type === 'prometheus') as ExporterTable;
    expect(prometheus['port']).toBe(c.ports?.[0]?.containerPort);
    prometheus['port'] = port;
    writeFileSync(join(config, 'scaph.toml'), stringifyToml(toml));
    const localOf = (mountPath: string): string => {
      const volume = volumes(ds).find((v) => mountOf(ds, v).mountPath === mountPath);
      if (volume?.hostPath?.path === '/sys') return tree.root; // no RAPL on this machine
      if (volume?.hostPath) return volume.hostPath.path;
      if (volume?.configMap) return config;
      if (volume?.secret) return credentials;
      if (volume?.emptyDir) return spoolDir;
      throw new Error(`no volume at ${mountPath}`);
    };
    const mapPath = (value: string): string => {
      for (const m of c.volumeMounts ?? []) if (value === m.mountPath || value.startsWith(`${m.mountPath}/`)) return localOf(m.mountPath) + value.slice(m.mountPath.length);
      return value;
    };
    const argv = (c.args ?? []).map(mapPath);
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) env[e.name] = e.value !== undefined ? mapPath(e.value) : 'node-a';

    // runAsUser 0, capabilities drop ALL, allowPrivilegeEscalation false (no_new_privs).
    const agent = spawn('setpriv', ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', '--no-new-privs', '--', process.execPath, SCAPH_BIN, ...argv], {
      // Not in a cluster: no KUBERNETES_SERVICE_HOST, so the agent never reaches for an API server.
      env: { ...withoutKubernetes(process.env), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    agent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => agent.on('exit', (code) => resolve(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      const health = await waitFor(async () => {
        const res = await fetch(`${base}${HEALTH_PATH}`);
        const text = await res.text();
        return res.status === 200 ? text : null;
      }, 20_000, `/healthz 200 (agent stderr: ${stderr})`, 100);
      expect(health).toMatch(/^ok: last sample \d+\.\d s ago\n$/);

      const status = readFileSync(`/proc/${agent.pid}/status`, 'utf8');
      expect(status).toMatch(/^CapEff:\s+0{16}$/m);
      expect(status).toMatch(/^CapBnd:\s+0{16}$/m);
      expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
      expect(status).toMatch(new RegExp(`^Uid:\\s+${process.getuid?.() ?? 0}\\s`, 'm'));
      // The owner reads its 0400 files without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH: RAPL, not the estimate.
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^scaph_host_power_microwatts\{value_source="powercap_rapl_pkg"\} \d+$/m);
      expect(metrics).toMatch(/^scaph_socket_power_microwatts\{socket_id="1"\} \d+$/m);
      expect(stderr).not.toContain('estimate');
    } finally {
      agent.kill('SIGTERM');
      const code = await exited;
      tree.close();
      cgroupfs.cleanup();
      expect(code, stderr).toBe(0);
    }
  });
});

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function withoutKubernetes(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out['KUBERNETES_SERVICE_HOST'];
  delete out['KUBERNETES_SERVICE_PORT'];
  return out;
}

function runCommand(command: string, args: readonly string[], env: Record<string, string>): Promise<Ran> {
  const child = spawn(command, args, { env: { ...withoutKubernetes(process.env), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function runNode(args: readonly string[], env: Record<string, string>): Promise<Ran> {
  return runCommand(process.execPath, args, env);
}
