import type { Locator, Page } from '@playwright/test';

/** One run, followed live: its state, timeline, instances, parameters, log, actions and sharing. */
export class RunPage {
  /** The run's state badge. */
  readonly state: Locator;
  readonly timelineHeading: Locator;
  /** The timeline's current step. */
  readonly currentStep: Locator;
  readonly instances: Locator;
  readonly parameters: Locator;
  readonly eventLog: Locator;
  readonly actionsHeading: Locator;
  readonly terminateButton: Locator;
  readonly terminateDialog: Locator;
  readonly abortButton: Locator;
  readonly abortDialog: Locator;
  readonly deleteButton: Locator;
  readonly deleteDialog: Locator;
  /** What the page says of a run moved to the archive. */
  readonly archivedNote: Locator;
  readonly upgradeTo: Locator;
  /** What the page says once the run has ended. */
  readonly endedNotice: Locator;
  readonly sharing: Locator;
  /** Kiosk mode's way back, in place of the navigation. */
  readonly backToStore: Locator;

  constructor(readonly page: Page) {
    this.state = page.locator('.badge[data-state]').first();
    this.timelineHeading = page.getByRole('heading', { name: 'State timeline' });
    this.currentStep = page
      .getByRole('list', { name: 'State timeline' })
      .locator('[aria-current="step"]');
    this.instances = page.getByRole('table', { name: 'Nodes and instances' });
    this.parameters = page.getByRole('table', { name: 'Runtime parameters' });
    this.eventLog = page.getByRole('list', { name: 'Event log' });
    this.actionsHeading = page.getByRole('heading', { name: 'Actions' });
    this.terminateButton = page.getByRole('button', { name: 'Terminate' });
    this.terminateDialog = page.getByRole('dialog', { name: 'Terminate run?' });
    this.abortButton = page.getByRole('button', { name: 'Abort' });
    this.abortDialog = page.getByRole('dialog', { name: 'Abort run?' });
    this.deleteButton = page.getByRole('button', { name: 'Delete run' });
    this.deleteDialog = page.getByRole('dialog', { name: 'Delete run?' });
    this.archivedNote = page.getByRole('note').filter({ hasText: 'Archived:' });
    this.upgradeTo = page.getByLabel('Upgrade to');
    this.endedNotice = page.getByText('The run has ended; nothing is left running.');
    this.sharing = page.getByRole('region', { name: 'Sharing' });
    this.backToStore = page.getByRole('link', { name: '← Back to the store' });
  }

  /** The run's id, from the page's address. */
  get id(): string {
    return new URL(this.page.url()).pathname.split('/').at(-1)!;
  }

  heading(title: string, { exact = false } = {}): Locator {
    return this.page.getByRole('heading', { level: 1, name: title, exact });
  }

  instance(name: RegExp): Locator {
    return this.instances.getByRole('row', { name });
  }

  parameter(name: RegExp): Locator {
    return this.parameters.getByRole('row', { name });
  }

  async openConsole(instance: string): Promise<void> {
    await this.instances.getByRole('button', { name: `Console of ${instance}` }).click();
  }

  /** Asks for `count` instances of `node`. */
  async scale(node: string, count: number): Promise<void> {
    await this.page.getByLabel(`Instances of ${node}`).fill(String(count));
    await this.page
      .getByRole('form', { name: `Scale ${node}` })
      .getByRole('button', { name: 'Scale' })
      .click();
  }

  /** Deletes the (finished) run, confirming when asked. */
  async delete(): Promise<void> {
    await this.deleteButton.click();
    await this.deleteDialog.getByRole('button', { name: 'Delete' }).click();
  }

  /** Terminates the run, confirming when asked. */
  async terminate(): Promise<void> {
    await this.terminateButton.click();
    await this.terminateDialog.getByRole('button', { name: 'Terminate' }).click();
  }
}
