import { randomInt, timingSafeEqual } from 'node:crypto';

/** Letters and digits that cannot be mistaken for one another when read off a screen. */
const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** The form of a setup code: three groups of four (about 60 bits). */
export const setupCodePattern = /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/;

export function newSetupCode(): string {
  const groups: string[] = [];
  for (let group = 0; group < 3; group += 1) {
    let text = '';
    for (let index = 0; index < 4; index += 1) text += alphabet[randomInt(alphabet.length)];
    groups.push(text);
  }
  return groups.join('-');
}

/** Case, spaces and dashes as typed do not matter: `abcd efgh-jkmn` is `ABCD-EFGH-JKMN`. */
function canonical(text: string): string {
  const bare = text.toUpperCase().replace(/[\s-]/g, '');
  return bare.length === 12 ? `${bare.slice(0, 4)}-${bare.slice(4, 8)}-${bare.slice(8)}` : bare;
}

/**
 * The one-time code that lets the first administrator be created from another machine. The box
 * prints it in its log and shows it on its own screen, so only someone who can see the box holds
 * it; it stops working once used.
 */
export class SetupCode {
  private code: string | null;

  constructor(code: string = newSetupCode()) {
    if (!setupCodePattern.test(code))
      throw new Error(
        `A setup code looks like ABCD-EFGH-JKMN (letters and digits without 0, O, 1 and I); got ${JSON.stringify(code)}.`,
      );
    this.code = code;
  }

  /** The code while it can still be used, for the log and the box's own screen. */
  get current(): string | null {
    return this.code;
  }

  /** Compared in constant time. */
  matches(given: string | undefined): boolean {
    if (this.code === null || given === undefined) return false;
    const expected = Buffer.from(this.code);
    const actual = Buffer.from(canonical(given));
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  /** Called once the first administrator exists: the code has done its one job. */
  spend(): void {
    this.code = null;
  }
}
