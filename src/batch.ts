// The batch: the most packets one pipeline pass takes, and so the size of every per-batch
// scratch buffer (pipeline, extension stack, flow stage). One constant, so no buffer sized
// elsewhere can fall behind a change here.
export const BATCH_MAX = 64;
