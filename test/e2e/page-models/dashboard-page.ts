import type { Locator, Page } from '@playwright/test';

/** The Dashboard: capacity, the host's latest sample, its history, runs by state, cloud health. */
export class DashboardPage {
  readonly heading: Locator;
  readonly capacity: Locator;
  readonly host: Locator;
  readonly history: Locator;
  readonly runsByState: Locator;
  readonly cloudHealth: Locator;
  /** The history's chart (its first canvas) and its caption. */
  readonly chart: Locator;
  readonly chartCaption: Locator;
  readonly metric: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { level: 1, name: 'Dashboard' });
    this.capacity = this.panel('Capacity');
    this.host = this.panel('Host');
    this.history = this.panel('History');
    this.runsByState = this.panel('Runs by state');
    this.cloudHealth = this.panel('Cloud health');
    this.chart = this.history.locator('canvas').first();
    this.chartCaption = this.history.locator('figcaption');
    this.metric = this.history.getByLabel('Metric');
  }

  panel(name: string): Locator {
    return this.page.getByRole('region', { name, exact: true });
  }

  /** The history's button for a range (Hour, Day, Week, Month). */
  range(name: string): Locator {
    return this.history.getByRole('button', { name });
  }

  /** The row of a user in the capacity table. */
  capacityRow(username: string): Locator {
    return this.capacity.getByRole('table').getByRole('row', { name: new RegExp(`^${username}`) });
  }

  /** The link of a state's count in Runs by state, named like `Done: 1 run`. */
  runCount(name: string): Locator {
    return this.runsByState.getByRole('link', { name });
  }
}
