// sluice_io: the native I/O module. System calls in batches, no logic: UDP sockets with
// recvmmsg/sendmmsg, tap devices with readv/writev, AF_PACKET sockets, a blocking poll and an
// eventfd to wake it. Frames move straight between the kernel and pool slots in the pool's
// SharedArrayBuffer; the JS side (io.ts) owns every decision and every counter.
//
// N-API only (node_api.h): it builds against the installed Node headers and loads in worker
// threads. Calls do not allocate: a pool is bound once (bindPool) and the binding holds strong
// references to the pool's typed arrays, so the memory it writes cannot be collected while the
// binding lives. Failures come back as negative errno values, never as exceptions (a wrong
// argument type throws a TypeError).

#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/** Most messages one call moves (the JS side never asks for more). */
#define BURST 256
/** Bytes per peer-address record: family u16, port u16 (network order), address 16, scope id u32. */
#define ADDR_REC 24
#define VNET_HDR 12
#define MAX_POLL 64

typedef struct {
  uint8_t *data;     // slot bytes
  uint16_t *off;     // frame start within the slot
  uint32_t *len;     // frame length
  uint8_t *vnet;     // VNET_HDR bytes per slot, or NULL
  uint32_t slots, slot_size, headroom;
  napi_ref refs[4];
} pool_t;

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_type_error(env, NULL, #call " failed"); return NULL; } } while (0)

static napi_value num(napi_env env, int64_t v) {
  napi_value r;
  if (v >= INT32_MIN && v <= INT32_MAX) napi_create_int32(env, (int32_t)v, &r); else napi_create_int64(env, v, &r);
  return r;
}

static int arg_i32(napi_env env, napi_value v, int32_t *out) { return napi_get_value_int32(env, v, out) == napi_ok; }

// A typed array's bytes, its element count, optionally its type.
static void *typed(napi_env env, napi_value v, size_t *count, napi_typedarray_type *type) {
  napi_typedarray_type t; size_t n; void *p; napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, v, &t, &n, &p, &ab, &off) != napi_ok) return NULL;
  if (count) *count = n;
  if (type) *type = t;
  return p;
}

static void pool_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  pool_t *p = data;
  for (int i = 0; i < 4; i++) if (p->refs[i]) napi_delete_reference(env, p->refs[i]);
  free(p);
}

// bindPool(data: Uint8Array, off: Uint16Array, len: Uint32Array, vnet: Uint8Array | null, slotSize, headroom) -> binding
static napi_value bind_pool(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value a[6];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 6) { napi_throw_type_error(env, NULL, "bindPool takes 6 arguments"); return NULL; }
  size_t nd = 0, no = 0, nl = 0, nv = 0; napi_typedarray_type td = napi_int8_array, to = td, tl = td, tv = td;
  void *d = typed(env, a[0], &nd, &td), *o = typed(env, a[1], &no, &to), *l = typed(env, a[2], &nl, &tl), *v = NULL;
  napi_valuetype vt; napi_typeof(env, a[3], &vt);
  if (vt != napi_null && vt != napi_undefined) v = typed(env, a[3], &nv, &tv);
  int32_t slot_size, headroom;
  if (!d || !o || !l || td != napi_uint8_array || to != napi_uint16_array || tl != napi_uint32_array ||
      (vt != napi_null && vt != napi_undefined && (!v || tv != napi_uint8_array)) ||
      !arg_i32(env, a[4], &slot_size) || !arg_i32(env, a[5], &headroom) || slot_size <= headroom || headroom < 0 ||
      nd != (size_t)slot_size * no || nl != no || (v && nv != VNET_HDR * no)) {
    napi_throw_type_error(env, NULL, "bindPool(data: Uint8Array, off: Uint16Array, len: Uint32Array, vnet: Uint8Array|null, slotSize, headroom): sizes disagree");
    return NULL;
  }
  pool_t *p = calloc(1, sizeof *p);
  if (!p) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  p->data = d; p->off = o; p->len = l; p->vnet = v;
  p->slots = (uint32_t)no; p->slot_size = (uint32_t)slot_size; p->headroom = (uint32_t)headroom;
  for (int i = 0; i < 4; i++) if (i < 3 || v) napi_create_reference(env, a[i], 1, &p->refs[i]);
  napi_value ext;
  if (napi_create_external(env, p, pool_finalize, NULL, &ext) != napi_ok) { pool_finalize(env, p, NULL); return NULL; }
  return ext;
}

