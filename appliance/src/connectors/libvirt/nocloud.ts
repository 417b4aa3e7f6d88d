import { execFile } from 'node:child_process';
import { chmod, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { BivouacError } from '../../errors.ts';
import { guestAgentPath } from '../../paths.ts';

const run = promisify(execFile);

/** The systemd unit that runs the agent in a cloud image; a failed recipe (exit 3) is not retried. */
const unit = `[Unit]
Description=Bivouac guest agent
Wants=network-online.target
After=network-online.target cloud-final.service

[Service]
Environment=BIVOUAC_CONTEXT_FILE=/etc/bivouac/context
Environment=BIVOUAC_HOME=/var/lib/bivouac
ExecStart=/usr/local/bin/bivouac-agent run
Restart=on-failure
RestartSec=5
RestartPreventExitStatus=3

[Install]
WantedBy=multi-user.target
`;

/**
 * cloud-init user-data that installs and starts the guest agent with the VM's context, so any
 * Debian or Ubuntu cloud image in the image store works as a base image.
 */
export async function nocloudUserData(context: Record<string, string>): Promise<string> {
  const agent = await readFile(guestAgentPath);
  const config = {
    write_files: [
      {
        path: '/etc/bivouac/context',
        permissions: '0600',
        content:
          Object.entries(context)
            .map(([key, value]) => `${key}=${value}`)
            .join('\n') + '\n',
      },
      {
        path: '/usr/local/bin/bivouac-agent',
        permissions: '0755',
        encoding: 'b64',
        content: agent.toString('base64'),
      },
      { path: '/etc/systemd/system/bivouac-agent.service', permissions: '0644', content: unit },
    ],
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', 'bivouac-agent.service'],
    ],
  };
  return `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
}

/** Writes `seed.iso` (volume CIDATA: meta-data and user-data) into `folder` and returns its path. */
export async function buildSeed(
  folder: string,
  instanceId: string,
  hostname: string,
  context: Record<string, string>,
): Promise<string> {
  const staging = join(folder, 'seed');
  await mkdir(staging, { recursive: true, mode: 0o700 });
  await writeFile(
    join(staging, 'meta-data'),
    `instance-id: ${instanceId}\nlocal-hostname: ${hostname}\n`,
    { mode: 0o600 },
  );
  await writeFile(join(staging, 'user-data'), await nocloudUserData(context), { mode: 0o600 });
  const iso = join(folder, 'seed.iso');
  try {
    await run(
      'xorriso',
      [
        '-as',
        'mkisofs',
        '-quiet',
        '-output',
        iso,
        '-volid',
        'CIDATA',
        '-joliet',
        '-rock',
        join(staging, 'user-data'),
        join(staging, 'meta-data'),
      ],
      { timeout: 30_000 },
    );
    await chmod(iso, 0o600); // it holds the agent token; xorriso follows the umask
  } catch (error) {
    throw new BivouacError(
      'CLOUD_REFUSED',
      `Cannot make the NoCloud seed: ${(error as { stderr?: string }).stderr || (error as Error).message}`,
      { reason: 'xorriso failed' },
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return iso;
}
