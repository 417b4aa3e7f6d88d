import type { Locator, Page } from '@playwright/test';
import { BoxPage } from './box-page.ts';
import { CloudsPage } from './clouds-page.ts';
import { DashboardPage } from './dashboard-page.ts';
import { KioskPage } from './kiosk-page.ts';
import { ModulesPage } from './modules-page.ts';
import { RunsPage } from './runs-page.ts';
import { StorePage } from './store-page.ts';
import { UsersPage } from './users-page.ts';

/**
 * What surrounds every page of a signed-in screen: the Sections navigation, a page's heading,
 * the dry-run notice and signing out (or leaving kiosk mode). Its `goTo…` methods follow a
 * section's link and hand back that page's model.
 */
export class Shell {
  readonly sections: Locator;
  readonly signOutButton: Locator;
  readonly leaveKioskButton: Locator;
  /** Says VMs are simulated: no libvirt daemon answered, so the test driver stands in. */
  readonly dryRunNotice: Locator;

  constructor(readonly page: Page) {
    this.sections = page.getByRole('navigation', { name: 'Sections' });
    this.signOutButton = page.getByRole('button', { name: 'Sign out' });
    this.leaveKioskButton = page.getByRole('button', { name: 'Leave kiosk mode' });
    this.dryRunNotice = page.getByRole('status').filter({ hasText: 'Dry run' });
  }

  /** A section's link in the navigation. */
  section(name: string): Locator {
    return this.sections.getByRole('link', { name });
  }

  /** The page's main heading; with `name`, only if it says that. */
  heading(name?: string): Locator {
    return this.page.getByRole('heading', { level: 1, ...(name === undefined ? {} : { name }) });
  }

  goToStore(): Promise<StorePage> {
    return this.open('App Store', StorePage);
  }

  goToDashboard(): Promise<DashboardPage> {
    return this.open('Dashboard', DashboardPage);
  }

  goToRuns(): Promise<RunsPage> {
    return this.open('Runs', RunsPage);
  }

  goToModules(): Promise<ModulesPage> {
    return this.open('Modules', ModulesPage);
  }

  goToClouds(): Promise<CloudsPage> {
    return this.open('Clouds', CloudsPage);
  }

  goToBox(): Promise<BoxPage> {
    return this.open('Box', BoxPage);
  }

  goToUsers(): Promise<UsersPage> {
    return this.open('Users', UsersPage);
  }

  /** Kiosk mode's settings, linked from the shell. */
  async goToKiosk(): Promise<KioskPage> {
    await this.page.getByRole('link', { name: 'Kiosk mode' }).click();
    return new KioskPage(this.page);
  }

  async signOut(): Promise<void> {
    await this.signOutButton.click();
  }

  /** Follows a section's link; the page's model. */
  private async open<Model>(section: string, model: new (page: Page) => Model): Promise<Model> {
    await this.section(section).click();
    return new model(this.page);
  }
}
