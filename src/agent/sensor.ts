import type { Logger } from '../core/log.js';
import type { Sensor } from '../core/sensor.js';
import { ContainerResolver } from '../sensors/containers/resolver.js';
import { createSensor } from '../sensors/factory.js';
import { VM_POWERCAP_PATH, type SensorSettings } from '../sensors/settings.js';

/** Where container names and pods come from (global flags: --docker-socket, --no-docker, --kubernetes-*). */
export interface ContainerSources {
  /** Docker Engine API socket; null = do not ask Docker (--no-docker). */
  readonly dockerSocket: string | null;
  /** This node's name; undefined = $NODE_NAME, else the host name. */
  readonly kubernetesNode: string | undefined;
  readonly kubernetesPodLabels: readonly string[];
}

/** What the agent asks the sensor factory for: the settings, and what its exporters need. */
export interface SensorRequest extends SensorSettings {
  readonly hostname: string;
  /** Some exporter labels qemu processes with their VM name. */
  readonly qemu: boolean;
  /** Some exporter labels containers: the factory must resolve them. */
  readonly withContainers: boolean;
}

/**
 * The sensor settings a run uses: the file's [sensor] where it speaks, else the command line's. A VM
 * guest's `auto` is the tree its hypervisor writes (powercap), and `vm = true` in a file moves the default
 * tree to the guest's one.
 */
export function resolveSensorSettings(cli: SensorSettings, file: Partial<SensorSettings>): SensorSettings {
  const vm = file.vm ?? cli.vm;
  const kind = file.kind ?? cli.kind;
  return {
    kind: vm && kind === 'auto' ? 'powercap_rapl' : kind,
    vm,
    powercapPath: file.powercapPath ?? (vm && !cli.vm ? VM_POWERCAP_PATH : cli.powercapPath),
    procfsPath: file.procfsPath ?? cli.procfsPath,
    cgroupfsPath: file.cgroupfsPath ?? cli.cgroupfsPath,
    attribution: file.attribution ?? cli.attribution,
    reapedChildren: file.reapedChildren ?? cli.reapedChildren,
    estimateIdleWattsPerCpu: file.estimateIdleWattsPerCpu ?? cli.estimateIdleWattsPerCpu,
    estimateMaxWattsPerCpu: file.estimateMaxWattsPerCpu ?? cli.estimateMaxWattsPerCpu,
    hwmonPath: file.hwmonPath ?? cli.hwmonPath,
    hwmonChannels: file.hwmonChannels ?? cli.hwmonChannels,
    redfishUrl: file.redfishUrl ?? cli.redfishUrl,
    redfishUser: file.redfishUser ?? cli.redfishUser,
    redfishPasswordFile: file.redfishPasswordFile ?? cli.redfishPasswordFile,
    redfishCa: file.redfishCa ?? cli.redfishCa,
    redfishInsecure: file.redfishInsecure ?? cli.redfishInsecure,
    redfishChassis: file.redfishChassis ?? cli.redfishChassis,
    redfishIntervalMs: file.redfishIntervalMs ?? cli.redfishIntervalMs,
  };
}

/** Builds the sensor; stop() ends what it started for it (the container lookup). */
export interface SensorFactory {
  create(request: SensorRequest, logger: Logger): Promise<Sensor>;
  stop(): Promise<void>;
}

/**
 * The machine sensor, with the container lookup when an exporter asked for containers (a missing socket
 * or API is one warning inside it, never a failure). The lookup reads the procfs the sensor reads (the
 * request's: [sensor] procfs_path when the file gives one, else --procfs-path), so a process and its
 * cgroup come from the same tree.
 */
export function machineSensorFactory(sources: ContainerSources): SensorFactory {
  let resolver: ContainerResolver | null = null;
  return {
    async create(request, logger) {
      if (request.withContainers) {
        resolver = new ContainerResolver(
          {
            procfsRoot: request.procfsPath,
            docker: sources.dockerSocket === null ? false : { socketPath: sources.dockerSocket },
            kubernetes: {
              ...(sources.kubernetesNode ? { nodeName: sources.kubernetesNode } : {}),
              podLabels: sources.kubernetesPodLabels,
            },
          },
          logger,
        );
        // Metadata loads run beside sampling: the first sample never waits for an API (labels follow).
        resolver.start();
      }
      return createSensor({ ...request, containers: resolver }, logger);
    },
    async stop() {
      await resolver?.stop();
    },
  };
}
