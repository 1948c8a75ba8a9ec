/**
 * SIGINT and SIGTERM before a command has begun to change anything: hashify ends at once with
 * 130 / 143 (SPEC "Exit codes") and says so, rather than dying by the signal without a word
 * while it reads a large plan. `plan`, `apply` and `undo` keep this until their own stop takes
 * over (dropEarlySignals, from their handlers); the other commands drop it when they start, so
 * that a signal ends them at once (Node's default), even inside a long synchronous call.
 * A command's own handlers go on before these come off: Node's watch of a signal ends with
 * its last listener, and a signal it had caught and not yet dispatched is lost with it.
 */
import { EXIT } from '../errors.js';

function onSignal(sig: NodeJS.Signals): void {
  process.stderr.write(`\nhashify: ${sig} before any operation ran: stopped\n`);
  process.exit(sig === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
}

export function catchEarlySignals(): void {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export function dropEarlySignals(): void {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
