import { createInterface } from 'node:readline/promises';
import { UserError } from './errors';

/**
 * Asks before a step that writes. `-y` skips the question; without a terminal to ask on, the
 * answer is no and the command says how to proceed.
 */
export async function confirm(question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new UserError(
      `${question.replace(/\?$/, '')}: refusing without confirmation in a non-interactive shell; pass --yes (-y) to proceed.`,
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new UserError('Cancelled; nothing was changed.');
  } finally {
    rl.close();
  }
}
