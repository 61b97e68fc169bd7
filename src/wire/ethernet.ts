// Ethernet II and 802.1Q / 802.1ad tag stacks: named offsets and EtherTypes.
// Frame: dst(6) src(6) [TPID(2) TCI(2)]* EtherType(2) payload. TCI = PCP(3) DEI(1) VID(12).

export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;
export const ETH_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;
/** Deepest tag stack the parser walks (the issue asks for at least 3). */
export const MAX_VLAN_TAGS = 4;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100; // 802.1Q C-tag
export const ETHERTYPE_QINQ = 0x88a8; // 802.1ad S-tag
export const ETHERTYPE_QINQ_OLD = 0x9100; // pre-standard S-tag, still seen in captures
export const ETHERTYPE_IPV6 = 0x86dd;

/** True for the TPIDs that start a VLAN tag. */
export function isVlanTpid(t: number): boolean {
  return t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ || t === ETHERTYPE_QINQ_OLD;
}

/** VLAN id of a TCI. */
export function tciVid(tci: number): number { return tci & 0x0fff; }
/** Priority code point of a TCI. */
export function tciPcp(tci: number): number { return tci >>> 13; }

/** True when the destination MAC at `o` is a group (broadcast or multicast) address. */
export function isGroupMac(b: Uint8Array, o: number): boolean { return (b[o] & 1) === 1; }
