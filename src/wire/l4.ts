// Transport headers: TCP (RFC 9293), UDP (RFC 768), ICMP (RFC 792), ICMPv6 (RFC 4443), SCTP ports.
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;
export const PROTO_SCTP = 132;

export const L4_SRC_PORT = 0;
export const L4_DST_PORT = 2;

export const TCP_SEQ = 4;
export const TCP_ACK = 8;
export const TCP_DATA_OFF = 12; // high nibble: header length in 32-bit words
export const TCP_FLAGS = 13;
export const TCP_MIN_LEN = 20;

export const UDP_LEN = 4;
export const UDP_CHECKSUM = 6;
export const UDP_HEADER_LEN = 8;

export const ICMP_TYPE = 0;
export const ICMP_CODE = 1;
export const ICMP_MIN_LEN = 4; // type, code, checksum: what flow classification reads

export const SCTP_MIN_LEN = 12;
