// The error code every integrity abort carries; the message (glibc's own) tells them apart.

/** malloc_printerr: glibc prints the message and aborts the process. */
export const ABORT: i32 = 1;
/** What the real process would die of when the model follows a pointer into unmapped memory. */
export const SEGV_MESSAGE: string = "Segmentation fault";