static pool_t *get_pool(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) napi_throw_type_error(env, NULL, "not a pool binding");
  return p;
}

// The handles of one call: handles[from .. from+n), each checked against the pool.
static int32_t *get_handles(napi_env env, napi_value v, pool_t *p, int32_t from, int32_t *n) {
  size_t count; napi_typedarray_type t;
  int32_t *h = typed(env, v, &count, &t);
  if (!h || t != napi_int32_array || from < 0 || *n < 0 || (size_t)from + (size_t)*n > count) {
    napi_throw_type_error(env, NULL, "handles: Int32Array with from + n inside it");
    return NULL;
  }
  if (*n > BURST) *n = BURST;
  h += from;
  for (int32_t i = 0; i < *n; i++) {
    if (h[i] < 0 || (uint32_t)h[i] >= p->slots) { napi_throw_range_error(env, NULL, "handle outside the pool"); return NULL; }
  }
  return h;
}

static void put_addr(uint8_t *rec, const struct sockaddr_storage *ss) {
  memset(rec, 0, ADDR_REC);
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const void *)ss;
    rec[0] = 4; memcpy(rec + 2, &s->sin_port, 2); memcpy(rec + 4, &s->sin_addr, 4);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const void *)ss;
    rec[0] = 6; memcpy(rec + 2, &s->sin6_port, 2); memcpy(rec + 4, &s->sin6_addr, 16); memcpy(rec + 20, &s->sin6_scope_id, 4);
  }
}

static socklen_t get_addr(const uint8_t *rec, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (rec[0] == 4) {
    struct sockaddr_in *s = (void *)ss;
    s->sin_family = AF_INET; memcpy(&s->sin_port, rec + 2, 2); memcpy(&s->sin_addr, rec + 4, 4);
    return sizeof *s;
  }
  if (rec[0] == 6) {
    struct sockaddr_in6 *s = (void *)ss;
    s->sin6_family = AF_INET6; memcpy(&s->sin6_port, rec + 2, 2); memcpy(&s->sin6_addr, rec + 4, 16); memcpy(&s->sin6_scope_id, rec + 20, 4);
    return sizeof *s;
  }
  return 0;
}

// Optional per-message address records: null, or a Uint8Array of at least n * ADDR_REC bytes.
static uint8_t *get_addrs(napi_env env, napi_value v, int32_t n, int *bad) {
  napi_valuetype vt; napi_typeof(env, v, &vt);
  *bad = 0;
  if (vt == napi_null || vt == napi_undefined) return NULL;
  size_t count; napi_typedarray_type t;
  uint8_t *a = typed(env, v, &count, &t);
  if (!a || t != napi_uint8_array || count < (size_t)n * ADDR_REC) { *bad = 1; napi_throw_type_error(env, NULL, "addrs: Uint8Array of n * 24 bytes, or null"); }
  return a;
}

// The optional vnet header length argument: 0, 10 (AF_PACKET) or 12 (tap), with a vnet pool.
static int get_vh(napi_env env, napi_value v, pool_t *p, int32_t *vh) {
  if (!arg_i32(env, v, vh) || (*vh != 0 && *vh != 10 && *vh != VNET_HDR) || (*vh && !p->vnet)) return 0;
  return 1;
}

