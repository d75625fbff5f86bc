// What the Linux kernel refuses, as both models' system calls see it.
//
// Heuristic overcommit (vm.overcommit_memory = 0, the default): __vm_enough_memory refuses a single request for
// more pages than RAM and swap together hold, whatever is in use. It applies to every accounted growth of the
// address space: brk increments, private writable mmaps and the growth of an mremap; mappings made without access
// (glibc's arena heap reservations) are not accounted. The limit is the recorded machine's (`# mem-total` and
// `# swap-total` of a recording) or the replaying machine's, set as the `overcommit_limit` option; 0 = no limit.

let overcommitLimit: u64 = 0;

/** Sets the largest single growth the kernel grants, in bytes (0: no limit). */
export function setOvercommitLimit(bytes: u64): void {
  overcommitLimit = bytes;
}

/** True when the kernel refuses to grow the address space by `bytes` at once (ENOMEM). */
// @ts-ignore: decorator
@inline export function overcommitRefuses(bytes: u64): bool {
  return overcommitLimit != 0 && bytes > overcommitLimit;
}

/** End of x86-64 user space (47 bits): no mapping, and no break, lies at or above it. */
export const USER_SPACE_END: u64 = 0x8000_0000_0000;
