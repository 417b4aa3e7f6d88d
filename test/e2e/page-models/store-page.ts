import type { Locator, Page } from '@playwright/test';
import { DeployPage } from './deploy-page.ts';

/** The App Store: the apps of the box's catalog, searched and filtered by category. */
export class StorePage {
  readonly heading: Locator;
  readonly appList: Locator;
  /** Every app card shown (each a link to its app's page). */
  readonly apps: Locator;
  readonly search: Locator;
  readonly categories: Locator;
  readonly allButton: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { level: 1, name: 'App Store' });
    this.appList = page.getByRole('list', { name: 'Apps' });
    this.apps = this.appList.getByRole('link');
    this.search = page.getByLabel('Search apps');
    this.categories = page.getByRole('group', { name: 'Categories' });
    this.allButton = page.getByRole('button', { name: 'All' });
  }

  /** The card of the app whose text says `title`. */
  app(title: string): Locator {
    return this.apps.filter({ hasText: title });
  }

  async showCategory(name: string): Promise<void> {
    await this.categories.getByRole('button', { name }).click();
  }

  async openApp(title: string): Promise<AppPage> {
    await this.app(title).click();
    return new AppPage(this.page);
  }
}

/** One app of the store: what it is, its screenshots, and the way to deploy it. */
export class AppPage {
  readonly deployLink: Locator;

  constructor(readonly page: Page) {
    this.deployLink = page.getByRole('link', { name: 'Deploy' });
  }

  heading(title: string): Locator {
    return this.page.getByRole('heading', { level: 1, name: title });
  }

  screenshot(title: string, number = 1): Locator {
    return this.page.getByRole('img', { name: `Screenshot ${number} of ${title}` });
  }

  async deploy(): Promise<DeployPage> {
    await this.deployLink.click();
    return new DeployPage(this.page);
  }
}
