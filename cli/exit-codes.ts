// What an exit code tells a script: 0 done, 1 crashed or the server could not be
// reached (retrying later may help), 2 input refused or a verdict that failed
// (retrying the same command will not help).
export const ExitCode = {
  Done: 0,
  Crashed: 1,
  Refused: 2,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
