import type { Locator, Page } from '@playwright/test';

/** The Clouds page: a card per cloud (health, VMs), and adding a remote libvirt host. */
export class CloudsPage {
  readonly heading: Locator;
  readonly addForm: Locator;
  readonly removeDialog: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { level: 1, name: 'Clouds' });
    this.addForm = page.getByRole('form', { name: 'Add a remote libvirt host' });
    this.removeDialog = page.getByRole('dialog', { name: 'Remove cloud?' });
  }

  card(name: string): Locator {
    return this.page.getByRole('article', { name, exact: true });
  }

  /** Types a URI into the add form and leaves the field, which checks it. */
  async enterUri(uri: string): Promise<void> {
    await this.addForm.getByLabel('URI').fill(uri);
    await this.addForm.getByLabel('URI').blur();
  }
}
