/**
 * How the packages are compressed: xz at preset 1, for .deb and .rpm alike. The executable (106 MB) makes
 * 32 MB; preset 6 (dpkg's default) makes 27 MB but took 6x as long on the 2-core build machine (5 min
 * against 53 s a package, under load), which CI pays on every run. zstd was as fast, but lintian
 * (Debian 12) refuses a .deb whose members are not gzip or xz; every dpkg and rpm reads xz.
 */
export const COMPRESSION = { deb: 'xz', level: 1, rpm: 'w1.xzdio' } as const;
