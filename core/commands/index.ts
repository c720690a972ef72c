// Registry of engine commands by request name. Adding a command: a file here, its args schema in
// core/schemas/, a line below, and a CLI mapping in core/cli/.
import type { Command } from './command.js';
import { versionCommand } from './version.js';
import { certNewCommand } from './cert_new.js';
import { certTestCommand } from './cert_test.js';

/** Every command the engine answers, by its request name. */
export const COMMANDS: ReadonlyMap<string, Command<never>> = new Map<string, Command<never>>(
  [versionCommand, certNewCommand, certTestCommand].map((c) => [c.name, c as Command<never>]),
);
