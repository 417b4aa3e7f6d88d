import type { Locator, Page } from '@playwright/test';

/** An app's deploy form: its fields and pre-flight (what the deploy needs, whether it is there). */
export class DeployPage {
  readonly preflight: Locator;
  /** The pre-flight's word that nothing is missing. */
  readonly readyNotice: Locator;
  readonly runTitle: Locator;
  readonly deployButton: Locator;
  /** The deploy button while the box answers. */
  readonly deployingButton: Locator;

  constructor(readonly page: Page) {
    this.preflight = page.locator('.preflight');
    this.readyNotice = page
      .getByRole('status')
      .filter({ hasText: 'Everything this deploy needs is there.' });
    this.runTitle = page.getByLabel('Run title (optional)');
    this.deployButton = page.getByRole('button', { name: 'Deploy' });
    this.deployingButton = page.getByRole('button', { name: 'Deploying…' });
  }

  /** A field of the app's own form, by its label. */
  field(label: string | RegExp): Locator {
    return this.page.getByLabel(label);
  }

  async deploy(): Promise<void> {
    await this.deployButton.click();
  }
}
