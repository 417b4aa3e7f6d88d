import type { Locator, Page } from '@playwright/test';

/** The runs list, filtered by state, tag and text (the filters live in the address). */
export class RunsPage {
  readonly heading: Locator;
  readonly stateFilter: Locator;
  readonly tagFilter: Locator;
  readonly textFilter: Locator;
  readonly clearButton: Locator;
  readonly noMatch: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { level: 1, name: 'Runs' });
    this.stateFilter = page.getByRole('combobox', { name: 'State', exact: true });
    this.tagFilter = page.getByLabel('Tag');
    this.textFilter = page.getByLabel('Text');
    this.clearButton = page.getByRole('button', { name: 'Clear' });
    this.noMatch = page.getByText('No run matches these filters.');
  }

  /** The row of the run whose row says `name` (its title, state, owner). */
  row(name: RegExp): Locator {
    return this.page.getByRole('row', { name });
  }

  async filterByTag(tag: string): Promise<void> {
    await this.tagFilter.fill(tag);
    await this.tagFilter.press('Enter');
  }

  async filterByText(text: string): Promise<void> {
    await this.textFilter.fill(text);
    await this.textFilter.press('Enter');
  }
}
