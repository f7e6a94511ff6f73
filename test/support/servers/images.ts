/**
 * The container images the real-server suites run, each pinned to a version (test/e2e/deploy/image-tags.test.ts
 * checks every image reference in the repo carries one). The Debian-binary recipes (prometheus.ts,
 * victoria-metrics.ts, pushgateway.ts) keep their fallback image next to their flags.
 */

/**
 * senx/warp10-docker publishes only suffixed tags since 3.x (`<version>-ubuntu`, `-alpine`, `-ubuntu-ci`);
 * `latest` is a 2.11.1 image without warp10.sh. The `-ubuntu` image is multi-arch (amd64, arm64).
 * SCAPH_WARP10_IMAGE overrides it (a `-ci` image is recognised: its tokens are fixed).
 */
export const WARP10_IMAGE = process.env['SCAPH_WARP10_IMAGE'] ?? 'warp10io/warp10:3.5.0-ubuntu';

/** The `-ci` variant (predictible-tokens-for-ci in senx/warp10-docker): fixed tokens, used by the compose demo. */
export const WARP10_CI_IMAGE = 'warp10io/warp10:3.5.0-ubuntu-ci';

/**
 * riemann/riemann's Dockerfile: `CMD ["/bin/riemann", "/etc/riemann.config"]`. Published for amd64 only,
 * so it runs emulated on arm64 hosts (Apple silicon): the platform is asked for explicitly and its
 * start gets a long timeout.
 */
export const RIEMANN_IMAGE = 'riemannio/riemann:0.3.12';
export const RIEMANN_PLATFORM = 'linux/amd64';
export const RIEMANN_CONFIG_PATH = '/etc/riemann.config';
