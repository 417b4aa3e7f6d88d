import type { Locator, Page } from '@playwright/test';

/** The sign-in form of a box that has its administrator. */
export class SignInPage {
  readonly form: Locator;
  readonly heading: Locator;
  readonly name: Locator;
  readonly password: Locator;
  /** Signs in as the box's own screen (offered on the local listener only). */
  readonly boxScreenCheckbox: Locator;
  readonly signInButton: Locator;

  constructor(readonly page: Page) {
    this.form = page.getByRole('form', { name: 'Sign in to Bivouac' });
    this.heading = page.getByRole('heading', { name: 'Sign in to Bivouac' });
    this.name = this.form.getByLabel('Name');
    this.password = this.form.getByLabel('Password');
    this.boxScreenCheckbox = this.form.getByLabel("This is the box's own screen");
    this.signInButton = this.form.getByRole('button', { name: 'Sign in' });
  }

  /**
   * Fills in the form and sends it, as the box's own screen if told; the test waits for what it
   * expects to follow.
   */
  async signIn(username: string, password: string, { asBoxScreen = false } = {}): Promise<void> {
    await this.name.fill(username);
    await this.password.fill(password);
    if (asBoxScreen) await this.boxScreenCheckbox.check();
    await this.signInButton.click();
  }
}
