import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileWithin } from '../../core/bounded-fs.js';
import { PowercapMissingError } from './errors.js';

/**
 * Finds the RAPL zones of a powercap tree as the kernel lays them out. Zones show up twice in
 * /sys/class/powercap: as top-level symlinks (`intel-rapl:0`, `intel-rapl:0:0`, …) and nested inside
 * their parent's real directory under /sys/devices/virtual/powercap/intel-rapl; we accept either (or a
 * flat tree of real directories, as `scaph qemu` writes for a guest) and dedupe by realpath.
 * `intel-rapl-mmio:*` zones are a second interface to the same package counters and never match here.
 */

export type ZoneRole = 'package' | 'domain' | 'psys';

export interface PowercapZone {
  /** Directory as found (may be a symlink). */
  readonly dir: string;
  /** `intel-rapl:S` or `intel-rapl:S:D`. */
  readonly zoneName: string;
  /** Content of the zone's `name` file (`package-0`, `core`, `dram`, `psys`, …). */
  readonly name: string;
  readonly role: ZoneRole;
  /**
   * S from the directory name. We use S rather than N from `package-N`: S is unique per zone, whereas
   * multi-die parts name zones `package-N-die-M` with the same N for several zones.
   */
  readonly socketId: number;
  /** D for `intel-rapl:S:D`; a top-level dram zone gets the next free index of its socket; -1 otherwise. */
  readonly domainId: number;
  /** max_energy_range_uj, or null when the file is absent (trees written by `scaph qemu`). */
  readonly maxRangeUj: number | null;
}

const TOP_ZONE = /^intel-rapl:(\d+)$/;
const SUB_ZONE = /^intel-rapl:(\d+):(\d+)$/;
const DIGITS = /^\d+$/;

interface Candidate {
  readonly dir: string;
  readonly zoneName: string;
  readonly socketId: number;
  readonly subId: number | null;
}

async function listDir(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir);
  } catch {
    return null;
  }
}

function toCandidate(parent: string, entry: string): Candidate | null {
  const top = TOP_ZONE.exec(entry);
  if (top) return { dir: join(parent, entry), zoneName: entry, socketId: Number(top[1]), subId: null };
  const sub = SUB_ZONE.exec(entry);
  if (sub) return { dir: join(parent, entry), zoneName: entry, socketId: Number(sub[1]), subId: Number(sub[2]) };
  return null;
}

/**
 * Zone directories at the root, then inside the `intel-rapl` control-type directory, then nested in
 * top zones. Root entries come first so that, after the realpath dedupe, a sub-zone keeps the short
 * /sys/class/powercap/intel-rapl:S:D path users know (and chmod).
 */
async function findCandidates(root: string, rootEntries: readonly string[]): Promise<Candidate[]> {
  const found: Candidate[] = [];
  for (const entry of rootEntries) pushCandidate(found, root, entry);
  if (rootEntries.includes('intel-rapl')) {
    const inner = await listDir(join(root, 'intel-rapl'));
    for (const entry of inner ?? []) pushCandidate(found, join(root, 'intel-rapl'), entry);
  }
  const tops = found.filter((c) => c.subId === null);
  for (const top of tops) {
    for (const entry of (await listDir(top.dir)) ?? []) if (SUB_ZONE.test(entry)) pushCandidate(found, top.dir, entry);
  }
  return found;
}

function pushCandidate(found: Candidate[], parent: string, entry: string): void {
  const c = toCandidate(parent, entry);
  if (c) found.push(c);
}

/** A zone's small text file, or null when it is missing or unusable (a FIFO, stuck): never waits long. */
async function readTrimmed(file: string): Promise<string | null> {
  try {
    return (await readFileWithin(file, { timeoutMs: 1000 })).toString('latin1').trim();
  } catch {
    return null;
  }
}

async function readMaxRange(dir: string): Promise<number | null> {
  const text = await readTrimmed(join(dir, 'max_energy_range_uj'));
  if (text === null || !DIGITS.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}

function roleOf(c: Candidate, name: string): ZoneRole {
  if (c.subId !== null) return 'domain';
  if (name === 'psys') return 'psys';
  if (name === 'dram') return 'domain';
  return 'package';
}

async function describe(c: Candidate): Promise<Omit<PowercapZone, 'domainId'> & { subId: number | null }> {
  // A top-level zone without a name file (hand-made trees) is taken as its socket's package.
  const name = (await readTrimmed(join(c.dir, 'name'))) ?? (c.subId === null ? `package-${c.socketId}` : c.zoneName);
  return {
    dir: c.dir,
    zoneName: c.zoneName,
    name,
    role: roleOf(c, name),
    socketId: c.socketId,
    subId: c.subId,
    maxRangeUj: await readMaxRange(c.dir),
  };
}

/** Top-level dram zones have no D: give them the index after their socket's last sub-domain. */
function assignDomainIds(zones: ReadonlyArray<Awaited<ReturnType<typeof describe>>>): PowercapZone[] {
  const nextFree = new Map<number, number>();
  for (const z of zones) {
    if (z.subId !== null) nextFree.set(z.socketId, Math.max(nextFree.get(z.socketId) ?? 0, z.subId + 1));
  }
  return zones.map(({ subId, ...z }) => {
    if (subId !== null) return { ...z, domainId: subId };
    if (z.role !== 'domain') return { ...z, domainId: -1 };
    const id = nextFree.get(z.socketId) ?? 0;
    nextFree.set(z.socketId, id + 1);
    return { ...z, domainId: id };
  });
}

function byPosition(a: PowercapZone, b: PowercapZone): number {
  return a.socketId - b.socketId || a.domainId - b.domainId;
}

/** Discovers the zones under `root`; throws PowercapMissingError when there is none. */
export async function discoverZones(root: string): Promise<PowercapZone[]> {
  const rootEntries = await listDir(root);
  if (rootEntries === null) throw new PowercapMissingError(root, 'the directory does not exist or cannot be listed');
  const seen = new Set<string>();
  const unique: Candidate[] = [];
  for (const c of await findCandidates(root, rootEntries)) {
    const real = await realpath(c.dir).catch(() => null);
    if (real === null || seen.has(real)) continue;
    seen.add(real);
    unique.push(c);
  }
  if (unique.length === 0) throw new PowercapMissingError(root, 'no intel-rapl:* zone');
  const described = await Promise.all(unique.map(describe));
  described.sort((a, b) => a.socketId - b.socketId || (a.subId ?? -1) - (b.subId ?? -1));
  return assignDomainIds(described).sort(byPosition);
}
