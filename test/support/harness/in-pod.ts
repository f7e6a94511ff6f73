/**
 * Runs the built CLI as its DaemonSet pod runs it, as far as the Kubernetes metadata source can tell: the
 * service-account token and CA where the kubelet mounts them (/var/run/secrets/kubernetes.io/serviceaccount),
 * KUBERNETES_SERVICE_HOST/PORT pointing at a test API server, and NODE_NAME. The mount is a tmpfs over
 * /run in a private mount namespace (`unshare --mount`, root as in CI), so the host's /run is untouched
 * and nothing needs cleaning up.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScaphRunOptions } from '../fixtures/run-scaph.js';
import type { FakeKubeApi } from '../servers/kube-api.js';
import type { TestPki } from '../servers/test-ca.js';

/** Mounts the service account the kubelet's way, then execs scaph (so signals reach it). */
const MOUNT_SERVICE_ACCOUNT = [
  'set -e',
  'run=$(readlink -f /var/run)',
  'mount -t tmpfs -o mode=0755,size=1m scaph-test-run "$run"',
  'mkdir -p "$run/secrets/kubernetes.io/serviceaccount"',
  'cp "$SCAPH_TEST_SERVICE_ACCOUNT/token" "$SCAPH_TEST_SERVICE_ACCOUNT/ca.crt" "$run/secrets/kubernetes.io/serviceaccount/"',
  'exec "$@"',
].join('\n');

export interface PodSetup {
  /** Where the token and CA are written before the run (a temp dir of the test). */
  readonly dir: string;
  readonly api: FakeKubeApi;
  readonly pki: TestPki;
  readonly token: string;
  readonly nodeName: string;
}

/** The run options (wrap and env) that put `scaph` in a pod talking to `api`. */
export function inPod(setup: PodSetup): Required<Pick<ScaphRunOptions, 'wrap' | 'env'>> {
  const account = join(setup.dir, 'serviceaccount');
  mkdirSync(account, { recursive: true });
  writeFileSync(join(account, 'token'), `${setup.token}\n`);
  copyFileSync(setup.pki.caPath, join(account, 'ca.crt'));
  const { port } = new URL(setup.api.url);
  return {
    wrap: ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', MOUNT_SERVICE_ACCOUNT, 'sh'],
    env: {
      SCAPH_TEST_SERVICE_ACCOUNT: account,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: port,
      NODE_NAME: setup.nodeName,
    },
  };
}
