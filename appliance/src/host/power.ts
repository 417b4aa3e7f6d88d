import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { BivouacError } from '../errors.ts';

const run = promisify(execFile);

export type PowerAction = 'poweroff' | 'reboot';

/** Turns the box off or restarts it. */
export interface PowerControl {
  perform(action: PowerAction): Promise<void>;
}

export interface HostPowerOptions {
  /** Where the name of process 1 is read, to tell systemd from another init; `/proc/1/comm`. */
  initCommFile?: string;
}

/**
 * The host's own power commands, found on PATH: `systemctl poweroff|reboot` under systemd (which
 * stops the appliance, and with it its guests, in order), else the init system's
 * `poweroff`/`reboot`. A refusal (no rights, no init to ask) is a typed error carrying the
 * command's own words.
 */
export function hostPowerControl(options: HostPowerOptions = {}): PowerControl {
  const initCommFile = options.initCommFile ?? '/proc/1/comm';
  return {
    async perform(action) {
      const systemd = (await readFile(initCommFile, 'utf8').catch(() => '')).trim() === 'systemd';
      const [command, ...args] = systemd ? ['systemctl', action] : [action];
      try {
        await run(command!, args, { timeout: 30_000 });
      } catch (error) {
        const reason = ((error as { stderr?: string }).stderr || (error as Error).message).trim();
        throw new BivouacError(
          'POWER_FAILED',
          `The box could not ${action === 'poweroff' ? 'power off' : 'reboot'}: ${reason}`,
          { action, reason },
        );
      }
    },
  };
}