// recvBatch(pool, fd, handles, from, n, addrs | null, vnetHdrLen) -> datagrams received (0: none
// waiting) or -errno. Message i lands in slot handles[from+i] at the headroom (after a
// vnetHdrLen-byte header read into the slot's vnet metadata); len is the real length
// (MSG_TRUNC: larger than the slot means it was cut, for the caller to drop and count).
static napi_value recv_batch(napi_env env, napi_callback_info info) {
  size_t argc = 7; napi_value a[7];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  pool_t *p = get_pool(env, a[0]); if (!p) return NULL;
  int32_t fd, from, n, vh; int bad;
  if (argc < 7 || !arg_i32(env, a[1], &fd) || !arg_i32(env, a[3], &from) || !arg_i32(env, a[4], &n) || !get_vh(env, a[6], p, &vh)) {
    napi_throw_type_error(env, NULL, "recvBatch(pool, fd, handles, from, n, addrs, vnetHdrLen 0|10|12)"); return NULL;
  }
  int32_t *h = get_handles(env, a[2], p, from, &n); if (!h) return NULL;
  uint8_t *addrs = get_addrs(env, a[5], n, &bad); if (bad) return NULL;
  struct mmsghdr m[BURST]; struct iovec iov[2 * BURST]; struct sockaddr_storage ss[BURST];
  uint32_t cap = p->slot_size - p->headroom;
  for (int32_t i = 0; i < n; i++) {
    struct iovec *v = &iov[2 * i]; int k = 0;
    if (vh) { v[k].iov_base = p->vnet + (size_t)h[i] * VNET_HDR; v[k++].iov_len = (size_t)vh; }
    v[k].iov_base = p->data + (size_t)h[i] * p->slot_size + p->headroom; v[k++].iov_len = cap;
    memset(&m[i].msg_hdr, 0, sizeof m[i].msg_hdr);
    m[i].msg_hdr.msg_iov = v; m[i].msg_hdr.msg_iovlen = (size_t)k;
    if (addrs) { m[i].msg_hdr.msg_name = &ss[i]; m[i].msg_hdr.msg_namelen = sizeof ss[i]; }
  }
  int r = recvmmsg(fd, m, (unsigned)n, MSG_DONTWAIT | MSG_TRUNC, NULL);
  if (r < 0) return num(env, errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno);
  for (int i = 0; i < r; i++) {
    uint32_t got = m[i].msg_len < (uint32_t)vh ? 0 : m[i].msg_len - (uint32_t)vh;
    p->off[h[i]] = (uint16_t)p->headroom;
    p->len[h[i]] = (m[i].msg_hdr.msg_flags & MSG_TRUNC) && got <= cap ? cap + 1 : got;
    if (addrs) put_addr(addrs + (size_t)i * ADDR_REC, &ss[i]);
  }
  return num(env, r);
}

// sendBatch(pool, fd, handles, from, n, addrs | null, vnetHdrLen) -> datagrams sent (the first
// ones), or -errno when the first could not be sent.
static napi_value send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 7; napi_value a[7];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  pool_t *p = get_pool(env, a[0]); if (!p) return NULL;
  int32_t fd, from, n, vh; int bad;
  if (argc < 7 || !arg_i32(env, a[1], &fd) || !arg_i32(env, a[3], &from) || !arg_i32(env, a[4], &n) || !get_vh(env, a[6], p, &vh)) {
    napi_throw_type_error(env, NULL, "sendBatch(pool, fd, handles, from, n, addrs, vnetHdrLen 0|10|12)"); return NULL;
  }
  int32_t *h = get_handles(env, a[2], p, from, &n); if (!h) return NULL;
  uint8_t *addrs = get_addrs(env, a[5], n, &bad); if (bad) return NULL;
  struct mmsghdr m[BURST]; struct iovec iov[2 * BURST]; struct sockaddr_storage ss[BURST];
  for (int32_t i = 0; i < n; i++) {
    uint32_t off = p->off[h[i]], len = p->len[h[i]];
    if (off + len > p->slot_size) { napi_throw_range_error(env, NULL, "frame outside its slot"); return NULL; }
    struct iovec *v = &iov[2 * i]; int k = 0;
    if (vh) { v[k].iov_base = p->vnet + (size_t)h[i] * VNET_HDR; v[k++].iov_len = (size_t)vh; }
    v[k].iov_base = p->data + (size_t)h[i] * p->slot_size + off; v[k++].iov_len = len;
    memset(&m[i].msg_hdr, 0, sizeof m[i].msg_hdr);
    m[i].msg_hdr.msg_iov = v; m[i].msg_hdr.msg_iovlen = (size_t)k;
    if (addrs) { m[i].msg_hdr.msg_name = &ss[i]; m[i].msg_hdr.msg_namelen = get_addr(addrs + (size_t)i * ADDR_REC, &ss[i]); }
  }
  int r = sendmmsg(fd, m, (unsigned)n, 0);
  return num(env, r < 0 ? -errno : r);
}

