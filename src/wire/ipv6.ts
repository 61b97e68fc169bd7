// IPv6 (RFC 8200): named offsets and the extension headers the parser walks.
export const IPV6_VER_TC_FLOW = 0;
export const IPV6_PAYLOAD_LEN = 4;
export const IPV6_NEXT = 6;
export const IPV6_HOP_LIMIT = 7;
export const IPV6_SRC = 8;
export const IPV6_DST = 24;
export const IPV6_HEADER_LEN = 40;
/** Bound on extension headers walked before a frame is dropped as `ipv6ExtTooMany`. */
export const MAX_IPV6_EXT_HEADERS = 10;

export const NH_HOP_BY_HOP = 0;
export const NH_ROUTING = 43;
export const NH_FRAGMENT = 44;
export const NH_AH = 51;
export const NH_NONE = 59;
export const NH_DEST_OPTS = 60;
export const NH_MOBILITY = 135;
export const NH_HIP = 139;
export const NH_SHIM6 = 140;

/** Fragment header: offset of the 13-bit fragment offset + M flag word. */
export const FRAG_OFFSET_M = 2;
export const FRAG_HEADER_LEN = 8;
