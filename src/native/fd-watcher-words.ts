// The shared words between FdWatcher (main thread) and its thread.

/** 1: a watched descriptor is readable (set by the thread; the main thread clears it after reading). */
export const READY = 0;
/** Non-zero: the thread exits (negative: it failed, -errno of its poll). */
export const STOP = 1;
/** Descriptors watched, the wake eventfd first. */
export const COUNT = 2;
export const FDS = 3;
/** Most descriptors one watcher polls (the native module's limit). */
export const MAX_FDS = 64;
