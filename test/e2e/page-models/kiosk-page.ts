import type { Locator, Page } from '@playwright/test';

/** Kiosk mode: its settings (the PIN, locking the box's screen) and the PIN pad to leave it. */
export class KioskPage {
  readonly heading: Locator;
  readonly lockButton: Locator;
  /** Why a screen other than the box's own cannot be locked. */
  readonly onlyBoxScreen: Locator;
  readonly pinField: Locator;
  readonly pinSetNotice: Locator;
  readonly pad: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { level: 1, name: 'Kiosk mode' });
    this.lockButton = page.getByRole('button', { name: 'Lock this screen to the App Store' });
    this.onlyBoxScreen = page.getByText("Only the box's own screen can be locked");
    this.pinField = page.getByLabel('PIN (4 to 12 digits)');
    this.pinSetNotice = page.getByRole('status').filter({ hasText: 'The kiosk PIN is set.' });
    this.pad = page.getByRole('dialog', { name: 'Leave kiosk mode' });
  }

  async setPin(pin: string): Promise<void> {
    await this.pinField.fill(pin);
    await this.page.getByRole('button', { name: 'Set PIN' }).click();
  }

  /** Types `digits` on the pad's buttons, then Unlock. */
  async unlockWithPad(digits: string): Promise<void> {
    for (const digit of digits)
      await this.pad.getByRole('button', { name: digit, exact: true }).click();
    await this.pad.getByRole('button', { name: 'Unlock' }).click();
  }

  /** Types the PIN into the pad's field, then Unlock. */
  async unlockWithPin(pin: string): Promise<void> {
    await this.pad.getByLabel('Administrator PIN').fill(pin);
    await this.pad.getByRole('button', { name: 'Unlock' }).click();
  }
}
