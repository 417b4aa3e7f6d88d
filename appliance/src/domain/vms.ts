/** The states a VM can be seen in on its cloud. */
export type VmState =
  | 'running'
  | 'starting'
  | 'paused'
  | 'shutting-down'
  | 'stopped'
  | 'crashed'
  | 'suspended'
  | 'unknown';

/**
 * Bivouac's record of one VM it launched. `launching` is written before the cloud is asked, so
 * a crash mid-launch leaves a trace the reconciler resolves; `gone` is final.
 */
export interface VmRecord {
  id: string;
  cloudId: string;
  /** The cloud's own id (a domain name for libvirt). */
  nativeId: string;
  runId: string;
  /** `node.i`, e.g. `web.1`. */
  instance: string;
  owner: string;
  /** The footprint this VM draws on. */
  reservationId: string | null;
  /** The base image it boots from, when it came from the image store. */
  imageId: string | null;
  state: VmState | 'launching' | 'gone';
  ips: string[];
  vcpu: number;
  memoryMiB: number;
  diskGiB: number;
  createdAt: string;
  updatedAt: string;
  /** Why it is gone: terminated, vanished (deleted behind Bivouac's back), launch failed… */
  goneReason: string | null;
}

export function isLive(vm: VmRecord): boolean {
  return vm.state !== 'gone';
}

/** A VM that holds resources: launched and not gone. */
export function holdsResources(vm: VmRecord): boolean {
  return vm.state !== 'gone' && vm.state !== 'launching';
}

/**
 * A VM of a Ready run changed state on its cloud (paused, stopped, crashed, gone, running
 * again): what health and alerts follow once a deployment is up.
 */
export interface VmAfterReady {
  runId: string;
  /** `node.i`, e.g. `web.1`. */
  instance: string;
  from: VmRecord['state'];
  vm: VmRecord;
}