// readBatch(pool, fd, handles, from, n, vnetHdrLen) -> frames read (0: none waiting) or -errno.
// One readv per frame: the virtio-net header (vnetHdrLen 0 or 12) into the slot's metadata,
// the frame into the slot at the headroom. A frame longer than the slot reads as cap + 1.
static napi_value read_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value a[6];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  pool_t *p = get_pool(env, a[0]); if (!p) return NULL;
  int32_t fd, from, n, vh;
  if (!arg_i32(env, a[1], &fd) || !arg_i32(env, a[3], &from) || !arg_i32(env, a[4], &n) || !arg_i32(env, a[5], &vh) ||
      (vh != 0 && vh != VNET_HDR) || (vh && !p->vnet)) { napi_throw_type_error(env, NULL, "readBatch(pool, fd, handles, from, n, vnetHdrLen 0|12 with a vnet pool)"); return NULL; }
  int32_t *h = get_handles(env, a[2], p, from, &n); if (!h) return NULL;
  uint32_t cap = p->slot_size - p->headroom;
  int32_t got = 0;
  for (; got < n; got++) {
    struct iovec iov[2]; int k = 0;
    if (vh) { iov[k].iov_base = p->vnet + (size_t)h[got] * VNET_HDR; iov[k++].iov_len = VNET_HDR; }
    iov[k].iov_base = p->data + (size_t)h[got] * p->slot_size + p->headroom; iov[k++].iov_len = cap;
    ssize_t r = readv(fd, iov, k);
    if (r < 0) {
      if (errno == EINTR) { got--; continue; }
      if (errno == EAGAIN || errno == EWOULDBLOCK || got > 0) break;
      return num(env, -errno);
    }
    p->off[h[got]] = (uint16_t)p->headroom;
    p->len[h[got]] = r < vh ? 0 : (uint32_t)(r - vh);
  }
  return num(env, got);
}

// writeBatch(pool, fd, handles, from, n, vnetHdrLen) -> frames written (the first ones), or
// -errno when the first could not be written.
static napi_value write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value a[6];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  pool_t *p = get_pool(env, a[0]); if (!p) return NULL;
  int32_t fd, from, n, vh;
  if (!arg_i32(env, a[1], &fd) || !arg_i32(env, a[3], &from) || !arg_i32(env, a[4], &n) || !arg_i32(env, a[5], &vh) ||
      (vh != 0 && vh != VNET_HDR) || (vh && !p->vnet)) { napi_throw_type_error(env, NULL, "writeBatch(pool, fd, handles, from, n, vnetHdrLen 0|12 with a vnet pool)"); return NULL; }
  int32_t *h = get_handles(env, a[2], p, from, &n); if (!h) return NULL;
  int32_t done = 0;
  for (; done < n; done++) {
    uint32_t off = p->off[h[done]], len = p->len[h[done]];
    if (off + len > p->slot_size) { napi_throw_range_error(env, NULL, "frame outside its slot"); return NULL; }
    struct iovec iov[2]; int k = 0;
    if (vh) { iov[k].iov_base = p->vnet + (size_t)h[done] * VNET_HDR; iov[k++].iov_len = VNET_HDR; }
    iov[k].iov_base = p->data + (size_t)h[done] * p->slot_size + off; iov[k++].iov_len = len;
    ssize_t r = writev(fd, iov, k);
    if (r < 0) {
      if (errno == EINTR) { done--; continue; }
      if (done > 0) break;
      return num(env, -errno);
    }
  }
  return num(env, done);
}

static int set_buf(int fd, int force, int plain, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) == 0) return 0;
  return setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof bytes);
}

static int parse_ip(const char *s, int port, struct sockaddr_storage *ss, socklen_t *sl) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (void *)ss; struct sockaddr_in6 *a6 = (void *)ss;
  if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) { a4->sin_family = AF_INET; a4->sin_port = htons((uint16_t)port); *sl = sizeof *a4; return AF_INET; }
  if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) { a6->sin6_family = AF_INET6; a6->sin6_port = htons((uint16_t)port); *sl = sizeof *a6; return AF_INET6; }
  return -1;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t n;
  napi_valuetype vt; napi_typeof(env, v, &vt);
  if (vt != napi_string) return 0;
  return napi_get_value_string_utf8(env, v, buf, size, &n) == napi_ok && n < size - 1;
}

