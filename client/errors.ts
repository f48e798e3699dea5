/** A failure the user can fix: printed as one line, no stack trace, exit code 1. */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
