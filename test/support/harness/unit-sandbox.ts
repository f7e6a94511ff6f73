/**
 * Runs a command under the restrictions some systemd unit directives install, without systemd: the
 * seccomp filters of MemoryDenyWriteExecute= and RestrictAddressFamilies= (the rules of systemd's
 * src/shared/seccomp-util.c, seccomp_memory_deny_write_execute and seccomp_restrict_address_families:
 * EPERM for mmap() asking for write+execute and for mprotect()/pkey_mprotect() adding execute; EAFNOSUPPORT
 * for socket() of a family not listed), and UMask=. The filter is a classic BPF program built here and
 * loaded by perl (Essential on Debian, nothing to compile) with prctl(PR_SET_SECCOMP) before it execs the
 * command, as systemd does before it execs a unit's ExecStart.
 */

/** The numbers the filter needs, per architecture (Linux's asm/unistd.h, audit.h). */
interface Arch {
  readonly audit: number;
  readonly prctl: number;
  readonly mmap: number;
  readonly mprotect: number;
  readonly pkeyMprotect: number;
  readonly socket: number;
}

const ARCHES: Readonly<Record<string, Arch>> = {
  x64: { audit: 0xc000003e, prctl: 157, mmap: 9, mprotect: 10, pkeyMprotect: 329, socket: 41 },
  arm64: { audit: 0xc00000b7, prctl: 167, mmap: 222, mprotect: 226, pkeyMprotect: 288, socket: 198 },
};

/** Address families by the names RestrictAddressFamilies= takes (linux/socket.h). */
export const ADDRESS_FAMILIES: Readonly<Record<string, number>> = { AF_UNIX: 1, AF_INET: 2, AF_INET6: 10, AF_NETLINK: 16, AF_PACKET: 17 };

export interface Sandbox {
  /** MemoryDenyWriteExecute=yes. */
  readonly memoryDenyWriteExecute?: boolean;
  /** RestrictAddressFamilies= as an allow list of family names; undefined: every family. */
  readonly addressFamilies?: readonly string[];
  /** UMask=, e.g. 0o777. */
  readonly umask?: number;
}

const PROT_WRITE = 2;
const PROT_EXEC = 4;
const EPERM = 1;
const EAFNOSUPPORT = 97;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
// seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8 i (the low 32 bits first on these little-endian arches).
const NR = 0;
const ARCH = 4;
const arg = (i: number): number => 16 + 8 * i;
const LD_W_ABS = 0x20;
const ALU_AND_K = 0x54;
const JEQ_K = 0x15;
const JSET_K = 0x45;
const RET_K = 0x06;

type Step = { readonly label: string } | { readonly code: number; readonly k: number; readonly jt?: string; readonly jf?: string };

/** Resolves label jumps (relative to the next instruction, as BPF counts them) and encodes sock_filter[]. */
function assemble(steps: readonly Step[]): Buffer {
  const at = new Map<string, number>();
  const code: Array<Exclude<Step, { label: string }>> = [];
  for (const s of steps) {
    if ('label' in s) at.set(s.label, code.length);
    else code.push(s);
  }
  const out = Buffer.alloc(code.length * 8);
  code.forEach((s, i) => {
    const offset = (label: string | undefined): number => {
      if (label === undefined) return 0;
      const target = at.get(label);
      if (target === undefined || target <= i || target - i - 1 > 255) throw new Error(`bad BPF jump to ${label}`);
      return target - i - 1;
    };
    out.writeUInt16LE(s.code, i * 8);
    out.writeUInt8(offset(s.jt), i * 8 + 2);
    out.writeUInt8(offset(s.jf), i * 8 + 3);
    out.writeUInt32LE(s.k >>> 0, i * 8 + 4);
  });
  return out;
}

/** The seccomp program for `box` on this machine's architecture. */
export function seccompProgram(box: Sandbox, arch: Arch = currentArch()): Buffer {
  const steps: Step[] = [{ code: LD_W_ABS, k: ARCH }, { code: JEQ_K, k: arch.audit, jf: 'allow' }, { code: LD_W_ABS, k: NR }];
  if (box.memoryDenyWriteExecute) {
    steps.push(
      { code: JEQ_K, k: arch.mmap, jf: 'mprotect' },
      { code: LD_W_ABS, k: arg(2) },
      { code: ALU_AND_K, k: PROT_WRITE | PROT_EXEC },
      { code: JEQ_K, k: PROT_WRITE | PROT_EXEC, jt: 'eperm', jf: 'allow' },
      { label: 'mprotect' },
      { code: JEQ_K, k: arch.mprotect, jt: 'exec' },
      { code: JEQ_K, k: arch.pkeyMprotect, jt: 'exec', jf: 'socket' },
      { label: 'exec' },
      { code: LD_W_ABS, k: arg(2) },
      { code: JSET_K, k: PROT_EXEC, jt: 'eperm', jf: 'allow' },
    );
  }
  steps.push({ label: 'socket' });
  if (box.addressFamilies) {
    steps.push({ code: JEQ_K, k: arch.socket, jf: 'allow' }, { code: LD_W_ABS, k: arg(0) });
    for (const name of box.addressFamilies) {
      const family = ADDRESS_FAMILIES[name];
      if (family === undefined) throw new Error(`unknown address family ${name}`);
      steps.push({ code: JEQ_K, k: family, jt: 'allow' });
    }
    steps.push({ code: RET_K, k: RET_ERRNO | EAFNOSUPPORT });
  }
  steps.push({ label: 'allow' }, { code: RET_K, k: RET_ALLOW }, { label: 'eperm' }, { code: RET_K, k: RET_ERRNO | EPERM });
  return assemble(steps);
}

function currentArch(): Arch {
  const arch = ARCHES[process.arch];
  if (!arch) throw new Error(`no seccomp numbers for ${process.arch}: add them to ARCHES`);
  return arch;
}

/** Sets the umask, PR_SET_NO_NEW_PRIVS (needed to load a filter unprivileged) and the filter, then execs. */
const LOADER = `
use strict; use warnings;
my ($prctl, $umask, $hex, @cmd) = @ARGV;
umask(oct($umask));
if ($hex ne '') {
  my $filter = pack('H*', $hex);
  my $prog = pack('S x6 P', length($filter) / 8, $filter);
  syscall($prctl + 0, 38, 1, 0, 0, 0) == 0 or die "PR_SET_NO_NEW_PRIVS: $!\\n";
  syscall($prctl + 0, 22, 2, $prog, 0, 0) == 0 or die "PR_SET_SECCOMP: $!\\n";
}
exec { $cmd[0] } @cmd or die "exec $cmd[0]: $!\\n";
`;

/** The argv that runs `argv` under `box`: spawn argv[0] with the rest. */
export function sandboxed(box: Sandbox, argv: readonly string[]): string[] {
  const filtered = box.memoryDenyWriteExecute === true || box.addressFamilies !== undefined;
  const hex = filtered ? seccompProgram(box).toString('hex') : '';
  return ['perl', '-e', LOADER, String(currentArch().prctl), (box.umask ?? 0o022).toString(8), hex, ...argv];
}