// udpOpen(localIp, localPort, remoteIp | null, remotePort, bufferBytes) -> fd or -errno.
// Bound to local, connected to remote when given; buffers forced past rmem_max where permitted.
static napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 5; napi_value a[5];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  char lip[64], rip[64]; int32_t lport, rport, bytes;
  napi_valuetype rt; napi_typeof(env, a[2], &rt);
  int remote = rt != napi_null && rt != napi_undefined;
  if (argc < 5 || !get_string(env, a[0], lip, sizeof lip) || !arg_i32(env, a[1], &lport) || (remote && !get_string(env, a[2], rip, sizeof rip)) ||
      !arg_i32(env, a[3], &rport) || !arg_i32(env, a[4], &bytes)) { napi_throw_type_error(env, NULL, "udpOpen(localIp, localPort, remoteIp|null, remotePort, bufferBytes)"); return NULL; }
  struct sockaddr_storage l, r; socklen_t ll = 0, rl = 0;
  int fam = parse_ip(lip, lport, &l, &ll);
  if (fam < 0 || (remote && parse_ip(rip, rport, &r, &rl) != fam)) return num(env, -EINVAL);
  int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return num(env, -errno);
  set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes);
  set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
  if (bind(fd, (void *)&l, ll) < 0 || (remote && connect(fd, (void *)&r, rl) < 0)) { int e = errno; close(fd); return num(env, -e); }
  return num(env, fd);
}

// sockInfo(fd, what) -> 0: receive buffer bytes, 1: send buffer bytes, 2: bound port; or -errno.
static napi_value sock_info(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value a[2]; int32_t fd, what;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &fd) || !arg_i32(env, a[1], &what)) { napi_throw_type_error(env, NULL, "sockInfo(fd, what)"); return NULL; }
  if (what == 2) {
    struct sockaddr_storage ss; socklen_t sl = sizeof ss;
    if (getsockname(fd, (void *)&ss, &sl) < 0) return num(env, -errno);
    return num(env, ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port));
  }
  int v = 0; socklen_t sl = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, what == 0 ? SO_RCVBUF : SO_SNDBUF, &v, &sl) < 0) return num(env, -errno);
  return num(env, v);
}

// tapOpen(name, vnetHdr, multiQueue, offloadFlags, persist) -> fd or -errno. A tap of that name
// is created, or attached if it exists (same flags). Non-blocking; IFF_NO_PI.
static napi_value tap_open(napi_env env, napi_callback_info info) {
  size_t argc = 5; napi_value a[5];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  char name[IFNAMSIZ + 1]; bool vnet, mq, persist; int32_t offload;
  if (argc < 5 || !get_string(env, a[0], name, sizeof name) || napi_get_value_bool(env, a[1], &vnet) != napi_ok ||
      napi_get_value_bool(env, a[2], &mq) != napi_ok || !arg_i32(env, a[3], &offload) || napi_get_value_bool(env, a[4], &persist) != napi_ok) {
    napi_throw_type_error(env, NULL, "tapOpen(name, vnetHdr, multiQueue, offloadFlags, persist)"); return NULL;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return num(env, -errno);
  struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0) | (mq ? IFF_MULTI_QUEUE : 0);
  int hs = VNET_HDR;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0 || (vnet && ioctl(fd, TUNSETVNETHDRSZ, &hs) < 0) ||
      ioctl(fd, TUNSETOFFLOAD, (unsigned long)(vnet ? offload : 0)) < 0 || (persist && ioctl(fd, TUNSETPERSIST, 1) < 0)) {
    int e = errno; close(fd); return num(env, -e);
  }
  return num(env, fd);
}

// tapControl(fd, what, value) -> 0 or -errno. what 0: TUNSETOFFLOAD flags; 1: TUNSETPERSIST.
static napi_value tap_control(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value a[3]; int32_t fd, what, v;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &fd) || !arg_i32(env, a[1], &what) || !arg_i32(env, a[2], &v)) { napi_throw_type_error(env, NULL, "tapControl(fd, what, value)"); return NULL; }
  int r = ioctl(fd, what == 0 ? TUNSETOFFLOAD : TUNSETPERSIST, (unsigned long)v);
  return num(env, r < 0 ? -errno : 0);
}

