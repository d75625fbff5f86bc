// System errors in plain words, for the one-line errors every command prints.

/** Node's wording of a system error, `ENOSPC: no space left on device, write '/x'`, anywhere in a message. */
const SYSTEM_ERROR = /\b(E[A-Z0-9]+): (.*?)(?:, [a-z]+(?: '[^']*')?)?$/;

/** Plainer words for the system errors users meet on files. */
const REASONS: Record<string, string> = { EISDIR: "is a folder", ENOENT: "no such file or folder" };

/** A system error as a one-line reason: `ENOSPC: no space left on device, write` → `no space left on device`. */
export function reasonOf(error: Error): string {
  return error.message.replace(SYSTEM_ERROR, (_, code: string, text: string) => REASONS[code] ?? text);
}
