import type { Locator, Page } from '@playwright/test';

/** The first run of a box without an administrator: the form that makes one. */
export class FirstRunPage {
  readonly welcome: Locator;
  readonly fingerprint: Locator;
  readonly administratorName: Locator;
  readonly password: Locator;
  /** The code the appliance logs, asked anywhere but on the box's own screen. */
  readonly setupCode: Locator;
  readonly createButton: Locator;

  constructor(readonly page: Page) {
    this.welcome = page.getByRole('heading', { name: 'Welcome to Bivouac' });
    this.fingerprint = page.getByText('HTTPS certificate SHA-256 fingerprint');
    this.administratorName = page.getByLabel('Administrator name');
    this.password = page.getByLabel('Password (at least 10 characters)');
    this.setupCode = page.getByLabel(/^Setup code/);
    this.createButton = page.getByRole('button', { name: 'Create administrator' });
  }

  /** Makes the administrator `username` with the setup code the appliance logged. */
  async createAdministrator(username: string, password: string, setupCode: string): Promise<void> {
    await this.administratorName.fill(username);
    await this.password.fill(password);
    await this.setupCode.fill(setupCode);
    await this.createButton.click();
  }
}
