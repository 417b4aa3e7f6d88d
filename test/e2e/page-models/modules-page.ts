import { expect, type Locator, type Page } from '@playwright/test';

export type ModuleKind = 'Project' | 'Image' | 'Deployment';

/**
 * The Modules workspace: the tree, the new-module form, the open module (its heading, views,
 * editors and the bar that saves a version) and its Delete button.
 */
export class ModulesPage {
  readonly heading: Locator;
  readonly tree: Locator;
  readonly newModuleForm: Locator;
  /** The open module's heading: its path, kind and version. */
  readonly moduleTitle: Locator;
  /** The open module's Delete button (while no confirmation is open). */
  readonly deleteButton: Locator;
  readonly views: Locator;
  readonly saveBar: Locator;
  readonly unsavedNotice: Locator;
  readonly accessRules: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { level: 1, name: 'Modules' });
    this.tree = page.getByRole('tree', { name: 'Modules' });
    this.newModuleForm = page.getByRole('form', { name: 'New module' });
    this.moduleTitle = page.locator('h2#module-title');
    this.deleteButton = page.getByRole('button', { name: 'Delete', exact: true });
    this.views = page.getByRole('navigation', { name: 'Module views' });
    this.saveBar = page.getByRole('form', { name: 'Save a version' });
    this.unsavedNotice = page.getByText('Unsaved changes.');
    this.accessRules = page.getByRole('list', { name: 'Access rules' });
  }

  /** A module in the tree, by its name and kind (`project`, `image`, `deployment`). */
  treeItem(name: string, kind: string): Locator {
    return this.tree.getByRole('treeitem', { name: `${name}, ${kind}` });
  }

  /** The code editor of one of an image's recipes. */
  recipe(name: string): Locator {
    return this.page.getByRole('textbox', { name: `${name} recipe` });
  }

  async createModule(kind: ModuleKind, name: string): Promise<void> {
    await this.newModuleForm.getByLabel('Kind').selectOption(kind);
    await this.newModuleForm.getByLabel('Name').fill(name);
    await this.newModuleForm.getByRole('button', { name: 'Create' }).click();
  }

  /** Saves the draft as `version` and waits for the bar to say it is saved. */
  async saveVersion(message: string, version: number): Promise<void> {
    await this.saveBar.getByLabel('What changed').fill(message);
    await this.saveBar.getByRole('button', { name: `Save version ${version}` }).click();
    await expect(this.saveBar.getByRole('status')).toHaveText(`✓ Version ${version} saved.`);
  }

  /** Types into a CodeMirror editor at the end of its text, as a person would. */
  async typeInEditor(editor: Locator, text: string): Promise<void> {
    await editor.click();
    await this.page.keyboard.press('Control+End');
    await this.page.keyboard.type(text);
  }

  /** Opens one of the module's views (Edit or View, History, Publish, Sharing, YAML). */
  async openView(name: string): Promise<void> {
    await this.views.getByRole('link', { name }).click();
  }

  /** Asks to delete the open module and answers the confirmation with `answer`. */
  async delete(path: string, answer: 'Delete' | 'Cancel'): Promise<void> {
    await this.deleteButton.click();
    await this.page
      .getByRole('dialog', { name: `Delete ${path}?` })
      .getByRole('button', { name: answer })
      .click();
  }

  async addAccessRule(who: string): Promise<void> {
    const form = this.page.getByRole('form', { name: 'Add an access rule' });
    await form.getByLabel('Who').selectOption(who);
    await form.getByRole('button', { name: 'Add rule' }).click();
  }
}

/** A module's Publish view: the apps made from it, and the form that publishes a version. */
export class PublishPanel {
  readonly form: Locator;
  /** The inputs the deploy form may ask for, and the nodes' instances and clouds. */
  readonly askedInputs: Locator;
  readonly nodes: Locator;
  readonly formProblems: Locator;
  readonly publishButton: Locator;
  readonly fromModule: Locator;
  readonly unpublishDialog: Locator;

  constructor(readonly page: Page) {
    this.form = page.getByRole('form', { name: 'Publish a version' });
    this.askedInputs = this.form.getByRole('table', { name: 'Inputs the deploy form asks for' });
    this.nodes = this.form.getByRole('table', { name: 'Nodes: instances and clouds' });
    this.formProblems = this.form.getByRole('alert', { name: 'Problems with the deploy form' });
    this.publishButton = this.form.getByRole('button', { name: 'Publish' });
    this.fromModule = page.getByRole('list', { name: 'Apps from this module' });
    this.unpublishDialog = page.getByRole('dialog', { name: 'Unpublish app?' });
  }

  /** Asks to take the module's app out of the store and answers the confirmation with `answer`. */
  async unpublish(answer: 'Unpublish' | 'Cancel'): Promise<void> {
    await this.fromModule.getByRole('button', { name: 'Unpublish' }).click();
    await this.unpublishDialog.getByRole('button', { name: answer }).click();
  }
}
