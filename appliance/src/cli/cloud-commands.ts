import type { RouteOutput } from '../api/contract.ts';
import { exactly, usageError } from './arguments.ts';
import type { Commands } from './context.ts';
import { call } from './http.ts';
import { table } from './output.ts';

type Cloud = RouteOutput<'listClouds'>[number];

function health(cloud: Cloud): string {
  return cloud.status.reachable
    ? `reachable${cloud.status.latencyMs === null ? '' : `, ${cloud.status.latencyMs} ms`}`
    : `unreachable${cloud.status.lastError ? `: ${cloud.status.lastError}` : ''}`;
}

/** `clouds`, `clouds add`, `clouds test` and `clouds remove`: the clouds runs deploy to. */
export const cloudCommands: Commands = {
  async clouds({ io, flags, args: rest, target, show }) {
    const [action, ...args] = rest;
    if (action === 'add') {
      const [name, uri] = exactly(
        args,
        2,
        'clouds add needs a name and a libvirt URI (qemu+ssh://root@host/system)',
      );
      const cloud = await call(target, 'addCloud', {
        body: { name: name!, kind: 'libvirt', config: { uri: uri! } },
      });
      show(
        cloud,
        () =>
          `Cloud ${cloud.id} (${cloud.name}) added${cloud.target ? `; it ${cloud.target.summary}` : ''}: ${health(cloud)}.`,
      );
      return;
    }
    if (action === 'test') {
      const [id] = exactly(args, 1, 'clouds test needs a cloud id');
      const cloud = await call(target, 'testCloud', { params: { id: id! } });
      show(cloud, () => `${cloud.name}: ${health(cloud)}.`);
      return;
    }
    if (action === 'remove') {
      const [id] = exactly(args, 1, 'clouds remove needs a cloud id');
      if (!flags.yes)
        throw usageError(
          `Removing cloud ${id} stops offering it for deployments; say --yes to go on.`,
        );
      await call(target, 'removeCloud', { params: { id: id! } });
      io.out(flags.json ? JSON.stringify({ removed: id }) : `Cloud ${id} removed.`);
      return;
    }
    if (action !== undefined) throw usageError(`clouds ${action}: expected add, test or remove.`);
    const clouds = await call(target, 'listClouds');
    show(clouds, () =>
      table(
        ['CLOUD', 'NAME', 'KIND', 'HEALTH'],
        clouds.map((cloud) => [cloud.id, cloud.name, cloud.kind, health(cloud)]),
      ),
    );
  },
};
