// The control for event latency: a bare subscriber of Docker's event stream, run as its own process with the
// agent's node flags. It does only what every subscriber must (read the stream, split lines, parse JSON) and prints
// `<id> <action> <Date.now() at receipt>` per container start/die, so that the agent's latency can be judged net of
// what the engine and the machine add before any agent code runs. Plain JavaScript: no loader between it and node.
import { followContainerEvents } from './docker-events.mjs';

followContainerEvents('bare subscriber', (e, at) => {
  process.stdout.write(`${e.Actor?.ID ?? e.id} ${e.Action ?? e.status} ${at}\n`);
});
