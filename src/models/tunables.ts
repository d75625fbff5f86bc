// Reading `name=value:name=value` tunable strings. The syntax is the one GLIBC_TUNABLES has; each name is read as
// the model whose namespace it lies in reads it (its descriptor's `tunables`), other names as C's strtoul reads them.

/**
 * A value as C's `strtoul` reads it (glibc's `_dl_strtoul` for GLIBC_TUNABLES): blanks skipped, an optional sign,
 * then a leading `0x` means hex and a leading `0` octal; reading stops at the first character that is not a digit
 * of that base (`65536k` is 65536, `1e3` is 1, `09` is 0); a value past 2^64 − 1 is 2^64 − 1, and a negative one
 * wraps modulo 2^64. Returned as the nearest double (a model refuses anything that large).
 */
export function strtoulValue(text: string): number {
  let i = 0;
  while (text[i] === " " || text[i] === "\t") i++;
  const negative = text[i] === "-";
  if (text[i] === "-" || text[i] === "+") i++;
  let base = 10n;
  if (text[i] === "0") {
    if (text[i + 1] === "x" || text[i + 1] === "X") {
      base = 16n;
      i += 2;
    } else {
      base = 8n;
    }
  }
  const limit = (1n << 64n) - 1n;
  let value = 0n;
  for (; i < text.length; i++) {
    const digit = parseInt(text[i], 16);
    if (!(digit < Number(base))) break;
    value = value * base + BigInt(digit);
    if (value > limit) return Number(limit);
  }
  return Number(negative ? (-value) & limit : value);
}

/** Parses MALLOC_CONF syntax (`narenas:4,tcache:false`) into a record; true and false become 1 and 0. */
export function parseMallocConf(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(",")) {
    if (!part.trim()) continue;
    const colon = part.indexOf(":");
    if (colon < 0) throw new Error(`option '${part}' has no value (expected name:value)`);
    const name = part.slice(0, colon).trim();
    const text = part.slice(colon + 1).trim();
    const value = text === "true" ? 1 : text === "false" ? 0 : Number(text);
    if (!Number.isFinite(value)) throw new Error(`option '${name}' has a non-numeric value '${text}'`);
    out[name] = value;
  }
  return out;
}
