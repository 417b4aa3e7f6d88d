import type { Locator, Page } from '@playwright/test';

/** The Users page: people on the box and their quotas (administrators), and one's API tokens. */
export class UsersPage {
  readonly peopleHeading: Locator;
  readonly tokensHeading: Locator;
  readonly newUserForm: Locator;
  readonly deleteDialog: Locator;
  readonly tokenForm: Locator;
  /** A token just made, shown once. */
  readonly newToken: Locator;

  constructor(readonly page: Page) {
    this.peopleHeading = page.getByRole('heading', { name: 'People on this box' });
    this.tokensHeading = page.getByRole('heading', { name: 'Your API tokens' });
    this.newUserForm = page.getByRole('form', { name: 'New user' });
    this.deleteDialog = page.getByRole('dialog', { name: 'Delete user?' });
    this.tokenForm = page.getByRole('form', { name: 'New API token' });
    this.newToken = page.getByTestId('new-token');
  }

  /** The cell naming `username` in the people table. */
  user(username: string): Locator {
    return this.page.getByRole('cell', { name: username, exact: true });
  }

  row(name: RegExp): Locator {
    return this.page.getByRole('row', { name });
  }

  quotaForm(username: string): Locator {
    return this.page.getByRole('form', { name: `Quota of ${username}` });
  }

  async addUser(username: string, password: string, role: string): Promise<void> {
    await this.newUserForm.getByLabel('Name').fill(username);
    await this.newUserForm.getByLabel('Password').fill(password);
    await this.newUserForm.getByLabel('Role').selectOption(role);
    await this.newUserForm.getByRole('button', { name: 'Add user' }).click();
  }

  async createToken(name: string): Promise<void> {
    await this.tokenForm.getByLabel('Token name').fill(name);
    await this.tokenForm.getByRole('button', { name: 'Create token' }).click();
  }
}
