/** A mistake the user can fix: printed as one line, exit code 1 (SPEC §7). */
export class UserError extends Error {
  override readonly name = 'UserError';
}
