import type { Locator, Page } from '@playwright/test';

/**
 * The Box page: the host's facts, its disks and network, recent log lines, base images (import
 * and upload), app bundles and their publishers, and power.
 */
export class BoxPage {
  readonly heading: Locator;
  readonly fingerprint: Locator;
  readonly disks: Locator;
  readonly network: Locator;
  readonly logs: Locator;
  readonly logLevel: Locator;
  readonly images: Locator;
  readonly importForm: Locator;
  readonly uploadForm: Locator;
  readonly bundleForm: Locator;
  readonly trustForm: Locator;
  readonly deleteImageDialog: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { level: 1, name: 'Box' });
    this.fingerprint = page.getByRole('main').locator('.fingerprint code');
    this.disks = page.getByRole('table', { name: 'Disks' });
    this.network = page.getByRole('table', { name: 'Network' });
    this.logs = page.getByRole('table', { name: 'Recent log lines' });
    this.logLevel = page.getByLabel('Level');
    this.images = page.getByRole('table', { name: 'Base images' });
    this.importForm = page.getByRole('form', { name: "Import from the box's files" });
    this.uploadForm = page.getByRole('form', { name: 'Upload a qcow2 disk' });
    this.bundleForm = page.getByRole('form', { name: 'Upload a bundle' });
    this.trustForm = page.getByRole('form', { name: 'Trust a publisher' });
    this.deleteImageDialog = page.getByRole('dialog', { name: 'Delete image?' });
  }

  /** One of the host's facts (`version`, `hostname`, `os`, `cpu`, `listen`, `data-disk`…). */
  fact(name: string): Locator {
    return this.page.locator(`[data-fact="${name}"]`);
  }

  /** The row of an image in the list of base images. */
  image(name: string): Locator {
    return this.images.getByRole('row').filter({ hasText: name });
  }

  /** A trusted publisher in the bundles' list. */
  publisher(name: string): Locator {
    return this.page.getByRole('listitem').filter({ hasText: name });
  }

  /** An alert of the page that says `text`. */
  alert(text: string): Locator {
    return this.page.getByRole('alert').filter({ hasText: text });
  }

  /** Asks to delete an image and confirms. */
  async deleteImage(name: string): Promise<void> {
    await this.images.getByRole('button', { name: `Delete ${name}` }).click();
    await this.deleteImageDialog.getByRole('button', { name: 'Delete image' }).click();
  }
}
