import 'reflect-metadata';
import { ArgumentValidationError } from 'type-graphql';
import { validateArgument } from '../src/federation';
import { NoteInput } from './fixture/note';

const note = (text: string | undefined): NoteInput => Object.assign(new NoteInput(), text === undefined ? {} : { text });

/** The schema's argument validator: class-validator on input objects, as type-graphql's default did. */
describe('validateArgument', () => {
  it('passes valid inputs, scalars and null', async () => {
    await expect(validateArgument(note('short'))).resolves.toBeUndefined();
    await expect(validateArgument('far too long for any note field')).resolves.toBeUndefined();
    await expect(validateArgument(null)).resolves.toBeUndefined();
  });

  it('refuses an invalid input with BAD_USER_INPUT and the failed constraint', async () => {
    const refusal = await validateArgument(note('far too long for this field')).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ArgumentValidationError);
    expect((refusal as ArgumentValidationError).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      validationErrors: [expect.objectContaining({ property: 'text', constraints: { maxLength: expect.any(String) } })],
    });
  });

  it('checks every input of a list', async () => {
    const refusal = await validateArgument([note('fine'), note('far too long for this field')]).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ArgumentValidationError);
    await expect(validateArgument([note('fine'), note('also fine')])).resolves.toBeUndefined();
  });

  it('skips properties that are missing, as partial inputs leave them', async () => {
    await expect(validateArgument(note(undefined))).resolves.toBeUndefined();
  });
});
