/** Where a command writes: stdout, stderr, and whether stdout is a terminal (progress display). */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  isTty: boolean;
}