// linkInfo(name, what, value) -> what 0: interface index; 1: flags (IFF_UP bit 0, IFF_RUNNING
// bit 6); 2: MTU; 3: set MTU to value; 4: set up (value 1) or down (0). -errno on failure.
static napi_value link_info(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value a[3]; char name[IFNAMSIZ + 1]; int32_t what, v;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!get_string(env, a[0], name, sizeof name) || !arg_i32(env, a[1], &what) || !arg_i32(env, a[2], &v)) { napi_throw_type_error(env, NULL, "linkInfo(name, what, value)"); return NULL; }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return num(env, -errno);
  struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name));
  int r = 0;
  if (what == 0) r = ioctl(s, SIOCGIFINDEX, &ifr) < 0 ? -errno : ifr.ifr_ifindex;
  else if (what == 1) r = ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ? -errno : (ifr.ifr_flags & 0xffff);
  else if (what == 2) r = ioctl(s, SIOCGIFMTU, &ifr) < 0 ? -errno : ifr.ifr_mtu;
  else if (what == 3) { ifr.ifr_mtu = v; r = ioctl(s, SIOCSIFMTU, &ifr) < 0 ? -errno : 0; }
  else if (what == 4) {
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) r = -errno;
    else { if (v) ifr.ifr_flags |= IFF_UP; else ifr.ifr_flags &= ~IFF_UP; r = ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0; }
  } else r = -EINVAL;
  close(s);
  return num(env, r);
}

// packetOpen(ifindex, vnetHdr, fanoutGroup (0: none), qdiscBypass, bufferBytes) -> fd or -errno.
// An AF_PACKET socket bound to the interface, promiscuous, seeing every frame it receives and
// sends except its own sends (PACKET_IGNORE_OUTGOING). Non-blocking reads (MSG_DONTWAIT).
static napi_value packet_open(napi_env env, napi_callback_info info) {
  size_t argc = 5; napi_value a[5]; int32_t ifindex, fanout, bytes; bool vnet, bypass;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 5 || !arg_i32(env, a[0], &ifindex) || napi_get_value_bool(env, a[1], &vnet) != napi_ok || !arg_i32(env, a[2], &fanout) ||
      napi_get_value_bool(env, a[3], &bypass) != napi_ok || !arg_i32(env, a[4], &bytes)) { napi_throw_type_error(env, NULL, "packetOpen(ifindex, vnetHdr, fanoutGroup, qdiscBypass, bufferBytes)"); return NULL; }
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return num(env, -errno);
  int one = 1;
  struct sockaddr_ll sll; memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET; sll.sll_protocol = htons(ETH_P_ALL); sll.sll_ifindex = ifindex;
  int fo = (fanout & 0xffff) | (PACKET_FANOUT_HASH << 16);
  set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes);
  set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
  if ((vnet && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) ||
      setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0 ||
      (bypass && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) ||
      bind(fd, (void *)&sll, sizeof sll) < 0 ||
      (fanout && setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &fo, sizeof fo) < 0)) {
    int e = errno; close(fd); return num(env, -e);
  }
  // Every frame the interface receives, whatever its destination MAC (a NIC filters otherwise).
  struct packet_mreq mr; memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = ifindex; mr.mr_type = PACKET_MR_PROMISC;
  setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
  return num(env, fd);
}

// packetBind(fd, ifindex) -> 0 or -errno: bind an AF_PACKET socket to an interface again (the
// interface it was bound to went away and came back with a new index).
static napi_value packet_bind(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value a[2]; int32_t fd, ifindex;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &fd) || !arg_i32(env, a[1], &ifindex)) { napi_throw_type_error(env, NULL, "packetBind(fd, ifindex)"); return NULL; }
  struct sockaddr_ll sll; memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET; sll.sll_protocol = htons(ETH_P_ALL); sll.sll_ifindex = ifindex;
  if (bind(fd, (void *)&sll, sizeof sll) < 0) return num(env, -errno);
  struct packet_mreq mr; memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = ifindex; mr.mr_type = PACKET_MR_PROMISC;
  setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
  return num(env, 0);
}

