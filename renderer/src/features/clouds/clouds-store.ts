import { create } from 'zustand';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { asApiError, call, type ApiError } from '../../api/client.ts';
import { forgetOnSignOut } from '../../api/user-data.ts';

export type Cloud = RouteOutput<'listClouds'>[number];
export type VmList = RouteOutput<'listVms'>;
export type CloudRules = RouteOutput<'cloudRules'>;

/** One line of a cloud's VM list: a Bivouac VM, or one the reconciler reports. */
export interface CloudVm {
  key: string;
  name: string;
  state: string;
  runId: string | null;
  ips: string[];
  /** unknown: a Bivouac VM the store does not know; foreign: not made by Bivouac. */
  origin: 'bivouac' | 'unknown' | 'foreign';
}

interface CloudsState {
  clouds: Cloud[] | null;
  error: ApiError | null;
  vms: VmList | null;
  vmsError: ApiError | null;
  /** What a cloud's URI may name on this box (administrators only). */
  rules: CloudRules | null;
  load(): Promise<void>;
  loadRules(): Promise<void>;
  loadVms(): Promise<void>;
}

/** The clouds with their health, and the VMs on them; reloaded on cloud and VM events. */
export const useClouds = forgetOnSignOut(
  create<CloudsState>((set) => ({
    clouds: null,
    error: null,
    vms: null,
    vmsError: null,
    rules: null,
    async loadRules() {
      try {
        set({ rules: await call('cloudRules') });
      } catch (error) {
        set({ error: asApiError(error) });
      }
    },
    async load() {
      try {
        set({ clouds: await call('listClouds'), error: null });
      } catch (error) {
        set({ error: asApiError(error) });
      }
    },
    async loadVms() {
      try {
        set({ vms: await call('listVms', { query: { include: 'live' } }), vmsError: null });
      } catch (error) {
        set({ vmsError: asApiError(error) });
      }
    },
  })),
);

/** The VMs on one cloud: Bivouac's by instance name, then unknown and foreign ones. */
export function vmsOfCloud(list: VmList | null, cloudId: string): CloudVm[] {
  if (!list) return [];
  const own: CloudVm[] = list.vms
    .filter((vm) => vm.cloudId === cloudId)
    .sort((a, b) => a.instance.localeCompare(b.instance))
    .map((vm) => ({
      key: vm.id,
      name: `${vm.instance} (${vm.nativeId})`,
      state: vm.state,
      runId: vm.runId,
      ips: vm.ips,
      origin: 'bivouac',
    }));
  const strays = (origin: 'unknown' | 'foreign') =>
    list[origin]
      .filter((vm) => vm.cloudId === cloudId)
      .map((vm): CloudVm => ({
        key: `${origin}-${vm.nativeId}`,
        name: vm.name,
        state: vm.state,
        runId: vm.runId,
        ips: [],
        origin,
      }));
  return [...own, ...strays('unknown'), ...strays('foreign')];
}

/** The URI a cloud's config names, when its kind has one. */
export function uriOf(cloud: Cloud): string | null {
  const config = cloud.config as { uri?: unknown } | null;
  return typeof config?.uri === 'string' ? config.uri : null;
}
