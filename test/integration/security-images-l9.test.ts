import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeliveredEvent } from '../../appliance/src/domain/events.ts';
import { bundleWithDisk, evilImage } from '../fixtures/evil-images.ts';
import { useImageSafetyBox } from '../fixtures/image-safety-box.ts';

/**
 * Image names and import events keep to what is allowed (L9): names are checked at the edge, and
 * administrators' import paths and failures reach no one else. Images made as an attacker would
 * (test/fixtures/evil-images.ts), on the box of test/fixtures/image-safety-box.ts.
 */
describe('the image store takes data only (L9)', () => {
  let usb: string;
  let heard: DeliveredEvent[];
  const { upload, importImage, importApp, operatorHears, failureOf, nothingStored } =
    useImageSafetyBox((parts) => ({ usb, heard } = parts));

  it('L9: image names with spaces or ".." are refused at the edge, saying what is allowed', async () => {
    const safe = evilImage(usb, 'safe');
    for (const name of ['a b', '..', 'x..y', '../etc', '.hidden', 'tab\tname']) {
      const uploaded = await upload(await readFile(safe), name);
      expect(uploaded.statusCode, name).toBe(400);
      expect(uploaded.json(), name).toMatchObject({
        error: {
          code: 'VALIDATION_FAILED',
          details: {
            fields: [
              {
                field: 'query.name',
                message: expect.stringMatching(/letters, digits.*without "\.\."/),
              },
            ],
          },
        },
      });
      const imported = await importImage({ kind: 'disk', name, path: safe });
      expect(imported.json(), name).toMatchObject({
        error: {
          code: 'VALIDATION_FAILED',
          details: { fields: [expect.objectContaining({ field: 'body.name' })] },
        },
      });
    }
    // A bundle's image names follow the same rule.
    const spaced = await importApp(await bundleWithDisk(usb, safe, 'debian 12'));
    expect(spaced.json()).toMatchObject({
      error: {
        code: 'BAD_BUNDLE',
        details: { fields: [expect.objectContaining({ field: 'manifest.images.0.name' })] },
      },
    });
    await nothingStored();
    expect((await upload(await readFile(safe), 'debian-12.1_generic')).statusCode).toBe(201);
  });

  it("L9: administrators' import paths and failures never reach other users' event streams", async () => {
    await writeFile(join(usb, 'broken.bvc'), 'not a bundle');
    await importApp(join(usb, 'broken.bvc'));
    const started = await importImage({
      kind: 'disk',
      name: 'wrong',
      path: evilImage(usb, 'safe'),
      sha256: '0'.repeat(64),
    });
    await failureOf(started.json<{ id: string }>().id);
    const adminHeard = heard
      .filter((event) => JSON.stringify(event.data).includes(usb))
      .map((event) => event.type);
    expect(adminHeard).toEqual(
      expect.arrayContaining(['app.importing', 'app.import.failed', 'image.failed']),
    );
    expect(operatorHears().filter((event) => JSON.stringify(event).includes(usb))).toEqual([]);
    expect(
      operatorHears().filter(
        (event) => event.type.startsWith('image.') || event.type.startsWith('app.import'),
      ),
    ).toEqual([]);
  });
});