// pollIn(fds: Int32Array, n, timeoutMs, ready: Uint8Array) -> how many are readable (0: timed
// out) or -errno; ready[i] = 1 for each readable (or failed: POLLERR/POLLHUP) fd. Blocks.
static napi_value poll_in(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value a[4]; int32_t n, timeout; size_t nf = 0, nr = 0; napi_typedarray_type tf = napi_int8_array, tr = tf;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t *fds = typed(env, a[0], &nf, &tf); uint8_t *ready = typed(env, a[3], &nr, &tr);
  if (!fds || !ready || tf != napi_int32_array || tr != napi_uint8_array || !arg_i32(env, a[1], &n) || !arg_i32(env, a[2], &timeout) ||
      n < 0 || n > MAX_POLL || (size_t)n > nf || (size_t)n > nr) { napi_throw_type_error(env, NULL, "pollIn(fds: Int32Array, n <= 64, timeoutMs, ready: Uint8Array)"); return NULL; }
  struct pollfd pf[MAX_POLL];
  for (int32_t i = 0; i < n; i++) { pf[i].fd = fds[i]; pf[i].events = POLLIN; pf[i].revents = 0; }
  int r = poll(pf, (nfds_t)n, timeout);
  if (r < 0) return num(env, errno == EINTR ? 0 : -errno);
  for (int32_t i = 0; i < n; i++) ready[i] = pf[i].revents != 0;
  return num(env, r);
}

// eventfdOpen() -> fd or -errno (non-blocking). eventfdSignal(fd) wakes a poller; eventfdDrain(fd) resets it.
static napi_value eventfd_open(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return num(env, fd < 0 ? -errno : fd);
}

static napi_value eventfd_op(napi_env env, napi_callback_info info, int drain) {
  size_t argc = 1; napi_value a[1]; int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &fd)) { napi_throw_type_error(env, NULL, "eventfd(fd)"); return NULL; }
  uint64_t v = 1;
  ssize_t r = drain ? read(fd, &v, sizeof v) : write(fd, &v, sizeof v);
  return num(env, r < 0 ? (errno == EAGAIN ? 0 : -errno) : 1);
}
static napi_value eventfd_signal(napi_env env, napi_callback_info info) { return eventfd_op(env, info, 0); }
static napi_value eventfd_drain(napi_env env, napi_callback_info info) { return eventfd_op(env, info, 1); }

// closeFd(fd) -> 0 or -errno.
static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value a[1]; int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &fd)) { napi_throw_type_error(env, NULL, "closeFd(fd)"); return NULL; }
  return num(env, close(fd) < 0 ? -errno : 0);
}

// strerror(errno) -> its name-like text, for messages (off the data path).
static napi_value str_error(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value a[1]; int32_t e; napi_value r;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &e)) { napi_throw_type_error(env, NULL, "strerror(errno)"); return NULL; }
  napi_create_string_utf8(env, strerror(e < 0 ? -e : e), NAPI_AUTO_LENGTH, &r);
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "bindPool", 0, bind_pool, 0, 0, 0, napi_enumerable, 0 },
    { "recvBatch", 0, recv_batch, 0, 0, 0, napi_enumerable, 0 },
    { "sendBatch", 0, send_batch, 0, 0, 0, napi_enumerable, 0 },
    { "readBatch", 0, read_batch, 0, 0, 0, napi_enumerable, 0 },
    { "writeBatch", 0, write_batch, 0, 0, 0, napi_enumerable, 0 },
    { "udpOpen", 0, udp_open, 0, 0, 0, napi_enumerable, 0 },
    { "sockInfo", 0, sock_info, 0, 0, 0, napi_enumerable, 0 },
    { "tapOpen", 0, tap_open, 0, 0, 0, napi_enumerable, 0 },
    { "tapControl", 0, tap_control, 0, 0, 0, napi_enumerable, 0 },
    { "linkInfo", 0, link_info, 0, 0, 0, napi_enumerable, 0 },
    { "packetOpen", 0, packet_open, 0, 0, 0, napi_enumerable, 0 },
    { "packetBind", 0, packet_bind, 0, 0, 0, napi_enumerable, 0 },
    { "pollIn", 0, poll_in, 0, 0, 0, napi_enumerable, 0 },
    { "eventfdOpen", 0, eventfd_open, 0, 0, 0, napi_enumerable, 0 },
    { "eventfdSignal", 0, eventfd_signal, 0, 0, 0, napi_enumerable, 0 },
    { "eventfdDrain", 0, eventfd_drain, 0, 0, 0, napi_enumerable, 0 },
    { "closeFd", 0, close_fd, 0, 0, 0, napi_enumerable, 0 },
    { "strerror", 0, str_error, 0, 0, 0, napi_enumerable, 0 },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
