// Stop signals for the long-running commands (run, replay, bench). The first SIGINT or
// SIGTERM asks the command to stop: deliver what is in flight and print its summary. A second
// one ends the process at once (exit 130), after `last` prints what it can. The handlers stay
// installed until the returned function removes them.

export function onStopSignals(first: () => void, last: (signal: NodeJS.Signals) => void = () => undefined): () => void {
  let seen = 0;
  const on = (signal: NodeJS.Signals) => {
    if (++seen === 1) { first(); return; }
    last(signal);
    process.exit(130);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return () => { process.off('SIGINT', on); process.off('SIGTERM', on); };
}
