// The pipeline's counters, one row per port: the input port for receive-side reasons, the
// output port for txRingFull. docs/counters.md explains each one.
import { PARSE_REASONS } from '../wire/flow-key.js';

export const PIPELINE_COUNTERS = [
  'processed', 'forwarded', 'flooded', 'ruleOutput', 'extensionOutput', 'mirrored', 'unknownUnicast', 'txRingFull',
  'dropRule', 'dropExtension', 'dropExcluded',
  'dropPortDisabled', 'dropTaggedOnAccess', 'dropUntaggedOnTrunk', 'dropVlanNotAllowed',
  'dropSrcMacGroup', 'dropMacLimit', 'dropSameSegment', 'dropNoDestination',
  ...PARSE_REASONS.slice(1).map((r) => `malformed.${r}` as const),
] as const;
export type PipelineCounter = (typeof PIPELINE_COUNTERS)[number];
/** Counter index of `malformed.<reason>` is MALFORMED_BASE + the parse reason code. */
export const MALFORMED_BASE = PIPELINE_COUNTERS.indexOf('malformed.ethTruncated') - 1;
